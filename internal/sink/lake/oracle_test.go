package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
)

// oracleRow is how the lake built a row before it wrote columns from the
// record bytes: decode the envelope and its data with encoding/json, then map
// the values to a map per row. The tests compare the two.
func oracleRow(t *table, e *event.Envelope) (map[string]any, error) {
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber() // integers beyond 2^53 stay exact
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("decoding envelope data: %w", err)
	}
	key, _ := contract.ParseURI(e.Schema)
	// The envelope columns store the members their IR column names, read here
	// from the envelope's JSON form as encoding/json writes it.
	js, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding the envelope: %w", err)
	}
	var members map[string]any
	if err := json.Unmarshal(js, &members); err != nil {
		return nil, fmt.Errorf("decoding the envelope: %w", err)
	}
	row := map[string]any{}
	for _, c := range t.model.Table.Columns {
		if !c.Envelope {
			continue
		}
		var v any = members
		for _, name := range strings.Split(c.Member, ".") {
			if obj, ok := v.(map[string]any); ok {
				v = obj[name]
			} else {
				v = nil
			}
		}
		switch {
		case c.Member == "schema":
			v = key.Version.String()
		case v == nil:
		case c.Type == ir.Timestamp:
			at, err := time.Parse(time.RFC3339Nano, v.(string))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Member, err)
			}
			v = at.UTC().UnixMicro()
		case c.Type == ir.JSON:
			js, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encoding %s: %w", c.Member, err)
			}
			v = string(js)
		case c.Type != ir.String:
			return nil, fmt.Errorf("envelope column %s of type %s is not known to the oracle", c.Name, c.Type)
		}
		if v != nil {
			row[c.Name] = v
		}
	}
	for _, c := range t.model.Table.Columns {
		if c.Envelope {
			continue
		}
		v, err := oracleValue(c, data[c.JSONName])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if v != nil {
			row[c.Name] = v
		}
	}
	return row, nil
}

// oracleValue converts one decoded JSON value to the Go value of its column;
// nil stays nil.
func oracleValue(c *ir.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Type {
	case ir.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		js, err := json.Marshal(v)
		return string(js), err
	case ir.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not an integer")
		}
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64() // 1.0 is an integer in JSON Schema
			if ferr != nil || f != float64(int64(f)) {
				return nil, fmt.Errorf("not a 64-bit integer")
			}
			i = int64(f)
		}
		return i, nil
	case ir.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("not a finite number")
		}
		return f, nil
	case ir.Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("not a boolean")
		}
		return b, nil
	case ir.Timestamp:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a date-time string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("not an RFC 3339 date-time")
		}
		return t.UTC().UnixMicro(), nil
	case ir.Date:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a date string")
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("not a date YYYY-MM-DD")
		}
		return int32(t.Unix() / 86400), nil
	case ir.Record:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		out := map[string]any{}
		for _, f := range c.Fields {
			fv, err := oracleValue(f, m[f.JSONName])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if fv != nil {
				out[f.Name] = fv
			}
		}
		return out, nil
	case ir.List:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("not an array")
		}
		out := make([]any, 0, len(arr))
		for i, item := range arr {
			iv, err := oracleValue(c.Elem, item)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, iv)
		}
		return out, nil
	default:
		js, err := json.Marshal(v)
		return string(js), err
	}
}
