// Package golang generates a self-contained Go SDK (standard library only) from the
// IR: one struct and one Client.Track<Event> method per contract MODEL, and a client
// that batches, gzips, retries and never blocks the caller.
package golang

import (
	_ "embed"
	"fmt"
	"go/format"
	"go/token"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
)

//go:embed client.go.tmpl
var clientTemplate string

// Options configures the Go SDK.
type Options struct {
	// Package is the generated package's name (default "events").
	Package string
}

// DefaultPackage is the package name used when Options.Package is empty.
const DefaultPackage = "events"

// reserved are the exported names of client.go.tmpl: generated types never take them.
var reserved = []string{
	"Event", "ErrQueueFull", "ErrClosed", "DropReason", "DropQueueFull", "DropClosed",
	"DropRejected", "DropFailed", "Drop", "Rejection", "Failure", "Config", "Stats", "Client",
	"New", "ValidationError", "Problem", "Ptr",
}

// eventMethods are the methods of event structs, which no field may be named.
var eventMethods = []string{"SchemaURI", "Validate"}

// Generate returns the SDK's files: client.go and one <table>.go per model.
func Generate(reg *ir.Registry, opts Options) (map[string][]byte, error) {
	pkg := opts.Package
	if pkg == "" {
		pkg = DefaultPackage
	}
	if !token.IsIdentifier(pkg) || token.IsKeyword(pkg) || pkg == "_" || pkg == "main" {
		return nil, fmt.Errorf("go package name %q is not a valid Go package identifier (for example events)", pkg)
	}
	g, schemaConsts := newGen(reg)
	files := map[string][]byte{}
	var head strings.Builder
	comment(&head, "", ir.Header("go", reg.Sources()))
	head.WriteString("\n// Package " + pkg + " sends the events of an Accord contract registry, typed:\n")
	head.WriteString("// one struct per contract MODEL and one Client.Track method for each.\n")
	src := head.String() + strings.Replace(clientTemplate, "package PACKAGE", "package "+pkg, 1)
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("formatting client.go: %w", err)
	}
	files["client.go"] = out

	for i, m := range reg.Models {
		var b strings.Builder
		comment(&b, "", ir.Header("go", ir.ModelSources(m)))
		b.WriteString("\npackage " + pkg + "\n\n")
		body := g.model(m, schemaConsts[i])
		if strings.Contains(body, "time.Time") {
			b.WriteString("import \"time\"\n\n")
		}
		b.WriteString(body)
		name := m.Table.Name + ".go"
		out, err := format.Source([]byte(b.String()))
		if err != nil {
			return nil, fmt.Errorf("formatting %s: %w\n%s", name, err, b.String())
		}
		files[name] = out
	}
	return files, nil
}

// newGen names every type and field of the registry's SDK.
func newGen(reg *ir.Registry) (*gen, []string) {
	g := &gen{pkg: ir.NewNamer("", nil, reserved...), names: map[*ir.Type]string{}, fields: map[*ir.Field]string{}}
	// Event types first, as a group, so that their names do not depend on the
	// names of nested types.
	cands := make([]ir.Candidate, len(reg.Models))
	for i, m := range reg.Models {
		cands[i] = ir.Candidate{Want: Ident(m.Words), Source: m.Key().URI()}
	}
	eventNames := g.pkg.Assign(cands)
	schemaConsts := make([]string, len(reg.Models))
	for i, m := range reg.Models {
		g.names[m.Event] = eventNames[i]
		schemaConsts[i] = g.pkg.Take(eventNames[i] + "Schema")
	}
	for _, m := range reg.Models {
		g.nameFields(m.Event, true)
		g.nameNested(m.Event)
	}
	return g, schemaConsts
}

// TypeNames returns the Go type of each model's event, as Generate names it.
func TypeNames(reg *ir.Registry) map[*ir.Model]string {
	g, _ := newGen(reg)
	out := make(map[*ir.Model]string, len(reg.Models))
	for _, m := range reg.Models {
		out[m] = g.names[m.Event]
	}
	return out
}

type gen struct {
	pkg    *ir.Namer
	names  map[*ir.Type]string  // struct and enum types
	fields map[*ir.Field]string // struct field names
}

