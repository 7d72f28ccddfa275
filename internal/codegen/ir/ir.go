// Package ir is the one intermediate representation of a contract registry that
// every generated artifact comes from: the SDKs (Go, TypeScript, Python) read the
// sent shape of each event, while the SQL DDL, dbt sources, exports, the lake sink
// and the catalog read the table columns of the stored shape. Sharing this mapping
// is what keeps a table, its dbt source and its lake files from disagreeing.
//
// Build groups the contract versions of a registry by family and MODEL: each
// Model has the Event of its latest version (sent shape) and one Table whose
// columns are the union of the stored shapes of all its versions. Everything is
// sorted, so the same registry always gives the same IR, byte for byte.
package ir

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Registry is the IR of a registry.
type Registry struct {
	// Models holds one Model per contract family and MODEL, sorted by vendor, name
	// and MODEL number.
	Models []*Model
}

// Model is one MODEL of one contract family (say com.acme/signup 1-*-*): what one
// SDK type and one table stand for.
type Model struct {
	Vendor, Name string
	// Number is the MODEL number (the 1 of 1-0-2).
	Number int
	// Versions are the keys of every version of the MODEL, oldest first.
	Versions []contract.Key
	// Contracts are the contract of every version, oldest first.
	Contracts []*contract.Contract
	// Latest is the newest version of the MODEL: the one SDKs send.
	Latest *contract.Contract
	// Words name the model's event type in the SDKs: the contract name's words,
	// "v<n>" appended for MODEL n > 1, and the vendor's words in front when two
	// vendors would otherwise give the same words (see Build).
	Words []string
	// Event is the sent shape of the latest version: an object type.
	Event *Type
	// Table is the stored shape of all versions.
	Table *Table
}

// Key is the key of the latest version.
func (m *Model) Key() contract.Key { return m.Latest.Key }

// URI is the Iglu URI of the latest version, which SDKs put in "schema".
func (m *Model) URI() string { return m.Latest.Key.URI() }

// VersionList formats the versions for file headers: "1-0-0, 1-0-1".
func (m *Model) VersionList() string {
	parts := make([]string, len(m.Versions))
	for i, k := range m.Versions {
		parts[i] = k.Version.String()
	}
	return strings.Join(parts, ", ")
}

// Sources lists the Iglu URIs of every version the registry was built from, in
// Models order, for the headers of generated files.
func (r *Registry) Sources() []string {
	var out []string
	for _, m := range r.Models {
		for _, k := range m.Versions {
			out = append(out, k.URI())
		}
	}
	return out
}

// Model returns the model of the family and MODEL number, nil when none.
func (r *Registry) Model(vendor, name string, number int) *Model {
	for _, m := range r.Models {
		if m.Vendor == vendor && m.Name == name && m.Number == number {
			return m
		}
	}
	return nil
}

// Build derives the IR of a compiled registry snapshot.
func Build(snap *contract.Snapshot) (*Registry, error) {
	var all []*contract.Contract
	for _, c := range snap.All() {
		all = append(all, c.Contract)
	}
	return BuildContracts(all)
}

// BuildContracts derives the IR of a list of loaded contracts (in any order; each
// key at most once).
func BuildContracts(contracts []*contract.Contract) (*Registry, error) {
	type modelKey struct {
		vendor, name string
		model        int
	}
	groups := map[modelKey][]*contract.Contract{}
	seen := map[contract.Key]bool{}
	for _, c := range contracts {
		if seen[c.Key] {
			return nil, fmt.Errorf("building the IR: %s appears twice", c.Key)
		}
		seen[c.Key] = true
		k := modelKey{c.Key.Vendor, c.Key.Name, c.Key.Version.Model}
		groups[k] = append(groups[k], c)
	}
	keys := make([]modelKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.vendor != b.vendor {
			return a.vendor < b.vendor
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.model < b.model
	})
	reg := &Registry{}
	for _, k := range keys {
		versions := groups[k]
		sort.Slice(versions, func(i, j int) bool { return versions[i].Key.Version.Compare(versions[j].Key.Version) < 0 })
		m := &Model{Vendor: k.vendor, Name: k.name, Number: k.model, Contracts: versions, Latest: versions[len(versions)-1]}
		for _, v := range versions {
			m.Versions = append(m.Versions, v.Key)
		}
		m.Words = Words(k.name)
		if k.model > 1 {
			m.Words = append(m.Words, "v"+strconv.Itoa(k.model))
		}
		m.Table = buildTable(k.vendor, k.name, k.model, versions)
		reg.Models = append(reg.Models, m)
	}
	disambiguate(reg.Models)
	for _, m := range reg.Models {
		m.Event = eventType(m.Latest, m.Words)
	}
	return reg, nil
}

