package lake

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// A table's plan is compiled once per contract MODEL (and registry snapshot)
// from the IR: one node per column, record field and list element, each knowing
// its Parquet leaf columns and definition level. A row is written by walking the
// envelope's data once and appending a parquet.Value (with its repetition and
// definition levels) to the value list of each leaf column; the lists go to the
// file's column writers every few hundred rows.

// colPlan is one column, record field or list element of a table.
type colPlan struct {
	col      *ir.Column
	optional bool
	// def is the definition level of a present value of this node.
	def int
	// leaf is the Parquet column index of a scalar node.
	leaf int
	kind parquet.Kind
	// leaves are the Parquet column indexes of every scalar under the node.
	leaves []int
	// fields are a record's fields; byName finds one by its JSON name.
	fields []*colPlan
	byName map[string]int
	// after[i] guesses the field whose member follows field i's in a record
	// (after[len(fields)]: the first member), as it did in the last record:
	// producers and the collector write members in the same order every time,
	// so most members are found by comparing one name instead of hashing it.
	// -1 means no guess.
	after []int
	// spans is scratch space for a record's field values while a row is written.
	spans []span
	// elem and rep are a list's element and the repetition level of the
	// elements after the first.
	elem *colPlan
	rep  int
}

// span locates a value in the record; start < 0 means absent.
type span struct{ start, end int }

var absent = span{-1, -1}

// compileColumns builds the nodes of the data columns (not the envelope ones),
// as the fields of one record, and checks the levels it derives against the
// Parquet schema's.
func compileColumns(schema *parquet.Schema, cols []*ir.Column) (*colPlan, error) {
	data := &ir.Column{Name: "data", Type: ir.Record}
	for _, c := range cols {
		if !c.Envelope {
			data.Fields = append(data.Fields, c)
		}
	}
	return compileNode(schema, data, nil, 0, 0)
}

func compileNode(schema *parquet.Schema, c *ir.Column, path []string, def, rep int) (*colPlan, error) {
	n := &colPlan{col: c, optional: c.Nullable || c.Type == ir.List, def: def}
	if n.optional {
		n.def++
	}
	switch c.Type {
	case ir.Record:
		n.byName = map[string]int{}
		for _, f := range c.Fields {
			fn, err := compileNode(schema, f, append(path[:len(path):len(path)], f.Name), n.def, rep)
			if err != nil {
				return nil, err
			}
			n.byName[f.JSONName] = len(n.fields)
			n.fields = append(n.fields, fn)
			n.leaves = append(n.leaves, fn.leaves...)
		}
		n.spans = make([]span, len(n.fields))
		n.after = make([]int, len(n.fields)+1)
		for i := range n.after {
			n.after[i] = -1
		}
	case ir.List:
		n.rep = rep + 1
		// optional <name> (LIST) { repeated list { element } }
		e, err := compileNode(schema, c.Elem, append(path[:len(path):len(path)], "list", "element"), n.def+1, n.rep)
		if err != nil {
			return nil, err
		}
		n.elem, n.leaves = e, e.leaves
	default:
		leaf, ok := schema.Lookup(path...)
		if !ok {
			return nil, fmt.Errorf("lake schema has no column %v", path)
		}
		if leaf.MaxDefinitionLevel != n.def || leaf.MaxRepetitionLevel != rep {
			return nil, fmt.Errorf("lake column %v: levels %d/%d, Parquet schema says %d/%d", path, n.def, rep, leaf.MaxDefinitionLevel, leaf.MaxRepetitionLevel)
		}
		n.leaf, n.leaves, n.kind = leaf.ColumnIndex, []int{leaf.ColumnIndex}, leaf.Node.Type().Kind()
	}
	return n, nil
}

// rows collects the values of rows for each leaf column until they are
// written to the file's column writers.
type rows struct {
	vals [][]parquet.Value
	// text holds unquoted strings that the values refer to.
	text []byte
	n    int
}

