package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	row := map[string]any{}
	for _, c := range t.model.Table.Columns {
		if !c.Envelope {
			continue
		}
		var v any
		switch c.Name {
		case ir.ColEventID:
			v = e.EventID
		case ir.ColContractVersion:
			v = key.Version.String()
		case ir.ColEventTime:
			v = e.EventTime.UTC().UnixMicro()
		case ir.ColReceivedAt:
			v = e.ReceivedAt.UTC().UnixMicro()
		case "sent_at":
			v = oracleTime(e.SentAt)
		case "device_created_at":
			v = oracleTime(e.DeviceCreatedAt)
		case "source_protocol":
			v = e.Source.Protocol
		case "source_app":
			v = oracleString(e.Source.App)
		case "source_platform":
			v = oracleString(e.Source.Platform)
		case "source_collector":
			v = e.Source.Collector
		case "contexts":
			if len(e.Contexts) > 0 {
				js, err := json.Marshal(e.Contexts)
				if err != nil {
					return nil, fmt.Errorf("encoding contexts: %w", err)
				}
				v = string(js)
			}
		default:
			return nil, fmt.Errorf("envelope column %s is not known to the lake; update internal/sink/lake with internal/codegen/ir", c.Name)
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

func oracleTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().UnixMicro()
}

func oracleString(s string) any {
	if s == "" {
		return nil
	}
	return s
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
