package event

import (
	"encoding/json"
	"fmt"
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