func newRows(leaves int) *rows { return &rows{vals: make([][]parquet.Value, leaves)} }

func (r *rows) add(leaf int, v parquet.Value, rep, def int) {
	r.vals[leaf] = append(r.vals[leaf], v.Level(rep, def, leaf))
}

// nulls records a missing value at definition level def for every leaf of n.
func (r *rows) nulls(n *colPlan, rep, def int) {
	for _, l := range n.leaves {
		r.add(l, parquet.Value{}, rep, def)
	}
}

// zeros records the zero value of a required node, whose fields are null
// when optional and zero otherwise.
func (r *rows) zeros(n *colPlan, rep int) {
	switch {
	case n.fields != nil:
		for _, f := range n.fields {
			if f.optional {
				r.nulls(f, rep, n.def)
			} else {
				r.zeros(f, rep)
			}
		}
	case n.elem == nil:
		r.add(n.leaf, parquet.ZeroValue(n.kind), rep, n.def)
	}
}

// mark and rollback undo a row that failed half way.
func (r *rows) mark(marks []int) []int {
	marks = marks[:0]
	for _, v := range r.vals {
		marks = append(marks, len(v))
	}
	return marks
}

func (r *rows) rollback(marks []int) {
	for i, m := range marks {
		clear(r.vals[i][m:])
		r.vals[i] = r.vals[i][:m]
	}
}

// flush writes the collected rows to the column writers.
func (r *rows) flush(cols []*parquet.ColumnWriter) error {
	if r.n == 0 {
		return nil
	}
	for i, v := range r.vals {
		if _, err := cols[i].WriteRowValues(v); err != nil {
			return fmt.Errorf("writing column %d: %w", i, err)
		}
		clear(v)
		r.vals[i] = v[:0]
	}
	r.text, r.n = r.text[:0], 0
	return nil
}

// value writes the value of n found at s in b (absent or null included).
func (r *rows) value(n *colPlan, b []byte, s span, rep, def int) error {
	if s.start < 0 || b[s.start] == 'n' {
		if !n.optional {
			// The contract requires it (validation saw it) unless an older version
			// of the table's MODEL did not: stored as the zero value, as
			// parquet-go's reflective writer stores a missing required value.
			r.zeros(n, rep)
			return nil
		}
		r.nulls(n, rep, def)
		return nil
	}
	switch n.col.Type {
	case ir.Record:
		if b[s.start] != '{' {
			return fmt.Errorf("%s: not an object", n.col.Name)
		}
		_, err := r.record(n, b, s.start, rep)
		return err
	case ir.List:
		if b[s.start] != '[' {
			return fmt.Errorf("%s: not an array", n.col.Name)
		}
		first := true
		_, err := jsonscan.Elements(b, s.start, func(start, end int) error {
			rr := n.rep
			if first {
				rr, first = rep, false
			}
			if err := r.value(n.elem, b, span{start, end}, rr, n.def+1); err != nil {
				return fmt.Errorf("%s: %w", n.col.Name, err)
			}
			return nil
		}, 0)
		if err != nil {
			return err
		}
		if first { // an empty list
			r.nulls(n, rep, n.def)
		}
		return nil
	}
	v, err := r.scalar(n.col.Type, b[s.start:s.end])
	if err != nil {
		return fmt.Errorf("%s: %w", n.col.Name, err)
	}
	r.add(n.leaf, v, rep, n.def)
	return nil
}

