package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxContractBytes bounds the size of one contract file. Real contracts are a few
// kilobytes; anything near this limit is a mistake or an attack on the loader.
const MaxContractBytes = 4 << 20

// IgluMetaSchema is the $schema of Iglu's self-describing JSON Schemas.
const IgluMetaSchema = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#"

// Set is the result of reading a registry folder: every contract that could be
// read, and every problem found on the way. A Set is not compiled yet.
type Set struct {
	// Root is the registry folder as given.
	Root      string
	Contracts []*Contract
	Problems  []*Problem
}

// Err joins every problem into one error, nil when there is none.
func (s *Set) Err() error {
	errs := make([]error, len(s.Problems))
	for i, p := range s.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Load reads every contract of the registry folder dir.
func Load(dir string) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("opening registry: %w (pass --registry with a folder in the Iglu layout <vendor>/<name>/jsonschema/<version>)", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("registry %s is not a folder: pass the folder that holds <vendor>/<name>/jsonschema/<version> files", dir)
	}
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS reads every contract of a registry held in fsys; root prefixes file names
// in messages. Files whose path is not in the Iglu layout, symlinks and oversized
// files are reported as problems; nothing outside fsys is ever read. Files are
// read concurrently, so fsys must be safe for concurrent use (os.DirFS, embed.FS
// and fstest.MapFS are).
func LoadFS(fsys fs.FS, root string) (*Set, error) {
	set := &Set{Root: root}
	seen := map[Key]string{}
	// The walk lists the files in order; they are then read and parsed in
	// parallel, and their contracts and problems gathered in walk order.
	type entry struct {
		problem *Problem // a layout problem; when nil, a file to read

		p, display       string
		key              Key
		contract         *Contract
		contractProblems []*Problem
	}
	var entries []*entry
	addProblem := func(pr *Problem) { entries = append(entries, &entry{problem: pr}) }
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		display := filepath.Join(root, filepath.FromSlash(p))
		if err != nil {
			addProblem(&Problem{File: display, Rule: RuleLayout, Message: fmt.Sprintf("cannot read: %v", err)})
			return nil
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		depth := strings.Count(p, "/") + 1
		if d.Type()&fs.ModeSymlink != 0 {
			addProblem(&Problem{File: display, Rule: RuleLayout, Message: "symlinks are not followed in a registry; copy the contract into the registry folder"})
			return nil
		}
		if d.IsDir() {
			if depth >= 4 {
				addProblem(&Problem{File: display, Rule: RuleLayout, Message: "unexpected folder: a registry holds <vendor>/<name>/jsonschema/<version> files"})
				return fs.SkipDir
			}
			return nil
		}
		ext := path.Ext(p)
		schemaLike := ext == ".json" || ext == ".yaml" || ext == ".yml"
		if depth != 4 || path.Base(path.Dir(p)) != "jsonschema" {
			if schemaLike || depth == 4 {
				addProblem(&Problem{File: display, Rule: RuleLayout,
					Message: "file is not in the Iglu layout <vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>[.json|.yaml|.yml]; move it there"})
			}
			return nil
		}
		key, err := ParsePath(p)
		if err != nil {
			addProblem(&Problem{File: display, Rule: RuleLayout, Message: err.Error()})
			return nil
		}
		if prev, dup := seen[key]; dup {
			addProblem(&Problem{File: display, Rule: RuleLayout,
				Message: fmt.Sprintf("%s is also defined by %s; keep one file per version", key, prev)})
			return nil
		}
		seen[key] = display
		entries = append(entries, &entry{p: p, display: display, key: key})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking registry %s: %w", root, err)
	}
	next := make(chan *entry)
	shared := newSubtrees()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for e := range next {
				e.contract, e.contractProblems = readContract(fsys, e.p, e.display, e.key, shared)
			}
		})
	}
	for _, e := range entries {
		if e.problem == nil {
			next <- e
		}
	}
	close(next)
	wg.Wait()
	for _, e := range entries {
		if e.problem != nil {
			set.Problems = append(set.Problems, e.problem)
			continue
		}
		set.Problems = append(set.Problems, e.contractProblems...)
		if e.contract != nil {
			set.Contracts = append(set.Contracts, e.contract)
		}
	}
	sort.Slice(set.Contracts, func(i, j int) bool { return keyLess(set.Contracts[i].Key, set.Contracts[j].Key) })
	return set, nil
}

