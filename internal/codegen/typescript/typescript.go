// Package typescript generates a TypeScript SDK from the IR: one interface and one
// AccordClient.track<Event> method per contract MODEL, enums as string-literal
// unions with their values at run time, and a tiny client on fetch (browsers and
// Node 18+) with no runtime dependency. Everything is in one file, events.ts.
package typescript

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/codegen/golang"
	"github.com/accord-dev/accord/internal/codegen/ir"
)

//go:embed client.ts.tmpl
var clientTemplate string

// FileName is the one file of the SDK.
const FileName = "events.ts"

// reserved are the names of the client part and the globals it uses: generated
// types never shadow them.
var reserved = []string{
	"DropReason", "Drop", "Rejection", "Failure", "EventResult", "Outcome", "ClientConfig", "Stats",
	"Problem", "ValidationError", "BaseClient", "AccordClient",
	"Record", "Required", "Omit", "Pick", "Partial", "Array", "Promise", "Error", "Response", "Blob",
	"BodyInit", "CompressionStream", "Object", "String", "Number", "Boolean", "Date", "Map", "Set",
	"JSON", "Math", "ReadonlyArray", "Uint8Array", "ArrayBuffer",
}

// Generate returns the SDK: events.ts.
func Generate(reg *ir.Registry) (map[string][]byte, error) {
	g := &gen{pkg: ir.NewNamer("", nil, reserved...), names: map[*ir.Type]string{}}
	cands := make([]ir.Candidate, len(reg.Models))
	for i, m := range reg.Models {
		cands[i] = ir.Candidate{Want: Ident(m.Words), Source: m.Key().URI()}
	}
	eventNames := g.pkg.Assign(cands)
	schemas := make([]string, len(reg.Models))
	for i, m := range reg.Models {
		g.names[m.Event] = eventNames[i]
		schemas[i] = g.pkg.Take(eventNames[i] + "Schema")
	}
	for _, m := range reg.Models {
		for _, f := range m.Event.Fields {
			g.nameType(f.Type)
		}
	}

	var b strings.Builder
	for _, l := range ir.Header("typescript", reg.Sources()) {
		b.WriteString(strings.TrimRight("// "+l, " ") + "\n")
	}
	b.WriteString("\n/* eslint-disable */\n\n")
	b.WriteString(clientTemplate)
	for i, m := range reg.Models {
		b.WriteString("\n// ---- " + m.Key().URI() + " ----\n\n")
		g.model(&b, m, schemas[i])
	}
	b.WriteString("\n/** AccordClient sends the events of the registry, one typed method per contract MODEL. */\n")
	b.WriteString("export class AccordClient extends BaseClient {\n")
	for i, m := range reg.Models {
		name := g.names[m.Event]
		doc := []string{"Validates a " + name + " event (" + m.URI() + ") and queues it; throws ValidationError when invalid."}
		if d := deprecation(m); d != "" {
			doc = append(doc, d)
		}
		jsdoc(&b, "  ", doc)
		fmt.Fprintf(&b, "  track%s(event: %s): void {\n    this.enqueue(%s, event, validate%s(event));\n  }\n", name, name, schemas[i], name)
	}
	b.WriteString("}\n")
	return map[string][]byte{FileName: []byte(b.String())}, nil
}

type gen struct {
	pkg   *ir.Namer
	names map[*ir.Type]string
}

func (g *gen) nameType(t *ir.Type) {
	switch {
	case t.IsEnum():
		g.names[t] = g.pkg.Take(Ident(t.Words))
	case t.Kind == ir.KindObject && !t.IsMap():
		g.names[t] = g.pkg.Take(Ident(t.Words))
		for _, f := range t.Fields {
			g.nameType(f.Type)
		}
	case t.Kind == ir.KindArray:
		g.nameType(t.Items)
	}
}

// tsType is the TypeScript type of a value of t, null included when nullable.
func (g *gen) tsType(t *ir.Type) string {
	s := g.baseType(t)
	if t.Nullable && s != "unknown" {
		s += " | null"
	}
	return s
}

