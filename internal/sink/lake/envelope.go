package lake

import (
	"errors"
	"fmt"

	"github.com/accord-dev/accord/internal/jsonscan"
)

// envelope locates the members of a buffer record's envelope that the lake
// stores: strings and times as their JSON text (quotes included), nil when
// absent or null; data and contexts as JSON.
type envelope struct {
	rec []byte
	// data is where the data object starts in rec.
	data                                                       int
	id, schema, receivedAt, sentAt, deviceCreatedAt, eventTime []byte
	protocol, app, platform, collector, contexts               []byte
}

// parse scans an envelope record ('E' and the envelope's JSON, as
// event.EncodeEnvelopeRaw and event.EncodeEnvelope write it). Member names are
// matched exactly: the encoders write them so.
//
// onData, when set, is called with the start of every data member that is an
// object, with the members before it already parsed: it returns the object's
// end when it has read the object itself (so that the object is scanned once),
// or -1 to leave it to parse. parse returns onData's error as it is.
func (e *envelope) parse(rec []byte, onData func(start int) (end int, err error)) error {
	*e = envelope{rec: rec, data: -1}
	b := rec
	start := jsonscan.Space(b, 1)
	if start >= len(b) || b[start] != '{' {
		return errors.New("decoding envelope record: not an object")
	}
	var dataErr error
	end, err := jsonscan.Walk(b, start, func(key []byte, plain bool, s int) (int, error) {
		if onData != nil && plain && b[s] == '{' && string(key) == "data" {
			e.data = s
			end, err := onData(s)
			if err != nil {
				dataErr = err
				return end, err
			}
			if end >= 0 {
				return end, nil
			}
		}
		end, err := jsonscan.Value(b, s)
		if err != nil || !plain { // none of the members the lake reads is escaped
			return end, err
		}
		return end, e.member(key, s, end)
	})
	if dataErr != nil {
		return dataErr
	}
	if err == nil && jsonscan.Space(b, end) != len(b) {
		err = jsonscan.SyntaxAt(end)
	}
	if err != nil {
		return fmt.Errorf("decoding envelope record: %w", err)
	}
	if e.id == nil || e.schema == nil || e.eventTime == nil || e.receivedAt == nil {
		return errors.New("decoding envelope record: event_id, schema, received_at or event_time missing")
	}
	return nil
}

// member reads the envelope member key, whose value is rec[s:end].
func (e *envelope) member(key []byte, s, end int) error {
	b := e.rec
	str := func(dst *[]byte, key []byte, s, end int) error {
		switch b[s] {
		case '"':
			*dst = b[s:end]
		case 'n':
			*dst = nil
		default:
			return fmt.Errorf("decoding envelope record: %s is not a string", key)
		}
		return nil
	}
	switch string(key) {
	case "event_id":
		return str(&e.id, key, s, end)
	case "schema":
		return str(&e.schema, key, s, end)
	case "received_at":
		return str(&e.receivedAt, key, s, end)
	case "sent_at":
		return str(&e.sentAt, key, s, end)
	case "device_created_at":
		return str(&e.deviceCreatedAt, key, s, end)
	case "event_time":
		return str(&e.eventTime, key, s, end)
	case "data":
		e.data = -1
		if b[s] == '{' {
			e.data = s
		} else if b[s] != 'n' {
			return errors.New("decoding envelope record: data is not an object")
		}
	case "contexts":
		e.contexts = nil
		if b[s] == '[' && b[s+1] != ']' {
			e.contexts = b[s:end]
		}
	case "source":
		if b[s] != '{' {
			return nil
		}
		_, err := jsonscan.Members(b, s, func(key []byte, plain bool, s, end int) error {
			if !plain {
				return nil
			}
			switch string(key) {
			case "protocol":
				return str(&e.protocol, key, s, end)
			case "app":
				return str(&e.app, key, s, end)
			case "platform":
				return str(&e.platform, key, s, end)
			case "collector":
				return str(&e.collector, key, s, end)
			}
			return nil
		}, 1)
		return err
	}
	return nil
}
