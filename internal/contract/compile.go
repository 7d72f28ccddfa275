package contract

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Compiled is a contract whose schema compiles. It is immutable and safe for
// concurrent use.
type Compiled struct {
	*Contract
	ref *reference
	uri string // Key.URI(), formatted once
}

// URI is the contract's Iglu URI, Key.URI() formatted when the contract was
// compiled: the collector names the contract in every envelope and metric.
func (c *Compiled) URI() string { return c.uri }

// reference is a contract's schema as santhosh-tekuri/jsonschema compiles it.
type reference struct {
	once    sync.Once
	regexps *regexpCache
	schema  *jsonschema.Schema
	err     error
}

// Schema returns the contract's schema compiled by santhosh-tekuri/jsonschema,
// the form the reference validator checks events with.
//
// A snapshot does not keep it after Compile: it weighs as much as the rest of a
// loaded contract together (santhosh's node is 760 bytes per subschema, with its
// location string), events are validated by fastval programs built separately
// from Doc, and the reference validator is needed only for contracts outside
// fastval's subset and to word the failures of invalid events. The schema is
// compiled again, the same way and with the snapshot's shared patterns, the
// first time it is asked for, and kept from then on.
func (c *Compiled) Schema() (*jsonschema.Schema, error) {
	c.ref.once.Do(func() {
		if c.ref.schema != nil {
			return
		}
		var problems []*Problem
		if c.ref.schema, problems = compileSchema(c.Contract, c.ref.regexps); len(problems) > 0 {
			errs := make([]error, len(problems))
			for i, p := range problems {
				errs[i] = p
			}
			c.ref.err = fmt.Errorf("compiling %s again: %w", c.Key, errors.Join(errs...))
		}
	})
	return c.ref.schema, c.ref.err
}

// Snapshot is an immutable, compiled registry: it is built once and then shared by
// every request; a reload builds a new snapshot and swaps it in whole.
type Snapshot struct {
	byKey    map[Key]*Compiled
	ordered  []*Compiled
	families map[Family][]*Compiled
}

// Get returns the compiled contract for key.
func (s *Snapshot) Get(key Key) (*Compiled, bool) {
	c, ok := s.byKey[key]
	return c, ok
}

// All returns every compiled contract, sorted by vendor, name and version.
func (s *Snapshot) All() []*Compiled { return s.ordered }

// Versions returns every version of a contract family, oldest first.
func (s *Snapshot) Versions(f Family) []*Compiled { return s.families[f] }

// Families returns every contract family, sorted.
func (s *Snapshot) Families() []Family {
	out := make([]Family, 0, len(s.families))
	for f := range s.families {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Len is the number of contract versions in the snapshot.
func (s *Snapshot) Len() int { return len(s.ordered) }

// Compile compiles every contract of the set. Contracts that fail to compile are
// left out of the snapshot and reported as problems, together with the set's own
// problems. Callers that serve events should refuse a snapshot with problems.
// The compiled schemas are not kept (see Compiled.Schema).
func Compile(set *Set) (*Snapshot, []*Problem) {
	snap := &Snapshot{byKey: map[Key]*Compiled{}, families: map[Family][]*Compiled{}}
	compiled := make([]*Compiled, len(set.Contracts))
	problems := make([][]*Problem, len(set.Contracts))
	var wg sync.WaitGroup
	next := make(chan int)
	regexps := newRegexpCache()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				compiled[i], problems[i] = compileOne(set.Contracts[i], regexps, false)
			}
		})
	}
	for i := range set.Contracts {
		next <- i
	}
	close(next)
	wg.Wait()
	all := append([]*Problem(nil), set.Problems...)
	for i, c := range compiled {
		all = append(all, problems[i]...)
		if c == nil {
			continue
		}
		snap.byKey[c.Key] = c
		snap.ordered = append(snap.ordered, c)
		f := c.Key.Family()
		snap.families[f] = append(snap.families[f], c)
	}
	return snap, all
}