func (g *gen) baseType(t *ir.Type) string {
	if t.IsEnum() {
		return g.names[t]
	}
	switch t.Kind {
	case ir.KindString:
		return "string"
	case ir.KindInteger, ir.KindNumber:
		return "number"
	case ir.KindBoolean:
		return "boolean"
	case ir.KindObject:
		if t.IsMap() {
			return "Record<string, unknown>"
		}
		return g.names[t]
	case ir.KindArray:
		inner := g.tsType(t.Items)
		if strings.Contains(inner, " ") {
			return "Array<" + inner + ">"
		}
		return inner + "[]"
	}
	return "unknown"
}

func deprecation(m *ir.Model) string {
	lc := m.Latest.Lifecycle
	if lc.Status == "" || lc.Status == "active" {
		return ""
	}
	d := "@deprecated This contract is " + string(lc.Status) + "."
	if lc.ReplacedBy != "" {
		d += " Send " + lc.ReplacedBy + " instead."
	}
	return d
}

func (g *gen) model(b *strings.Builder, m *ir.Model, schema string) {
	name := g.names[m.Event]
	jsdoc(b, "", []string{"Iglu URI of the contract version that " + name + " events follow."})
	fmt.Fprintf(b, "export const %s = %s;\n\n", schema, jsString(m.URI()))
	doc := []string{}
	if m.Latest.Description != "" {
		doc = append(doc, lines(m.Latest.Description)...)
		doc = append(doc, "")
	}
	doc = append(doc, "Contract: "+m.URI()+".")
	if m.Latest.Owner != nil {
		doc = append(doc, "Owner: "+m.Latest.Owner.Team+".")
	}
	if d := deprecation(m); d != "" {
		doc = append(doc, d)
	}
	g.iface(b, m.Event, name, doc)
	fmt.Fprintf(b, "/** Checks a %s event at run time: required fields, enum values, nested objects. */\n", name)
	fmt.Fprintf(b, "export function validate%s(event: %s): Problem[] {\n  const out: Problem[] = [];\n  check%s(event, \"\", out);\n  return out;\n}\n\n", name, name, name)
	g.nested(b, m.Event)
}

func (g *gen) nested(b *strings.Builder, t *ir.Type) {
	for _, f := range t.Fields {
		g.decls(b, f.Type)
	}
}