func keyLess(a, b Key) bool {
	if a.Vendor != b.Vendor {
		return a.Vendor < b.Vendor
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Format != b.Format {
		return a.Format < b.Format
	}
	return a.Version.Compare(b.Version) < 0
}

func readContract(fsys fs.FS, p, display string, key Key, shared *subtrees) (*Contract, []*Problem) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, []*Problem{{File: display, Rule: RuleParse, Message: fmt.Sprintf("cannot open: %v", err)}}
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && st.Size() > MaxContractBytes {
		return nil, []*Problem{{File: display, Rule: RuleParse,
			Message: fmt.Sprintf("contract is %d bytes, more than the %d-byte limit; split it or move shared parts into $defs", st.Size(), MaxContractBytes)}}
	}
	size := 0
	if err == nil {
		size = int(st.Size())
	}
	src, err := readAll(limitReader{f, MaxContractBytes + 1}, size)
	if err != nil {
		return nil, []*Problem{{File: display, Rule: RuleParse, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	if len(src) > MaxContractBytes {
		return nil, []*Problem{{File: display, Rule: RuleParse,
			Message: fmt.Sprintf("contract is more than the %d-byte limit; split it or move shared parts into $defs", MaxContractBytes)}}
	}
	return parse(src, display, key, shared)
}

// readAll reads r to its end into a slice sized for a file of size bytes, so
// that the contract's Source holds no spare capacity.
func readAll(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, size+1) // +1 to see the end without growing
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

type limitReader struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	return l.f.Read(p)
}

// Parse reads one contract file's bytes (YAML or JSON) stored under key. It returns
// the contract when the document could be read at all, and every problem found.
func Parse(src []byte, display string, key Key) (*Contract, []*Problem) {
	return parse(src, display, key, nil)
}

// parse is Parse sharing equal subtrees of the document with the contracts
// loaded before it through shared, when not nil.
func parse(src []byte, display string, key Key, shared *subtrees) (*Contract, []*Problem) {
	c := &Contract{Key: key, File: display, Source: src, positions: &lazyPositions{}}
	doc, positions, perr := decode(src, false)
	if perr != nil {
		perr.File = display
		return nil, []*Problem{perr}
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, []*Problem{{File: display, Line: 1, Col: 1, Rule: RuleParse,
			Message: fmt.Sprintf("a contract is a JSON Schema object, not %s", typeName(doc))}}
	}
	if shared != nil {
		// Before the fields are read, so that they point into the shared trees.
		if m, ok := first(shared.share(root)).(map[string]any); ok {
			root = m
		}
	}
	c.Doc = root
	var problems []*Problem
	// positions may hold only the property names' (see decode); a problem
	// is located through Contract.Pos, which indexes every node.
	add := func(pointer, rule, msg string) {
		problems = append(problems, c.Problem(pointer, rule, msg))
	}

	c.Draft = Draft2020
	if s, ok := root["$schema"]; ok {
		uri, _ := s.(string)
		switch strings.TrimSuffix(uri, "#") {
		case "https://json-schema.org/draft/2020-12/schema":
		case "http://json-schema.org/draft-07/schema":
			c.Draft = Draft7
		case "http://json-schema.org/draft-04/schema":
			c.Draft = Draft4
		case strings.TrimSuffix(IgluMetaSchema, "#"):
			c.Draft = igluDraft(root)
		default:
			add("/$schema", RuleCompile, fmt.Sprintf("$schema %q is not supported: use https://json-schema.org/draft/2020-12/schema (the default), draft-07, draft-04 or Iglu's %s", clip(uri), IgluMetaSchema))
		}
	}
	c.Description, _ = root["description"].(string)

	if self, ok := root["self"]; ok {
		k, err := parseSelf(self)
		if err != nil {
			add("/self", RuleSelf, err.Error())
		} else {
			c.Self = &k
			if k != key {
				add("/self", RuleSelf, fmt.Sprintf("self declares %s but the file is stored as %s; make them agree (the path is the contract's identity)", k, key))
			}
		}
	} else {
		add("", RuleSelf, fmt.Sprintf("no self block: add `self: {vendor: %s, name: %s, format: jsonschema, version: %s}`", key.Vendor, key.Name, key.Version))
	}

	ann := &annotationReader{}
	c.Owner = ann.owner(root)
	c.Lifecycle = ann.lifecycle(root)
	c.Privacy = ann.privacy(root)
	c.EventNames = ann.eventNames(root)
	w := &fieldWalker{root: root, ann: ann, byPath: map[string]int{}, seen: map[string]bool{}, active: map[string]bool{}, pii: map[string]*PII{}, pos: positions}
	w.walk(root, "", nil)
	c.Fields = append([]Field(nil), w.fields...) // without append's spare capacity: it is kept
	for _, p := range ann.problems {
		add(p.pointer, p.rule, p.msg)
	}
	return c, problems
}

func parseSelf(v any) (Key, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Key{}, fmt.Errorf("self must be an object {vendor, name, format, version}")
	}
	get := func(k string) string { s, _ := m[k].(string); return s }
	for k := range m {
		switch k {
		case "vendor", "name", "format", "version":
		default:
			return Key{}, fmt.Errorf("self has unknown key %q; it holds vendor, name, format and version", clip(k))
		}
	}
	k, err := newKey(get("vendor"), get("name"), get("format"), get("version"))
	if err != nil {
		return Key{}, fmt.Errorf("self: %w", err)
	}
	return k, nil
}

// igluDraft picks the dialect of a schema that declares Iglu's meta-schema: Iglu
// schemas are draft-04 unless they use keywords that appeared in draft-06/07.
func igluDraft(doc any) Draft {
	newer := false
	var visit func(v any)
	visit = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			for k, sub := range n {
				switch k {
				case "const", "contains", "propertyNames", "if", "then", "else", "$comment", "examples":
					newer = true
				case "exclusiveMinimum", "exclusiveMaximum":
					if _, isBool := sub.(bool); !isBool {
						newer = true
					}
				}
				visit(sub)
			}
		case []any:
			for _, sub := range n {
				visit(sub)
			}
		}
	}
	visit(doc)
	if newer {
		return Draft7
	}
	return Draft4
}