// LoadSnapshot loads and compiles the registry folder dir, failing with every
// problem at once when any contract is broken.
func LoadSnapshot(dir string) (*Snapshot, error) {
	set, err := Load(dir)
	if err != nil {
		return nil, err
	}
	snap, problems := Compile(set)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return nil, fmt.Errorf("loading registry %s: %w", dir, errors.Join(errs...))
	}
	return snap, nil
}

// schemaBase is the base URI contracts are compiled under. It is never fetched.
const schemaBase = "accord:///"

// CompileOne compiles one contract in isolation: $refs may only point inside the
// contract itself, never to the network or the file system. The compiled schema
// is kept.
func CompileOne(c *Contract) (*Compiled, []*Problem) {
	return compileOne(c, nil, true)
}

// compileOne is CompileOne sharing compiled regular expressions through
// regexps when it is not nil, and keeping the compiled schema only when keep.
func compileOne(c *Contract, regexps *regexpCache, keep bool) (*Compiled, []*Problem) {
	sch, problems := compileSchema(c, regexps)
	if len(problems) > 0 {
		return nil, problems
	}
	ref := &reference{regexps: regexps}
	if keep {
		ref.schema = sch
	}
	return &Compiled{Contract: c, ref: ref, uri: c.Key.URI()}, nil
}

// compileSchema compiles the schema of c.
func compileSchema(c *Contract, regexps *regexpCache) (*jsonschema.Schema, []*Problem) {
	doc := c.SchemaDoc()
	draft := Draft2020
	if c.Draft == Draft4 || c.Draft == Draft7 {
		draft = c.Draft
	}
	if metaValid(doc, draft) {
		// The compiler skips its own metaschema check for resources under
		// json-schema.org (the metaschemas themselves). Only same-document
		// $refs pass metaValid, so the base URL changes nothing but the
		// schema's Location; failures name keywords by fragment only.
		comp := newCompiler(draft, regexps)
		url := precheckedBase + c.Key.Path()
		if err := comp.AddResource(url, doc); err == nil {
			if sch, err := comp.Compile(url); err == nil {
				return sch, nil
			}
		}
		// Compiled again below, so that problems read exactly as they always do.
	}
	return compileChecked(c, doc, draft, regexps)
}

// compileChecked compiles doc, the schema of c, with the compiler's own
// metaschema check, and locates its problems.
func compileChecked(c *Contract, doc map[string]any, draft Draft, regexps *regexpCache) (*jsonschema.Schema, []*Problem) {
	comp := newCompiler(draft, regexps)
	url := schemaBase + c.Key.Path()
	if err := comp.AddResource(url, doc); err != nil {
		return nil, []*Problem{c.Problem("", RuleCompile, fmt.Sprintf("schema does not compile: %v", err))}
	}
	sch, err := comp.Compile(url)
	if err != nil {
		return nil, compileProblems(c, err)
	}
	return sch, nil
}

// precheckedBase is the base URI of contracts that metaValid accepted. The
// JSON Schema compiler does not check resources under json-schema.org against
// their metaschema (see compileOne); no such URL is ever fetched.
const precheckedBase = "https://json-schema.org/x-accord-prechecked/"

// newCompiler returns a compiler for one contract: formats asserted, nothing
// loaded from outside, draft the default dialect.
func newCompiler(draft Draft, regexps *regexpCache) *jsonschema.Compiler {
	comp := jsonschema.NewCompiler()
	comp.AssertFormat()
	comp.UseLoader(refusingLoader{})
	if regexps != nil {
		comp.UseRegexpEngine(regexps.compile)
	}
	switch draft {
	case Draft4:
		comp.DefaultDraft(jsonschema.Draft4)
	case Draft7:
		comp.DefaultDraft(jsonschema.Draft7)
	default:
		comp.DefaultDraft(jsonschema.Draft2020)
	}
	return comp
}