func (g *gen) decls(b *strings.Builder, t *ir.Type) {
	switch {
	case t.IsEnum():
		name := g.names[t]
		doc := []string{name + " is one of: " + strings.Join(t.EnumStrings(), ", ") + "."}
		if t.Description != "" {
			doc = append(append(doc, ""), lines(t.Description)...)
		}
		jsdoc(b, "", doc)
		lits := make([]string, len(t.Enum))
		for i, v := range t.Enum {
			lits[i] = jsLiteral(v)
		}
		fmt.Fprintf(b, "export type %s = %s;\n\n", name, strings.Join(lits, " | "))
		jsdoc(b, "", []string{"The values of " + name + ", for run-time checks and pickers."})
		fmt.Fprintf(b, "export const %sValues: readonly %s[] = [%s];\n\n", name, name, strings.Join(lits, ", "))
	case t.Kind == ir.KindObject && !t.IsMap():
		doc := []string{g.names[t] + " is the object at " + t.Pointer + " of the contract."}
		if t.Description != "" {
			doc = append(append(doc, ""), lines(t.Description)...)
		}
		g.iface(b, t, g.names[t], doc)
		g.nested(b, t)
	case t.Kind == ir.KindArray:
		g.decls(b, t.Items)
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func propKey(name string) string {
	if plainKey.MatchString(name) {
		return name
	}
	return jsString(name)
}

func (g *gen) iface(b *strings.Builder, t *ir.Type, name string, doc []string) {
	jsdoc(b, "", doc)
	fmt.Fprintf(b, "export interface %s {\n", name)
	for _, f := range t.Fields {
		jsdoc(b, "  ", fieldDoc(f))
		opt := "?"
		if f.Required {
			opt = ""
		}
		fmt.Fprintf(b, "  %s%s: %s;\n", propKey(f.Name), opt, g.tsType(f.Type))
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "function check%s(v: unknown, p: string, out: Problem[]): void {\n", name)
	b.WriteString("  if (!checkObject(v, p, out)) {\n    return;\n  }\n")
	for _, f := range t.Fields {
		expr := "v[" + jsString(f.Name) + "]"
		ptr := "p + " + jsString("/"+escapePointer(f.Name))
		var inner strings.Builder
		g.check(&inner, expr, f.Type, ptr, "    ", 0)
		switch {
		case f.Required && inner.Len() == 0:
			fmt.Fprintf(b, "  checkRequired(%s, %s, out);\n", expr, ptr)
		case f.Required:
			fmt.Fprintf(b, "  if (checkRequired(%s, %s, out)) {\n%s  }\n", expr, ptr, inner.String())
		case inner.Len() > 0:
			fmt.Fprintf(b, "  if (%s !== undefined) {\n%s  }\n", expr, inner.String())
		}
	}
	b.WriteString("}\n\n")
}

func needsCheck(t *ir.Type) bool {
	switch {
	case t.IsEnum(), t.Kind == ir.KindObject && !t.IsMap():
		return true
	case t.Kind == ir.KindArray:
		return needsCheck(t.Items)
	}
	return false
}

func (g *gen) check(b *strings.Builder, expr string, t *ir.Type, ptr, indent string, depth int) {
	if !needsCheck(t) {
		return
	}
	if t.Nullable {
		fmt.Fprintf(b, "%sif (%s !== null) {\n", indent, expr)
		g.checkValue(b, expr, t, ptr, indent+"  ", depth)
		fmt.Fprintf(b, "%s}\n", indent)
		return
	}
	g.checkValue(b, expr, t, ptr, indent, depth)
}

// checkValue checks a value that is not null.
func (g *gen) checkValue(b *strings.Builder, expr string, t *ir.Type, ptr, indent string, depth int) {
	switch {
	case t.IsEnum():
		fmt.Fprintf(b, "%scheckEnum(%s, %sValues, %s, out);\n", indent, expr, g.names[t], ptr)
	case t.Kind == ir.KindObject:
		fmt.Fprintf(b, "%scheck%s(%s, %s, out);\n", indent, g.names[t], expr, ptr)
	case t.Kind == ir.KindArray:
		arr := fmt.Sprintf("a%d", depth)
		it, i := fmt.Sprintf("it%d", depth), fmt.Sprintf("i%d", depth)
		fmt.Fprintf(b, "%sconst %s = %s;\n%sif (checkArray(%s, %s, out)) {\n", indent, arr, expr, indent, arr, ptr)
		fmt.Fprintf(b, "%s  %s.forEach((%s, %s) => {\n", indent, arr, it, i)
		g.check(b, it, t.Items, ptr+" + \"/\" + "+i, indent+"    ", depth+1)
		fmt.Fprintf(b, "%s  });\n%s}\n", indent, indent)
	}
}

func fieldDoc(f *ir.Field) []string {
	var doc []string
	if f.Description != "" {
		doc = append(doc, lines(f.Description)...)
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
		doc = append(doc, golang.PIINote(f.PII))
	}
	return doc
}

// Ident renders words as a PascalCase TypeScript type name ("T" in front of a
// leading digit, "Type" when there are no words).
func Ident(words []string) string {
	var b strings.Builder
	for _, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(w[size:])
	}
	s := b.String()
	if s == "" {
		return "Type"
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsDigit(r) {
		s = "T" + s
	}
	return s
}

func jsdoc(b *strings.Builder, indent string, doc []string) {
	if len(doc) == 0 {
		return
	}
	b.WriteString(indent + "/**\n")
	for _, l := range doc {
		l = strings.ReplaceAll(l, "*/", "*\\/")
		if l == "" {
			b.WriteString(indent + " *\n")
			continue
		}
		b.WriteString(indent + " * " + l + "\n")
	}
	b.WriteString(indent + " */\n")
}

func lines(s string) []string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	out := strings.Split(s, "\n")
	for i, l := range out {
		out[i] = strings.TrimRight(l, " \t")
	}
	return out
}

func jsString(s string) string {
	out, err := json.Marshal(s)
	if err != nil {
		// Strings from a decoded contract always marshal.
		return `""`
	}
	return string(out)
}

func jsLiteral(v any) string {
	if s, ok := v.(string); ok {
		return jsString(s)
	}
	return ir.EnumString(v)
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