// nameFields names the fields of the struct t.
func (g *gen) nameFields(t *ir.Type, event bool) {
	var res []string
	if event {
		res = eventMethods
	}
	namer := ir.NewNamer("", nil, res...)
	cands := make([]ir.Candidate, len(t.Fields))
	for i, f := range t.Fields {
		cands[i] = ir.Candidate{Want: Ident(f.Words), Source: f.Name}
	}
	for i, name := range namer.Assign(cands) {
		g.fields[t.Fields[i]] = name
	}
}

// nameNested names the struct and enum types under t, depth first in field order.
func (g *gen) nameNested(t *ir.Type) {
	for _, f := range t.Fields {
		g.nameType(f.Type)
	}
}

func (g *gen) nameType(t *ir.Type) {
	switch {
	case t.IsEnum():
		g.names[t] = g.pkg.Take(Ident(t.Words))
	case t.Kind == ir.KindObject && !t.IsMap():
		g.names[t] = g.pkg.Take(Ident(t.Words))
		g.nameFields(t, false)
		g.nameNested(t)
	case t.Kind == ir.KindArray:
		g.nameType(t.Items)
	}
}

// goType is the Go type of a value of t (without the pointer of an optional field).
func (g *gen) goType(t *ir.Type) string {
	if t.IsEnum() {
		return g.names[t]
	}
	switch t.Kind {
	case ir.KindString:
		if t.Format == "date-time" {
			return "time.Time"
		}
		return "string"
	case ir.KindInteger:
		return "int64"
	case ir.KindNumber:
		return "float64"
	case ir.KindBoolean:
		return "bool"
	case ir.KindObject:
		if t.IsMap() {
			return "map[string]any"
		}
		return g.names[t]
	case ir.KindArray:
		return "[]" + g.elemType(t.Items)
	}
	return "any"
}

// isRef reports whether nil is a value of t's Go type (slices, maps, any).
func isRef(t *ir.Type) bool {
	return !t.IsEnum() && (t.Kind == ir.KindArray || t.Kind == ir.KindAny || t.IsMap())
}

func (g *gen) elemType(t *ir.Type) string {
	if t.Nullable && !isRef(t) {
		return "*" + g.goType(t)
	}
	return g.goType(t)
}

// fieldPtr reports whether field f is a pointer: optional or nullable values
// whose type has no nil.
func fieldPtr(f *ir.Field) bool {
	return !isRef(f.Type) && (!f.Required || f.Type.Nullable)
}

func (g *gen) model(m *ir.Model, schemaConst string) string {
	var b strings.Builder
	name := g.names[m.Event]
	fmt.Fprintf(&b, "// %s is the schema of %s events: the Iglu URI of contract version %s.\n", schemaConst, name, m.Key().Version)
	fmt.Fprintf(&b, "const %s = %s\n\n", schemaConst, strconv.Quote(m.URI()))
	doc := []string{fmt.Sprintf("%s is a %s/%s event (MODEL %d).", name, m.Vendor, m.Name, m.Number), ""}
	if m.Latest.Description != "" {
		doc = append(doc, splitLines(m.Latest.Description)...)
		doc = append(doc, "")
	}
	doc = append(doc, "Contract: "+m.URI()+".")
	if m.Latest.Owner != nil {
		owner := "Owner: " + m.Latest.Owner.Team
		if m.Latest.Owner.Contact != "" {
			owner += " (" + m.Latest.Owner.Contact + ")"
		}
		doc = append(doc, owner+".")
	}
	if st := m.Latest.Lifecycle.Status; st != contract.StatusActive && st != "" {
		line := "Deprecated: this contract is " + string(st) + "."
		if m.Latest.Lifecycle.ReplacedBy != "" {
			line += " Send " + m.Latest.Lifecycle.ReplacedBy + " instead."
		}
		doc = append(doc, "", line)
	}
	g.structDecl(&b, m.Event, name, doc)
	fmt.Fprintf(&b, "// SchemaURI returns %s.\nfunc (e %s) SchemaURI() string { return %s }\n\n", schemaConst, name, schemaConst)
	fmt.Fprintf(&b, "// Validate checks required fields and enum values; see Event.\nfunc (e %s) Validate() error {\n\tv := &validator{}\n\te.validate(v, \"\")\n\treturn v.err(%s)\n}\n\n", name, schemaConst)
	fmt.Fprintf(&b, "// Track%s validates a %s event and queues it; see Client.Track.\nfunc (c *Client) Track%s(e %s) error { return c.Track(e) }\n\n", name, name, name, name)
	g.nestedDecls(&b, m.Event)
	return b.String()
}