// compileProblems turns a compiler error into located problems.
func compileProblems(c *Contract, err error) []*Problem {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		var out []*Problem
		for _, f := range Failures(ve) {
			out = append(out, c.Problem(f.Pointer, RuleCompile, fmt.Sprintf("not a valid JSON Schema: %s (keyword %s)", f.Message, f.Keyword)))
		}
		if len(out) > 0 {
			return out
		}
	}
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return []*Problem{c.Problem(refPointer(c.Doc, le.URL), RuleCompile, fmt.Sprintf("$ref %s cannot be resolved: only references inside the contract (#/$defs/...) are allowed; copy the definition into $defs", clip(strings.TrimPrefix(le.URL, schemaBase))))}
	}
	var ue *jsonschema.UnsupportedURLSchemeError
	if errors.As(err, &ue) {
		return []*Problem{c.Problem("", RuleCompile, fmt.Sprintf("a $ref cannot be resolved (%s): only references inside the contract (#/$defs/...) are allowed", clip(ue.Error())))}
	}
	msg := strings.ReplaceAll(err.Error(), schemaBase+c.Key.Path(), "this contract")
	return []*Problem{c.Problem("", RuleCompile, "schema does not compile: "+clip(msg))}
}

// refPointer finds the schema location of the first $ref whose target is url, so
// that the problem points at the offending line.
func refPointer(doc any, url string) string {
	var found string
	var visit func(v any, p string) bool
	visit = func(v any, p string) bool {
		switch n := v.(type) {
		case map[string]any:
			if r, ok := n["$ref"].(string); ok && r != "" && !strings.HasPrefix(r, "#") &&
				(strings.Contains(url, strings.TrimLeft(strings.SplitN(r, "#", 2)[0], "./")) || strings.Contains(r, url)) {
				found = p + "/$ref"
				return true
			}
			keys := make([]string, 0, len(n))
			for k := range n {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if visit(n[k], p+"/"+escape(k)) {
					return true
				}
			}
		case []any:
			for i, sub := range n {
				if visit(sub, fmt.Sprintf("%s/%d", p, i)) {
					return true
				}
			}
		}
		return false
	}
	visit(doc, "")
	return found
}

// SchemaDoc is the document to compile: Doc itself, or for Iglu schemas Doc
// without its $schema, since the Iglu meta-schema is not fetched and the schema is
// compiled under the draft it extends (Draft).
func (c *Contract) SchemaDoc() map[string]any {
	s, _ := c.Doc["$schema"].(string)
	if s != IgluMetaSchema && s+"#" != IgluMetaSchema {
		return c.Doc
	}
	doc := make(map[string]any, len(c.Doc))
	for k, v := range c.Doc {
		if k != "$schema" {
			doc[k] = v
		}
	}
	return doc
}

// regexpCache shares compiled patterns between the contracts of one snapshot.
// Versions of a contract, and contracts of one organisation, repeat the same
// patterns (ids, SKUs, locales), and a compiled regexp.Regexp weighs a few
// kilobytes, far more than the schema node holding it. A regexp.Regexp is safe
// for concurrent use. The cache lives as long as the snapshot of one Compile
// call, which compiles schemas again with it (Compiled.Schema), so patterns of
// contracts since removed are not kept by later snapshots.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func newRegexpCache() *regexpCache { return &regexpCache{m: map[string]*regexp.Regexp{}} }

// compile is a jsonschema.RegexpEngine: regexp.Compile, as the compiler's
// default engine, once per distinct pattern.
func (rc *regexpCache) compile(pattern string) (jsonschema.Regexp, error) {
	rc.mu.Lock()
	re, ok := rc.m[pattern]
	rc.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if first, ok := rc.m[pattern]; ok {
		return first, nil // compiled meanwhile by another worker
	}
	rc.m[pattern] = re
	return re, nil
}

// refusingLoader refuses every URL: contracts never reach the network or disk
// through $ref.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("refusing to load %s: contracts may only reference themselves", clip(url))
}