// decode reads YAML or JSON into JSON values and records the position of every
// node by JSON pointer, or when not all at least of every property name (which
// orders a contract's fields). Files in the subset of YAML that contracts are
// written in take fastDecode; the others, and every file with an error,
// decodeYAML.
func decode(src []byte, all bool) (any, map[string]Pos, *Problem) {
	if !utf8Valid(src) {
		return nil, nil, &Problem{Line: 1, Col: 1, Rule: RuleParse, Message: "file is not valid UTF-8; save it as UTF-8"}
	}
	positions := map[string]Pos{}
	if doc, ok := fastDecode(src, positions, all); ok {
		return doc, positions, nil
	}
	return decodeYAML(src)
}

// decodeYAML is decode through goccy/go-yaml's parser, for any YAML: it refuses
// what has no JSON meaning and words every error.
func decodeYAML(src []byte) (any, map[string]Pos, *Problem) {
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, nil, yamlProblem(err)
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return nil, nil, &Problem{Line: 1, Col: 1, Rule: RuleParse, Message: fmt.Sprintf("file holds %d YAML documents; a contract file holds exactly one", len(file.Docs))}
	}
	positions := map[string]Pos{}
	doc, p := build(file.Docs[0].Body, "", positions, 0)
	if p != nil {
		return nil, nil, p
	}
	return doc, positions, nil
}

// positionsOf indexes the position of every node of a contract file by JSON
// pointer, as Parse saw them; empty when the file does not decode.
func positionsOf(src []byte) map[string]Pos {
	_, positions, p := decode(src, true)
	if p != nil {
		return map[string]Pos{}
	}
	return positions
}

// scalar converts a YAML scalar (or any node without a fast path) to JSON values
// the slow way: through Go values and JSON, so that numbers become json.Number
// exactly as the JSON Schema compiler expects.
func scalar(n ast.Node) (any, *Problem) {
	var raw any
	if err := yaml.NodeToValue(n, &raw); err != nil {
		return nil, yamlProblem(err)
	}
	switch v := raw.(type) {
	case nil, string, bool:
		return v, nil
	}
	js, err := json.Marshal(raw)
	if err != nil {
		tk := n.GetToken()
		return nil, &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Rule: RuleParse, Message: fmt.Sprintf("contract cannot be represented as JSON: %v", err)}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, &Problem{Line: 1, Col: 1, Rule: RuleParse, Message: fmt.Sprintf("contract cannot be represented as JSON: %v", err)}
	}
	return v, nil
}