// disambiguate puts the vendor's words in front of the words of models whose
// words another vendor's model shares: com.acme/signup and com.other/signup give
// [com acme signup] and [com other signup].
func disambiguate(models []*Model) {
	vendors := map[string]map[string]bool{}
	for _, m := range models {
		w := strings.Join(m.Words, " ")
		if vendors[w] == nil {
			vendors[w] = map[string]bool{}
		}
		vendors[w][m.Vendor] = true
	}
	for _, m := range models {
		if len(vendors[strings.Join(m.Words, " ")]) > 1 {
			m.Words = append(Words(m.Vendor), m.Words...)
		}
	}
}

// piiIndex maps the data pointers of a contract's fields (/items/*/sku) to their
// annotations.
func piiIndex(c *contract.Contract) map[string]*contract.PII {
	out := map[string]*contract.PII{}
	for _, f := range c.Fields {
		if f.PII != nil {
			out[f.DataPointer()] = f.PII
		}
	}
	return out
}

// eventType is the sent shape of a contract.
func eventType(c *contract.Contract, words []string) *Type {
	b := &typeBuilder{root: c.Doc, pii: piiIndex(c), pos: c.Pos, active: map[string]bool{}}
	t := b.build(c.Doc, "", nil, words)
	t.Description = c.Description
	return t
}

// storedType is the stored shape of a contract.
func storedType(c *contract.Contract) *Type {
	doc := c.StoredDoc()
	b := &typeBuilder{root: doc, pii: piiIndex(c), pos: c.Pos, active: map[string]bool{}}
	return b.build(doc, "", nil, nil)
}

// TableName is the table of MODEL model of vendor/name: <vendor>_<name>_<model>,
// lowercase, every character outside [a-z0-9_] (the vendor's dots, a name's
// dashes) mapped to "_".
func TableName(vendor, name string, model int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(vendor + "_" + name + "_" + strconv.Itoa(model)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

func buildTable(vendor, name string, model int, versions []*contract.Contract) *Table {
	latest := versions[len(versions)-1]
	t := &Table{Name: TableName(vendor, name, model), Description: latest.Description}
	cols := firstEnvelope()
	for _, v := range versions {
		st := storedType(v)
		cols = merge(cols, fieldColumns(st.Fields, v.Key.Version), true)
	}
	t.Columns = withLaterEnvelope(cols)
	return t
}

// Header returns the lines every generated file starts with, without comment
// markers: the "Code generated ... DO NOT EDIT." line that tools recognise and the
// contract versions the file was produced from. It holds no timestamp, so the same
// registry always produces the same bytes.
func Header(target string, sources []string) []string {
	lines := []string{"Code generated by accord generate " + target + ". DO NOT EDIT.", "", "Contract versions:"}
	for _, s := range sources {
		lines = append(lines, "  "+s)
	}
	return lines
}

// ModelSources lists the Iglu URIs of the versions of the given models.
func ModelSources(models ...*Model) []string {
	var out []string
	for _, m := range models {
		for _, k := range m.Versions {
			out = append(out, k.URI())
		}
	}
	return out
}
