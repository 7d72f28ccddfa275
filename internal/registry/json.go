package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// encodeDoc encodes a contract document (or a document derived from it, such as
// the stored shape) as indented JSON, with object keys in the order the contract's
// author wrote them, so that "$schema", "self" and "description" come first as in
// the file. Keys the source does not have (added by a derivation) follow their
// siblings in name order.
func encodeDoc(c *contract.Contract, doc any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeOrdered(&buf, c, doc, ""); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", c.Key, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", c.Key, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func writeOrdered(buf *bytes.Buffer, c *contract.Contract, v any, pointer string) error {
	switch n := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		pos := make(map[string]contract.Pos, len(n))
		for k := range n {
			keys = append(keys, k)
			pos[k] = c.Pos(pointer + "/" + pointerEscaper.Replace(k))
		}
		sort.SliceStable(keys, func(i, j int) bool {
			a, b := pos[keys[i]], pos[keys[j]]
			if a != b {
				return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
			}
			return keys[i] < keys[j]
		})
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeScalar(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeOrdered(buf, c, n[k], pointer+"/"+pointerEscaper.Replace(k)); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, item := range n {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeOrdered(buf, c, item, fmt.Sprintf("%s/%d", pointer, i)); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		return writeScalar(buf, v)
	}
	return nil
}

// writeScalar encodes a JSON scalar without HTML escaping, so that patterns such
// as "^<[a-z]+>$" read as written.
func writeScalar(buf *bytes.Buffer, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
	return nil
}

// marshal encodes a response value as indented JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshalLine encodes v as one line of NDJSON.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
