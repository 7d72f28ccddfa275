package event

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// EncodeEnvelopeRaw is EncodeEnvelope for the collector's hot path: it writes
// the envelope without reflection and embeds Data and each context's Data as
// they are, without scanning them again. They must be compact, valid JSON (the
// collector's are: a validated event with its scrubbed values spliced in, or
// encoder output). The record decodes to the same envelope as EncodeEnvelope's;
// the bytes are the same too unless Data holds '<', '>', '&', U+2028 or U+2029,
// which EncodeEnvelope escapes.
func EncodeEnvelopeRaw(e *Envelope) ([]byte, error) {
	return AppendEnvelopeRaw(nil, e)
}

// AppendEnvelopeRaw appends the record EncodeEnvelopeRaw returns to dst, so that
// a caller encoding many envelopes can reuse one buffer. On error it returns dst
// unchanged.
func AppendEnvelopeRaw(dst []byte, e *Envelope) ([]byte, error) {
	n := 320 + len(e.Data) + 96*len(e.Scrubbed)
	for _, c := range e.Contexts {
		n += len(c.Schema) + len(c.Data) + 24
	}
	b := slices.Grow(dst, n)
	b = append(b, recordEnvelope)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = appendKey(b, "event_id")
	b = AppendString(b, e.EventID)
	b = appendKey(b, "schema")
	b = AppendString(b, e.Schema)
	var err error
	if b, err = appendTime(b, "received_at", e.ReceivedAt); err != nil {
		return dst, err
	}
	if b, err = appendProducerTimes(b, e.SentAt, e.DeviceCreatedAt, e.TrueTimestamp); err != nil {
		return dst, err
	}
	if b, err = appendTime(b, "event_time", e.EventTime); err != nil {
		return dst, err
	}
	b = appendSource(b, e.Source)
	b = append(b, `,"validation":{"outcome":`...)
	b = AppendString(b, e.Validation.Outcome)
	b = appendOptional(b, "validator", e.Validation.Validator)
	b = append(b, '}')
	b = appendKey(b, "data")
	b = appendRaw(b, e.Data)
	if len(e.Contexts) > 0 {
		b = appendKey(b, "contexts")
		b = append(b, '[')
		for i, c := range e.Contexts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"schema":`...)
			b = AppendString(b, c.Schema)
			b = appendKey(b, "data")
			b = appendRaw(b, c.Data)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.Scrubbed) > 0 {
		b = appendKey(b, "scrubbed")
		b = append(b, '[')
		for i, a := range e.Scrubbed {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"pointer":`...)
			b = AppendString(b, a.Pointer)
			b = appendOptional(b, "entity", a.Entity)
			b = appendKey(b, "kind")
			b = AppendString(b, a.Kind)
			b = appendKey(b, "handling")
			b = AppendString(b, a.Handling)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendSource writes `,"source":{...}`.
func appendSource(b []byte, s Source) []byte {
	b = appendKey(b, "source")
	b = append(b, `{"protocol":`...)
	b = AppendString(b, s.Protocol)
	b = appendOptional(b, "app", s.App)
	b = appendOptional(b, "platform", s.Platform)
	b = appendKey(b, "collector")
	b = AppendString(b, s.Collector)
	b = appendOptional(b, "tracker", s.Tracker)
	return append(b, '}')
}

// appendProducerTimes writes the producer's times that are set.
func appendProducerTimes(b []byte, sent, device, trueTS *time.Time) ([]byte, error) {
	for _, t := range []struct {
		key string
		t   *time.Time
	}{{"sent_at", sent}, {"device_created_at", device}, {"true_timestamp", trueTS}} {
		if t.t != nil {
			var err error
			if b, err = appendTime(b, t.key, *t.t); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// appendKey writes `,"key":`; keys are plain ASCII.
func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return AppendString(appendKey(b, key), s)
}

// appendRaw writes raw JSON, null when empty (as json.Marshal writes a nil
// RawMessage).
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

func appendTime(b []byte, key string, t time.Time) ([]byte, error) {
	b = appendKey(b, key)
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %s: %w", key, err)
	}
	return append(b, '"'), nil
}

// AppendString appends s quoted exactly as json.Marshal quotes it (HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD), for
// encoders written without reflection.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// eight bytes at a time while none needs a look
		for i+8 <= len(s) && quoteMask(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) == 0 {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// quoteMask is not zero when one of the eight bytes of x needs more than a copy
// in a JSON string as json.Marshal writes it: a control character, '"', '\\',
// '<', '>', '&', or a byte of a multi-byte character.
func quoteMask(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	eq := func(c uint64) uint64 { y := x ^ (lo * c); return (y - lo) &^ y }
	return ((x-lo*0x20)&^x | eq('"') | eq('\\') | eq('<') | eq('>') | eq('&') | x) & hi
}

// AppendBadRowRaw appends the record of a bad row to dst, as EncodeBadRow
// encodes it, without reflection, embedding Payload as it is: it must be
// compact, valid JSON (the collector builds it so). The bytes are the same as
// EncodeBadRow's unless Payload holds '<', '>', '&', U+2028 or U+2029, which
// EncodeBadRow escapes. On error it returns dst unchanged.
func AppendBadRowRaw(dst []byte, r *BadRow) ([]byte, error) {
	n := 256 + len(r.Payload) + len(r.PayloadText) + len(r.PayloadWithheld)
	for _, f := range r.Failures {
		n += 64 + len(f.Pointer) + len(f.Keyword) + len(f.KeywordLocation) + len(f.Message) + len(f.Entity)
	}
	b := slices.Grow(dst, n)
	b = append(b, recordBadRow)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.V), 10)
	b = appendKey(b, "id")
	b = AppendString(b, r.ID)
	var err error
	if b, err = appendTime(b, "received_at", r.ReceivedAt); err != nil {
		return dst, err
	}
	b = appendKey(b, "reason")
	b = AppendString(b, string(r.Reason))
	b = appendOptional(b, "schema", r.Schema)
	b = appendOptional(b, "event_id", r.EventID)
	b = appendSource(b, r.Source)
	b = appendKey(b, "failures")
	if r.Failures == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range r.Failures {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"pointer":`...)
			b = AppendString(b, f.Pointer)
			b = appendOptional(b, "keyword", f.Keyword)
			b = appendOptional(b, "keyword_location", f.KeywordLocation)
			b = appendKey(b, "message")
			b = AppendString(b, f.Message)
			b = appendOptional(b, "entity", f.Entity)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(r.Payload) > 0 {
		b = appendKey(b, "payload")
		b = append(b, r.Payload...)
	}
	b = appendOptional(b, "payload_text", r.PayloadText)
	b = appendOptional(b, "payload_withheld", r.PayloadWithheld)
	for _, l := range []struct {
		key  string
		ptrs []string
	}{{"sealed", r.Sealed}, {"redacted", r.Redacted}} {
		if len(l.ptrs) == 0 {
			continue
		}
		b = appendKey(b, l.key)
		b = append(b, '[')
		for i, p := range l.ptrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, p)
		}
		b = append(b, ']')
	}
	if b, err = appendProducerTimes(b, r.SentAt, r.DeviceCreatedAt, r.TrueTimestamp); err != nil {
		return dst, err
	}
	return append(b, '}'), nil
}