// nestedDecls declares the named types under t.
func (g *gen) nestedDecls(b *strings.Builder, t *ir.Type) {
	for _, f := range t.Fields {
		g.typeDecls(b, f.Type)
	}
}

func (g *gen) typeDecls(b *strings.Builder, t *ir.Type) {
	switch {
	case t.IsEnum():
		g.enumDecl(b, t)
	case t.Kind == ir.KindObject && !t.IsMap():
		doc := []string{g.names[t] + " is the object at " + t.Pointer + " of the contract."}
		if t.Description != "" {
			doc = append(append(doc, ""), splitLines(t.Description)...)
		}
		g.structDecl(b, t, g.names[t], doc)
		g.nestedDecls(b, t)
	case t.Kind == ir.KindArray:
		g.typeDecls(b, t.Items)
	}
}

func (g *gen) structDecl(b *strings.Builder, t *ir.Type, name string, doc []string) {
	if len(doc) == 0 {
		doc = []string{name + " is an object of the contract."}
	}
	comment(b, "", doc)
	fmt.Fprintf(b, "type %s struct {\n", name)
	for _, f := range t.Fields {
		comment(b, "\t", fieldDoc(f))
		typ := g.goType(f.Type)
		if fieldPtr(f) {
			typ = "*" + typ
		}
		tag := f.Name
		if !f.Required {
			tag += ",omitempty"
		}
		fmt.Fprintf(b, "\t%s %s `json:%s`\n", g.fields[f], typ, strconv.Quote(tag))
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "func (x %s) validate(v *validator, p string) {\n", name)
	for _, f := range t.Fields {
		g.checkField(b, f)
	}
	b.WriteString("}\n\n")
}

// fieldDoc documents a field: its description, whether it is required, its enum
// values and its privacy annotation.
func fieldDoc(f *ir.Field) []string {
	var doc []string
	if f.Description != "" {
		doc = append(doc, splitLines(f.Description)...)
		doc = append(doc, "")
	}
	meta := "Optional."
	if f.Required {
		meta = "Required."
	}
	if f.Type.Nullable {
		meta += " May be null."
	}
	if f.Type.Format != "" {
		meta += " Format: " + f.Type.Format + "."
	}
	doc = append(doc, meta)
	if f.PII != nil {
		doc = append(doc, PIINote(f.PII))
	}
	return doc
}

// PIINote describes a field's personal data and what the collector does with it.
func PIINote(p *contract.PII) string {
	verb := map[contract.Handling]string{
		contract.HandlingDrop:      "dropped before storage",
		contract.HandlingTokenize:  "tokenized before storage",
		contract.HandlingHash:      "hashed before storage",
		contract.HandlingObfuscate: "obfuscated before storage",
		contract.HandlingKeep:      "kept as sent",
	}[p.Handling]
	if verb == "" {
		verb = "handling " + string(p.Handling)
	}
	return "PII (" + string(p.Kind) + "): " + verb + "."
}

// checkField writes the checks of one field of x.
func (g *gen) checkField(b *strings.Builder, f *ir.Field) {
	expr := "x." + g.fields[f]
	ptr := "p + " + strconv.Quote("/"+escapePointer(f.Name))
	t := f.Type
	switch {
	case f.Required && !t.Nullable && isRef(t):
		fmt.Fprintf(b, "\tif %s == nil {\n\t\tv.add(%s, \"is required\")\n\t}\n", expr, ptr)
	case f.Required && !t.Nullable && !t.IsEnum() && t.Kind == ir.KindString && t.Format == "date-time":
		fmt.Fprintf(b, "\tif %s.IsZero() {\n\t\tv.add(%s, \"is required\")\n\t}\n", expr, ptr)
	}
	g.check(b, expr, t, ptr, fieldPtr(f), 0)
}

// needsCheck reports whether values of t can be invalid in ways Go types allow.
func needsCheck(t *ir.Type) bool {
	switch {
	case t.IsEnum():
		return true
	case t.Kind == ir.KindObject && !t.IsMap():
		return true
	case t.Kind == ir.KindArray:
		return needsCheck(t.Items)
	}
	return false
}