// build converts a YAML document into JSON values in one pass, recording the
// position of every mapping key and sequence item, and refusing YAML features that
// have no JSON meaning or could expand without bound. Mappings, sequences and
// strings, nearly all of a contract, are converted directly; other scalars go
// through scalar.
func build(n ast.Node, pointer string, out map[string]Pos, depth int) (any, *Problem) {
	if n == nil {
		return nil, nil
	}
	if depth > maxDepth {
		tk := n.GetToken()
		return nil, &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
			Message: fmt.Sprintf("contract is nested more than %d levels deep; flatten it or use $defs", maxDepth)}
	}
	switch v := n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.MergeKeyNode:
		tk := n.GetToken()
		return nil, &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
			Message: "YAML anchors, aliases and merge keys are not allowed in contracts; write the value out or share it with $defs and $ref"}
	case *ast.TagNode:
		if p := index(v.Value, pointer, out, depth+1); p != nil {
			return nil, p
		}
		return scalar(v)
	case *ast.MappingNode:
		m := make(map[string]any, len(v.Values))
		for _, mv := range v.Values {
			if p := buildPair(mv, pointer, m, out, depth); p != nil {
				return nil, p
			}
		}
		return m, nil
	case *ast.MappingValueNode:
		m := make(map[string]any, 1)
		if p := buildPair(v, pointer, m, out, depth); p != nil {
			return nil, p
		}
		return m, nil
	case *ast.SequenceNode:
		list := make([]any, len(v.Values))
		for i, item := range v.Values {
			child := pointer + "/" + strconv.Itoa(i)
			if item != nil {
				tk := item.GetToken()
				out[child] = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
			}
			val, p := build(item, child, out, depth+1)
			if p != nil {
				return nil, p
			}
			list[i] = val
		}
		return list, nil
	case *ast.StringNode:
		return v.Value, nil
	case *ast.NullNode:
		return nil, nil
	case *ast.BoolNode:
		return v.Value, nil
	case *ast.IntegerNode:
		// What scalar would make of it through JSON, without the round trip.
		switch i := v.Value.(type) {
		case int64:
			return json.Number(strconv.FormatInt(i, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(i, 10)), nil
		}
	}
	return scalar(n)
}

func buildPair(mv *ast.MappingValueNode, pointer string, m map[string]any, out map[string]Pos, depth int) *Problem {
	if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
		tk := mv.Key.GetToken()
		return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
			Message: "YAML merge keys are not allowed in contracts; write the value out or use $defs and $ref"}
	}
	var key string
	if sk, ok := mv.Key.(*ast.StringNode); ok {
		key = sk.Value
	} else if err := yaml.NodeToValue(mv.Key, &key); err != nil {
		tk := mv.Key.GetToken()
		return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse, Message: "mapping keys must be strings"}
	}
	child := pointer + "/" + escape(key)
	tk := mv.Key.GetToken()
	out[child] = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
	val, p := build(mv.Value, child, out, depth+1)
	if p != nil {
		return p
	}
	m[key] = val
	return nil
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

func yamlProblem(err error) *Problem {
	p := &Problem{Line: 1, Col: 1, Rule: RuleParse}
	msg := err.Error()
	// goccy's errors start with "[line:col] message" followed by a source excerpt.
	first, _, _ := strings.Cut(msg, "\n")
	var line, col int
	if n, _ := fmt.Sscanf(first, "[%d:%d]", &line, &col); n == 2 {
		p.Line, p.Col = line, col
		if i := strings.Index(first, "]"); i >= 0 {
			first = strings.TrimSpace(first[i+1:])
		}
	}
	p.Message = "not valid YAML or JSON: " + first
	return p
}

const maxDepth = 200

// index records the position of every mapping key and sequence item, and refuses
// YAML features that have no JSON meaning or could expand without bound.
func index(n ast.Node, pointer string, out map[string]Pos, depth int) *Problem {
	if n == nil {
		return nil
	}
	if depth > maxDepth {
		tk := n.GetToken()
		return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
			Message: fmt.Sprintf("contract is nested more than %d levels deep; flatten it or use $defs", maxDepth)}
	}
	switch v := n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.MergeKeyNode:
		tk := n.GetToken()
		return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
			Message: "YAML anchors, aliases and merge keys are not allowed in contracts; write the value out or share it with $defs and $ref"}
	case *ast.TagNode:
		return index(v.Value, pointer, out, depth+1)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			if p := index(mv, pointer, out, depth); p != nil {
				return p
			}
		}
	case *ast.MappingValueNode:
		var key string
		if err := yaml.NodeToValue(v.Key, &key); err != nil {
			tk := v.Key.GetToken()
			return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse, Message: "mapping keys must be strings"}
		}
		if _, isMerge := v.Key.(*ast.MergeKeyNode); isMerge {
			tk := v.Key.GetToken()
			return &Problem{Line: tk.Position.Line, Col: tk.Position.Column, Pointer: pointer, Rule: RuleParse,
				Message: "YAML merge keys are not allowed in contracts; write the value out or use $defs and $ref"}
		}
		child := pointer + "/" + escape(key)
		tk := v.Key.GetToken()
		out[child] = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
		return index(v.Value, child, out, depth+1)
	case *ast.SequenceNode:
		for i, item := range v.Values {
			child := fmt.Sprintf("%s/%d", pointer, i)
			if item != nil {
				tk := item.GetToken()
				out[child] = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
			}
			if p := index(item, child, out, depth+1); p != nil {
				return p
			}
		}
	}
	return nil
}
