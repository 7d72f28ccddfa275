package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Records in the buffer start with one byte saying what follows, so that accepted
// events and bad rows share one durable queue and one group commit.
const (
	recordEnvelope byte = 'E'
	recordBadRow   byte = 'B'
)

// EncodeEnvelope encodes an envelope as a buffer record.
func EncodeEnvelope(e *Envelope) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	return append([]byte{recordEnvelope}, b...), nil
}

// EncodeBadRow encodes a bad row as a buffer record.
func EncodeBadRow(b *BadRow) ([]byte, error) {
	js, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding bad row: %w", err)
	}
	return append([]byte{recordBadRow}, js...), nil
}

// DecodeRecord decodes a buffer record into exactly one of an envelope or a bad row.
func DecodeRecord(rec []byte) (*Envelope, *BadRow, error) {
	if len(rec) == 0 {
		return nil, nil, fmt.Errorf("decoding record: empty record")
	}
	switch rec[0] {
	case recordEnvelope:
		var e Envelope
		if err := json.Unmarshal(rec[1:], &e); err != nil {
			return nil, nil, fmt.Errorf("decoding envelope record: %w", err)
		}
		return &e, nil, nil
	case recordBadRow:
		var b BadRow
		if err := json.Unmarshal(rec[1:], &b); err != nil {
			return nil, nil, fmt.Errorf("decoding bad row record: %w", err)
		}
		return nil, &b, nil
	}
	return nil, nil, fmt.Errorf("decoding record: unknown record type %q", rec[0])
}

// IsEnvelopeRecord reports whether a buffer record holds an envelope (not a bad
// row), without decoding it.
func IsEnvelopeRecord(rec []byte) bool { return len(rec) > 0 && rec[0] == recordEnvelope }

// IsBadRowRecord reports whether a buffer record holds a bad row, without
// decoding it.
func IsBadRowRecord(rec []byte) bool { return len(rec) > 0 && rec[0] == recordBadRow }

// BadRowID returns the id of the bad row in a buffer record without decoding
// the rest of it: the encoders write "v" and then "id" first, and an id needs
// no escaping; any other record is decoded to find it.
func BadRowID(rec []byte) (string, error) {
	if !IsBadRowRecord(rec) {
		return "", fmt.Errorf("decoding record: not a bad row")
	}
	b := rec[1:]
	if rest, ok := bytes.CutPrefix(b, []byte(`{"v":`)); ok {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"id":"`)); ok && i > 0 {
			if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 && utf8.Valid(rest[:end]) {
				return string(rest[:end]), nil
			}
		}
	}
	var row struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &row); err != nil {
		return "", fmt.Errorf("decoding bad row record: %w", err)
	}
	return row.ID, nil
}