// check writes the checks of the value expr of type t at pointer ptr.
func (g *gen) check(b *strings.Builder, expr string, t *ir.Type, ptr string, isPtr bool, depth int) {
	if !needsCheck(t) {
		return
	}
	indent := strings.Repeat("\t", depth+1)
	if isPtr {
		fmt.Fprintf(b, "%sif %s != nil {\n", indent, expr)
		g.check(b, "(*"+expr+")", t, ptr, false, depth+1)
		fmt.Fprintf(b, "%s}\n", indent)
		return
	}
	switch {
	case t.IsEnum():
		fmt.Fprintf(b, "%sif !%s.Valid() {\n%s\tv.add(%s, %s)\n%s}\n", indent, expr, indent, ptr, strconv.Quote(enumMessage(t)), indent)
	case t.Kind == ir.KindObject:
		fmt.Fprintf(b, "%s%s.validate(v, %s)\n", indent, expr, ptr)
	case t.Kind == ir.KindArray:
		i, it := fmt.Sprintf("i%d", depth), fmt.Sprintf("it%d", depth)
		fmt.Fprintf(b, "%sfor %s, %s := range %s {\n", indent, i, it, expr)
		elemPtr := t.Items.Nullable && !isRef(t.Items)
		g.check(b, it, t.Items, fmt.Sprintf("at(%s, %s)", ptr, i), elemPtr, depth+1)
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

func enumMessage(t *ir.Type) string {
	vals := make([]string, len(t.Enum))
	for i, v := range t.Enum {
		if s, ok := v.(string); ok {
			vals[i] = strconv.Quote(s)
		} else {
			vals[i] = fmt.Sprint(v)
		}
	}
	return "must be one of " + strings.Join(vals, ", ")
}

func (g *gen) enumDecl(b *strings.Builder, t *ir.Type) {
	name := g.names[t]
	var under string
	switch t.Kind {
	case ir.KindString:
		under = "string"
	case ir.KindInteger:
		under = "int64"
	case ir.KindNumber:
		under = "float64"
	default:
		under = "bool"
	}
	doc := []string{name + " is one of: " + strings.Join(t.EnumStrings(), ", ") + "."}
	if t.Description != "" {
		doc = append(append(doc, ""), splitLines(t.Description)...)
	}
	comment(b, "", doc)
	fmt.Fprintf(b, "type %s %s\n\n", name, under)
	b.WriteString("// Values of " + name + ".\nconst (\n")
	consts := make([]string, len(t.Enum))
	for i, v := range t.Enum {
		words := ir.Words(ir.EnumString(v))
		suffix := Ident(words)
		if len(words) == 0 {
			suffix = "Value" + strconv.Itoa(i+1)
		}
		consts[i] = g.pkg.Take(name + suffix)
		fmt.Fprintf(b, "\t%s %s = %s\n", consts[i], name, goLiteral(v))
	}
	b.WriteString(")\n\n")
	fmt.Fprintf(b, "// Valid reports whether v is one of the values the contract allows.\nfunc (v %s) Valid() bool {\n\tswitch v {\n\tcase %s:\n\t\treturn true\n\t}\n\treturn false\n}\n\n", name, strings.Join(consts, ", "))
}

func goLiteral(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	default:
		return ir.EnumString(v)
	}
}

// initialisms are written in capitals in Go names, as Go's own style does.
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "cpu": true, "css": true, "dns": true, "eof": true,
	"guid": true, "html": true, "http": true, "https": true, "id": true, "ip": true, "json": true,
	"os": true, "qps": true, "ram": true, "rpc": true, "sla": true, "smtp": true, "sql": true,
	"ssh": true, "tcp": true, "tls": true, "ttl": true, "udp": true, "ui": true, "uid": true,
	"uri": true, "url": true, "utf8": true, "uuid": true, "vm": true, "xml": true, "xss": true,
}

// Ident renders words as an exported Go identifier: each word capitalised,
// initialisms (ID, URL, IP, ...) in capitals, "X" in front when the first
// character cannot be capitalised (a digit), "Field" when there are no words.
func Ident(words []string) string {
	var b strings.Builder
	for _, w := range words {
		if initialisms[w] {
			b.WriteString(strings.ToUpper(w))
			continue
		}
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(w[size:])
	}
	s := b.String()
	if s == "" {
		return "Field"
	}
	if r, _ := utf8.DecodeRuneInString(s); !unicode.IsUpper(r) {
		s = "X" + s
	}
	return s
}

func comment(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		if l == "" {
			b.WriteString(indent + "//\n")
			continue
		}
		b.WriteString(indent + "// " + l + "\n")
	}
}

func splitLines(s string) []string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return lines
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