// write writes the columns of the envelope's data, the fields of the record
// node n (null when the data is null).
func (n *colPlan) write(r *rows, e *envelope) error {
	if e.data < 0 {
		for _, f := range n.fields {
			if err := r.value(f, e.rec, absent, 0, 0); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := r.record(n, e.rec, e.data, 0)
	return err
}

// record writes the fields of the object at b[at] (the last of repeated keys
// wins, as when decoding into a map) and returns the object's end.
func (r *rows) record(n *colPlan, b []byte, at, rep int) (int, error) {
	for i := range n.spans {
		n.spans[i] = absent
	}
	var key []byte
	prev := len(n.fields)
	end, err := jsonscan.Members(b, at, func(k []byte, plain bool, start, end int) error {
		if !plain {
			key = jsonscan.AppendUnquoted(key[:0], k)
			k = key
		}
		i := n.after[prev]
		if i < 0 || n.fields[i].col.JSONName != string(k) {
			var ok bool
			if i, ok = n.byName[string(k)]; !ok {
				return nil
			}
			n.after[prev] = i
		}
		n.spans[i] = span{start, end}
		prev = i
		return nil
	}, 0)
	if err != nil {
		return end, err
	}
	for i, f := range n.fields {
		if err := r.value(f, b, n.spans[i], rep, n.def); err != nil {
			return end, err
		}
	}
	return end, nil
}

// scalar converts a JSON scalar (or, for string and JSON columns, any value) to
// the Parquet value of its column, as decoding it with encoding/json would
// give.
func (r *rows) scalar(t ir.Logical, v []byte) (parquet.Value, error) {
	switch t {
	case ir.String, ir.JSON:
		if v[0] == '"' && t == ir.String {
			return parquet.ByteArrayValue(r.str(v)), nil
		}
		return parquet.ByteArrayValue(v), nil // the JSON text, compact as stored
	case ir.Int64:
		i, err := parseInt(v)
		return parquet.Int64Value(i), err
	case ir.Float64:
		if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return parquet.Value{}, fmt.Errorf("not a number")
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("not a finite number")
		}
		return parquet.DoubleValue(f), nil
	case ir.Bool:
		switch v[0] {
		case 't':
			return parquet.BooleanValue(true), nil
		case 'f':
			return parquet.BooleanValue(false), nil
		}
		return parquet.Value{}, fmt.Errorf("not a boolean")
	case ir.Timestamp:
		if v[0] != '"' {
			return parquet.Value{}, fmt.Errorf("not a date-time string")
		}
		ts, err := parseTime(r.str(v))
		if err != nil {
			return parquet.Value{}, fmt.Errorf("not an RFC 3339 date-time")
		}
		return parquet.Int64Value(ts.UnixMicro()), nil
	case ir.Date:
		if v[0] != '"' {
			return parquet.Value{}, fmt.Errorf("not a date string")
		}
		d, err := time.Parse(time.DateOnly, string(r.str(v)))
		if err != nil {
			return parquet.Value{}, fmt.Errorf("not a date YYYY-MM-DD")
		}
		return parquet.Int32Value(int32(d.Unix() / 86400)), nil
	}
	return parquet.Value{}, fmt.Errorf("column type %s is not known to the lake", t)
}

// str returns the content of the checked JSON string v: the bytes of the
// record when it needs no unquoting, else unquoted into r.text.
func (r *rows) str(v []byte) []byte {
	_, plain, _ := jsonscan.String(v, 0) // checked when the record was scanned
	if plain {
		return v[1 : len(v)-1]
	}
	start := len(r.text)
	r.text = jsonscan.AppendUnquoted(r.text, v[1:len(v)-1])
	return r.text[start:len(r.text):len(r.text)]
}

// parseInt reads a JSON number as a 64-bit integer: 1.0 and 1e3 are integers
// in JSON Schema; fractions and numbers beyond 64 bits are not.
func parseInt(v []byte) (int64, error) {
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, fmt.Errorf("not an integer")
	}
	neg, digits := v[0] == '-', v
	if neg {
		digits = v[1:]
	}
	if len(digits) > 0 && len(digits) <= 18 {
		var n int64
		simple := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				simple = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if simple {
			if neg {
				n = -n
			}
			return n, nil
		}
	}
	if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, fmt.Errorf("not a 64-bit integer")
	}
	return int64(f), nil
}

// parseTime reads an RFC 3339 date-time.
func parseTime(s []byte) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, string(s))
}
