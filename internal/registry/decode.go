package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Shape is how a body or file holds its events.
type Shape int

// The shapes DecodeDocuments recognises.
const (
	// ShapeSingle is one JSON document (which may span many lines).
	ShapeSingle Shape = iota
	// ShapeArray is one JSON array whose items are the documents.
	ShapeArray
	// ShapeLines is NDJSON: one document per non-blank line.
	ShapeLines
)

// Document is one JSON document of a body or file. Value holds JSON values as the
// validators take them (map[string]any, []any, json.Number, string, bool, nil).
type Document struct {
	// Line is the 1-based line the document starts on in NDJSON, 0 otherwise.
	Line  int
	Value any
	// Raw is the document's bytes (surrounding whitespace may remain); nil when
	// Err is set.
	Raw []byte
	// Err is set when the document is not valid JSON; its message gives the
	// position and never repeats the input.
	Err error
}

// DecodeDocuments splits b into JSON documents. b is one document, or NDJSON when
// its first non-blank line is a complete document and more follow; with
// expandArray, a top-level array is a list of documents. A malformed document
// does not stop the others in NDJSON; each carries its own Err.
func DecodeDocuments(b []byte, expandArray bool) (Shape, []Document) {
	if len(bytes.TrimSpace(b)) == 0 {
		return ShapeSingle, []Document{{Err: errors.New("the input is empty: send one JSON document, an array of them or NDJSON")}}
	}
	v, err := decodeOne(b, false)
	if err == nil {
		if arr, ok := v.([]any); ok && expandArray {
			var raws []json.RawMessage
			if err := json.Unmarshal(b, &raws); err != nil || len(raws) != len(arr) {
				// b was just decoded as this array: splitting it cannot fail
				return ShapeSingle, []Document{{Err: fmt.Errorf("splitting the array into documents: %v", err)}}
			}
			docs := make([]Document, len(arr))
			for i, item := range arr {
				docs[i] = Document{Value: item, Raw: raws[i]}
			}
			return ShapeArray, docs
		}
		return ShapeSingle, []Document{{Value: v, Raw: b}}
	}
	lines := bytes.Split(b, []byte("\n"))
	first, nonBlank := -1, 0
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) > 0 {
			if first < 0 {
				first = i
			}
			nonBlank++
		}
	}
	if nonBlank < 2 {
		return ShapeSingle, []Document{{Err: err}}
	}
	if _, ferr := decodeOne(lines[first], true); ferr != nil {
		// Not NDJSON: one document, broken somewhere.
		return ShapeSingle, []Document{{Err: err}}
	}
	var docs []Document
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		v, err := decodeOne(l, true)
		d := Document{Line: i + 1, Value: v, Err: err}
		if err == nil {
			d.Raw = l
		}
		docs = append(docs, d)
	}
	return ShapeLines, docs
}

// decodeOne decodes exactly one JSON document, numbers kept exact as json.Number.
// Errors locate the problem by line and column, or by column alone when b is one
// line of NDJSON (whose line the caller reports).
func decodeOne(b []byte, oneLine bool) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxError(b, err, oneLine)
	}
	rest := b[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		return nil, fmt.Errorf("not valid JSON: unexpected data after the document at %s (send one document per line for NDJSON)",
			where(b, dec.InputOffset()+int64(len(rest)-len(trimmed)), oneLine))
	}
	return v, nil
}

// quoted matches the quoted input character that encoding/json puts in its
// messages, which must not reach a response.
var quoted = regexp.MustCompile(`'(?:[^'\\]|\\.)*' ?`)

// syntaxError rewrites a decoding error with a line and column and without the
// offending input.
func syntaxError(b []byte, err error, oneLine bool) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte as read.
		msg := quoted.ReplaceAllString(se.Error(), "")
		return fmt.Errorf("not valid JSON at %s: %s", where(b, se.Offset-1, oneLine), msg)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("not valid JSON: the document ends early at %s", where(b, int64(len(bytes.TrimRight(b, " \t\r\n"))), oneLine))
	default:
		return fmt.Errorf("not valid JSON: %s", quoted.ReplaceAllString(err.Error(), ""))
	}
}

// where formats a byte offset as "line L, column C", or "column C" in one line.
func where(b []byte, off int64, oneLine bool) string {
	line, col := position(b, off)
	if oneLine {
		return fmt.Sprintf("column %d", col)
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
