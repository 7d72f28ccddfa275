// Package python generates a Python SDK from the IR: one dataclass and one
// AccordClient.track_<event> method per contract MODEL, enums as Literal types with
// their values at run time, and a client on the standard library only (urllib,
// gzip, threading). Everything is in one module, events.py.
package python

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/golang"
	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/codegen/typescript"
)

//go:embed client.py.tmpl
var clientTemplate string

// FileName is the one module of the SDK.
const FileName = "events.py"

// keywords are Python's lowercase keywords (snake_case names are never None, True
// or False): an attribute so named gets a "_" suffix.
var keywords = map[string]bool{
	"and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// attrReserved are names an event attribute may not take: the dataclass's own
// members, its __init__'s self, and the builtins its annotations use.
var attrReserved = []string{"self", "SCHEMA", "to_dict", "validate", "_check", "str", "int", "float", "bool", "list", "dict", "object"}

// moduleReserved are the module's own names, which generated types never take.
var moduleReserved = []string{
	"AccordClient", "BaseClient", "DropReason", "Drop", "Rejection", "Failure", "DeliveryError", "Problem",
	"ValidationError", "Stats", "Any", "Callable", "ClassVar", "Dict", "List", "Literal", "Optional", "Tuple",
	"Union", "Exception", "ValueError", "BaseException",
}

// Generate returns the SDK: events.py.
func Generate(reg *ir.Registry) (map[string][]byte, error) {
	g := &gen{mod: ir.NewNamer("", nil, moduleReserved...), names: map[*ir.Type]string{}, attrs: map[*ir.Field]string{}}
	cands := make([]ir.Candidate, len(reg.Models))
	for i, m := range reg.Models {
		cands[i] = ir.Candidate{Want: typescript.Ident(m.Words), Source: m.Key().URI()}
	}
	for i, name := range g.mod.Assign(cands) {
		g.names[reg.Models[i].Event] = name
	}
	for _, m := range reg.Models {
		g.nameAttrs(m.Event)
		for _, f := range m.Event.Fields {
			g.nameType(f.Type)
		}
	}
	var b strings.Builder
	for _, l := range ir.Header("python", reg.Sources()) {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	b.WriteString("\n\"\"\"Typed events of an Accord contract registry and a client that sends them.\"\"\"\n\n")
	b.WriteString(clientTemplate)
	for _, m := range reg.Models {
		b.WriteString("\n\n# ---- " + m.Key().URI() + " ----\n")
		g.model(&b, m)
	}
	b.WriteString("\n\nclass AccordClient(BaseClient):\n")
	b.WriteString("    \"\"\"Sends the events of the registry: one typed method per contract MODEL.\"\"\"\n")
	for _, m := range reg.Models {
		name := g.names[m.Event]
		method := "track_" + ir.Snake(m.Words, "event")
		fmt.Fprintf(&b, "\n    def %s(self, event: %s) -> None:\n", method, name)
		doc := "Validates a " + name + " event (" + m.URI() + ") and queues it; raises ValidationError when invalid."
		if st := m.Latest.Lifecycle.Status; st != "" && st != "active" {
			doc += " Deprecated: the contract is " + string(st) + "."
		}
		fmt.Fprintf(&b, "        %s\n", docstring(doc, "        "))
		b.WriteString("        self._enqueue(event.SCHEMA, event.to_dict(), event.validate())\n")
	}
	return map[string][]byte{FileName: []byte(b.String())}, nil
}

type gen struct {
	mod   *ir.Namer
	names map[*ir.Type]string
	attrs map[*ir.Field]string
}

func (g *gen) nameAttrs(t *ir.Type) {
	namer := ir.NewNamer("_", nil, attrReserved...)
	cands := make([]ir.Candidate, len(t.Fields))
	for i, f := range t.Fields {
		want := ir.Snake(f.Words, "field")
		if keywords[want] {
			want += "_"
		}
		cands[i] = ir.Candidate{Want: want, Source: f.Name}
	}
	for i, name := range namer.Assign(cands) {
		g.attrs[t.Fields[i]] = name
	}
}

func (g *gen) nameType(t *ir.Type) {
	switch {
	case t.IsEnum():
		g.names[t] = g.mod.Take(typescript.Ident(t.Words))
	case t.Kind == ir.KindObject && !t.IsMap():
		g.names[t] = g.mod.Take(typescript.Ident(t.Words))
		g.nameAttrs(t)
		for _, f := range t.Fields {
			g.nameType(f.Type)
		}
	case t.Kind == ir.KindArray:
		g.nameType(t.Items)
	}
}

// valuesName is the tuple of an enum's values.
func (g *gen) valuesName(t *ir.Type) string {
	return strings.ToUpper(ir.Snake(ir.Words(g.names[t]), "enum")) + "_VALUES"
}

// pyType is the annotation of a value of t.
func (g *gen) pyType(t *ir.Type) string {
	s := g.baseType(t)
	if t.Nullable && s != "Any" {
		s = "Optional[" + s + "]"
	}
	return s
}

func (g *gen) baseType(t *ir.Type) string {
	if t.IsEnum() {
		return g.names[t]
	}
	switch t.Kind {
	case ir.KindString:
		return "str"
	case ir.KindInteger:
		return "int"
	case ir.KindNumber:
		return "float"
	case ir.KindBoolean:
		return "bool"
	case ir.KindObject:
		if t.IsMap() {
			return "Dict[str, Any]"
		}
		return g.names[t]
	case ir.KindArray:
		return "List[" + g.pyType(t.Items) + "]"
	}
	return "Any"
}

func (g *gen) model(b *strings.Builder, m *ir.Model) {
	for _, f := range m.Event.Fields {
		g.decls(b, f.Type)
	}
	doc := []string{}
	if m.Latest.Description != "" {
		doc = append(doc, lines(m.Latest.Description)...)
		doc = append(doc, "")
	}
	doc = append(doc, "Contract: "+m.URI()+".")
	if m.Latest.Owner != nil {
		doc = append(doc, "Owner: "+m.Latest.Owner.Team+".")
	}
	g.class(b, m.Event, g.names[m.Event], doc, m.URI())
}

func (g *gen) decls(b *strings.Builder, t *ir.Type) {
	switch {
	case t.IsEnum():
		name := g.names[t]
		lits := make([]string, len(t.Enum))
		for i, v := range t.Enum {
			lits[i] = pyLiteral(v)
		}
		if t.Kind == ir.KindNumber {
			// Literal takes no floats: the type is float, the values are checked at run time.
			fmt.Fprintf(b, "\n%s = float\n", name)
		} else {
			fmt.Fprintf(b, "\n%s = Literal[%s]\n", name, strings.Join(lits, ", "))
		}
		doc := name + " is one of: " + strings.Join(t.EnumStrings(), ", ") + "."
		if t.Description != "" {
			doc += " " + oneLine(t.Description)
		}
		fmt.Fprintf(b, "%s\n", docstring(doc, ""))
		fmt.Fprintf(b, "%s: Tuple[%s, ...] = (%s,)\n", g.valuesName(t), name, strings.Join(lits, ", "))
	case t.Kind == ir.KindObject && !t.IsMap():
		for _, f := range t.Fields {
			g.decls(b, f.Type)
		}
		doc := []string{g.names[t] + " is the object at " + t.Pointer + " of the contract."}
		if t.Description != "" {
			doc = append(append(doc, ""), lines(t.Description)...)
		}
		g.class(b, t, g.names[t], doc, "")
	case t.Kind == ir.KindArray:
		g.decls(b, t.Items)
	}
}

// class writes a dataclass: required fields first (dataclasses need defaults
// last), each in contract order.
func (g *gen) class(b *strings.Builder, t *ir.Type, name string, doc []string, schema string) {
	fmt.Fprintf(b, "\n\n@dataclass\nclass %s:\n", name)
	fmt.Fprintf(b, "    %s\n\n", docstring(strings.Join(doc, "\n"), "    "))
	if schema != "" {
		fmt.Fprintf(b, "    SCHEMA: ClassVar[str] = %s\n", pyString(schema))
		b.WriteString("    \"\"\"Iglu URI of the contract version these events follow.\"\"\"\n\n")
	}
	ordered := make([]*ir.Field, 0, len(t.Fields))
	for _, f := range t.Fields {
		if f.Required {
			ordered = append(ordered, f)
		}
	}
	for _, f := range t.Fields {
		if !f.Required {
			ordered = append(ordered, f)
		}
	}
	for _, f := range ordered {
		typ := g.pyType(f.Type)
		def := ""
		if !f.Required {
			if !strings.HasPrefix(typ, "Optional[") && typ != "Any" {
				typ = "Optional[" + typ + "]"
			}
			def = " = None"
		}
		fmt.Fprintf(b, "    %s: %s%s\n", g.attrs[f], typ, def)
		fmt.Fprintf(b, "    %s\n", docstring(strings.Join(fieldDoc(f), "\n"), "    "))
	}
	if len(ordered) == 0 {
		b.WriteString("    pass\n")
	}
	// to_dict
	b.WriteString("\n    def to_dict(self) -> Dict[str, Any]:\n")
	b.WriteString("        \"\"\"The event's data as JSON values, under the contract's property names.\"\"\"\n")
	b.WriteString("        d: Dict[str, Any] = {}\n")
	for _, f := range t.Fields {
		attr := "self." + g.attrs[f]
		conv := g.conv(attr, f.Type, 0)
		if f.Required {
			fmt.Fprintf(b, "        d[%s] = %s\n", pyString(f.Name), conv)
		} else {
			fmt.Fprintf(b, "        if %s is not None:\n            d[%s] = %s\n", attr, pyString(f.Name), conv)
		}
	}
	b.WriteString("        return d\n")
	// validate
	b.WriteString("\n    def validate(self) -> List[Problem]:\n")
	b.WriteString("        \"\"\"Checks required fields, enum values and nested objects; returns the problems.\"\"\"\n")
	b.WriteString("        out: List[Problem] = []\n        self._check(\"\", out)\n        return out\n")
	b.WriteString("\n    def _check(self, p: str, out: List[Problem]) -> None:\n")
	n := 0
	for _, f := range t.Fields {
		attr := "self." + g.attrs[f]
		ptr := "p + " + pyString("/"+escapePointer(f.Name))
		var inner strings.Builder
		g.check(&inner, attr, f.Type, ptr, "            ", 0)
		switch {
		case f.Required && !f.Type.Nullable && f.Type.Kind != ir.KindAny:
			if inner.Len() == 0 {
				fmt.Fprintf(b, "        _required(%s, %s, out)\n", attr, ptr)
			} else {
				fmt.Fprintf(b, "        if _required(%s, %s, out):\n%s", attr, ptr, inner.String())
			}
			n++
		case inner.Len() > 0:
			fmt.Fprintf(b, "        if %s is not None:\n%s", attr, inner.String())
			n++
		}
	}
	if n == 0 {
		b.WriteString("        return\n")
	}
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

// check writes the checks of a value that is not None.
func (g *gen) check(b *strings.Builder, expr string, t *ir.Type, ptr, indent string, depth int) {
	if !needsCheck(t) {
		return
	}
	switch {
	case t.IsEnum():
		fmt.Fprintf(b, "%s_enum(%s, %s, %s, out)\n", indent, expr, g.valuesName(t), ptr)
	case t.Kind == ir.KindObject:
		fmt.Fprintf(b, "%s%s._check(%s, out)\n", indent, expr, ptr)
	case t.Kind == ir.KindArray:
		i, it := fmt.Sprintf("i%d", depth), fmt.Sprintf("it%d", depth)
		fmt.Fprintf(b, "%sfor %s, %s in enumerate(%s):\n", indent, i, it, expr)
		inner := indent + "    "
		if t.Items.Nullable {
			fmt.Fprintf(b, "%sif %s is not None:\n", inner, it)
			inner += "    "
		}
		g.check(b, it, t.Items, ptr+" + \"/\" + str("+i+")", inner, depth+1)
	}
}

// conv converts a value of t to JSON values.
func (g *gen) conv(expr string, t *ir.Type, depth int) string {
	var out string
	switch {
	case t.Kind == ir.KindObject && !t.IsMap() && !t.IsEnum():
		out = expr + ".to_dict()"
	case t.Kind == ir.KindArray && needsConv(t.Items):
		it := fmt.Sprintf("x%d", depth)
		out = "[" + g.conv(it, t.Items, depth+1) + " for " + it + " in " + expr + "]"
	default:
		return expr
	}
	if t.Nullable {
		out = "(None if " + expr + " is None else " + out + ")"
	}
	return out
}

func needsConv(t *ir.Type) bool {
	switch {
	case t.IsEnum():
		return false
	case t.Kind == ir.KindObject:
		return !t.IsMap()
	case t.Kind == ir.KindArray:
		return needsConv(t.Items)
	}
	return false
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
	meta += " JSON name: " + f.Name + "."
	doc = append(doc, meta)
	if f.PII != nil {
		doc = append(doc, golang.PIINote(f.PII))
	}
	return doc
}

// docstring quotes text as a triple-quoted docstring indented by indent.
func docstring(text, indent string) string {
	text = strings.ReplaceAll(text, `\`, `\\`)
	text = strings.ReplaceAll(text, `"""`, `\"\"\"`)
	if strings.HasSuffix(text, `"`) {
		text += " "
	}
	ls := strings.Split(text, "\n")
	for i := 1; i < len(ls); i++ {
		if ls[i] != "" {
			ls[i] = indent + ls[i]
		}
	}
	if len(ls) == 1 {
		return `"""` + ls[0] + `"""`
	}
	return `"""` + strings.Join(ls, "\n") + "\n" + indent + `"""`
}

func lines(s string) []string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	out := strings.Split(s, "\n")
	for i, l := range out {
		out[i] = strings.TrimRight(l, " \t")
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func pyString(s string) string {
	out, err := json.Marshal(s)
	if err != nil {
		return `""`
	}
	// JSON string escapes are valid Python string escapes.
	return string(out)
}

func pyLiteral(v any) string {
	switch v := v.(type) {
	case string:
		return pyString(v)
	case bool:
		if v {
			return "True"
		}
		return "False"
	}
	return ir.EnumString(v)
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
