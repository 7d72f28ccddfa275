package fastval

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// $dynamicRef resolves through the dynamic scope: the resources (schemas with
// "$id", and the document root) that the evaluation passed through to reach the
// reference, outermost first. santhosh keeps resources and their dynamic
// anchors in unexported fields, so they are rebuilt here from the document;
// this is done only for schemas whose resources all live in the one document.

// dynScope lists a document's resources and their dynamic anchors.
type dynScope struct {
	resources []string            // JSON pointers of the resources; 0 is the root
	anchors   []map[string]string // per resource: $dynamicAnchor name -> schema pointer
}

// collectDynamic walks the schema document and records resources and dynamic
// anchors.
func collectDynamic(doc any) *dynScope {
	d := &dynScope{resources: []string{""}, anchors: []map[string]string{{}}}
	d.walk(doc, "", 0)
	return d
}

var (
	schemaMaps   = []string{"$defs", "definitions", "properties", "patternProperties", "dependentSchemas"}
	schemaLists  = []string{"items", "prefixItems", "allOf", "anyOf", "oneOf"}
	schemaSingle = []string{"additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
		"propertyNames", "unevaluatedProperties", "unevaluatedItems", "contentSchema"}
)

func (d *dynScope) walk(v any, ptr string, res int) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if id, ok := m["$id"].(string); ok && id != "" && ptr != "" {
		res = len(d.resources)
		d.resources = append(d.resources, ptr)
		d.anchors = append(d.anchors, map[string]string{})
	}
	if a, ok := m["$dynamicAnchor"].(string); ok {
		d.anchors[res][a] = ptr
	}
	for _, kw := range schemaMaps {
		if sub, ok := m[kw].(map[string]any); ok {
			for k, s := range sub {
				d.walk(s, ptr+"/"+kw+"/"+escapeToken(k), res)
			}
		}
	}
	for _, kw := range schemaLists {
		switch sub := m[kw].(type) {
		case []any:
			for i, s := range sub {
				d.walk(s, ptr+"/"+kw+"/"+strconv.Itoa(i), res)
			}
		default:
			d.walk(sub, ptr+"/"+kw, res)
		}
	}
	for _, kw := range schemaSingle {
		d.walk(m[kw], ptr+"/"+kw, res)
	}
	if deps, ok := m["dependencies"].(map[string]any); ok {
		for k, s := range deps {
			d.walk(s, ptr+"/dependencies/"+escapeToken(k), res)
		}
	}
}

// resourceOf returns the resource that contains the schema at ptr.
func (d *dynScope) resourceOf(ptr string) int {
	best, bestLen := 0, -1
	for i, r := range d.resources {
		if (ptr == r || strings.HasPrefix(ptr, r+"/")) && len(r) > bestLen {
			best, bestLen = i, len(r)
		}
	}
	return best
}

// decodePointer turns a schema location fragment (percent-encoded per token by
// santhosh) back into a JSON pointer.
func decodePointer(frag string) string {
	s, err := url.PathUnescape(frag)
	if err != nil {
		return frag
	}
	return s
}

// encodePointer percent-encodes a JSON pointer's tokens for a URL fragment.
func encodePointer(ptr string) string {
	toks := strings.Split(ptr, "/")
	for i, t := range toks {
		toks[i] = url.PathEscape(t)
	}
	return strings.Join(toks, "/")
}

// linkDynamic gives every node its resource and resolves the dynamic anchors to
// nodes (compiling them with the reference compiler, which returns the schemas
// it already built).
func (b *builder) linkDynamic(d *dynScope, c *jsonschema.Compiler, base string) ([]map[string]*node, error) {
	out := make([]map[string]*node, len(d.resources))
	for i, anchors := range d.anchors {
		out[i] = map[string]*node{}
		for name, ptr := range anchors {
			s, err := c.Compile(base + "#" + encodePointer(ptr))
			if err != nil {
				return nil, fmt.Errorf("compiling dynamic anchor %q: %w", name, err)
			}
			out[i][name] = b.node(s)
		}
	}
	for _, n := range b.list {
		n.resource = int32(d.resourceOf(decodePointer(n.loc)))
	}
	for _, n := range b.list {
		if n.dynName == "" {
			continue
		}
		for _, m := range out {
			if a := m[n.dynName]; a != nil {
				n.dynAlts = append(n.dynAlts, a)
			}
		}
	}
	return out, nil
}

// evalScoped evaluates n inside its resource's dynamic scope.
func (v *vm) evalScoped(n *node, p int, ct *capNode, ann int) (int, bool) {
	pushed := false
	if k := len(v.scope); k == 0 || v.scope[k-1] != n.resource {
		v.scope = append(v.scope, n.resource)
		pushed = true
	}
	var end int
	var ok bool
	if n.cyclic {
		end, ok = v.evalCyclic(n, p, ct, ann)
	} else {
		end, ok = v.evalNode(n, p, ct, ann)
	}
	if pushed {
		v.scope = v.scope[:len(v.scope)-1]
	}
	return end, ok
}

// dynTarget resolves n's $dynamicRef: the outermost resource in the dynamic
// scope that defines the anchor wins, else the static target.
func (v *vm) dynTarget(n *node) *node {
	if n.dynName != "" {
		for _, r := range v.scope {
			if a := v.prog.dynAnchors[r][n.dynName]; a != nil {
				return a
			}
		}
	}
	return n.dynRef
}
