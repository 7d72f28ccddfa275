package lake

import (
	"errors"
	"fmt"

	"github.com/accord-dev/accord/internal/jsonscan"
)

// The envelope members the lake reads, as indexes into envelope.m.
const (
	mEventID = iota
	mSchema
	mReceivedAt
	mSentAt
	mDeviceCreatedAt
	mTrueTimestamp
	mEventTime
	mProtocol
	mApp
	mPlatform
	mCollector
	mTracker
	mContexts
	numMembers
)

// memberPaths names each member the lake reads by its path in the envelope's
// JSON form, as ir.Column.Member names the member an envelope column stores:
// newTable maps the IR's envelope columns through it, so an envelope column the
// lake cannot read is an error, never a column left empty.
var memberPaths = [numMembers]string{
	mEventID: "event_id", mSchema: "schema", mReceivedAt: "received_at", mSentAt: "sent_at",
	mDeviceCreatedAt: "device_created_at", mTrueTimestamp: "true_timestamp", mEventTime: "event_time",
	mProtocol: "source.protocol", mApp: "source.app", mPlatform: "source.platform",
	mCollector: "source.collector", mTracker: "source.tracker", mContexts: "contexts",
}

// envelope locates the members of a buffer record's envelope that the lake
// stores: strings and times as their JSON text (quotes included), nil when
// absent or null; contexts as JSON (nil when absent, null or empty). data is
// where the data object starts in rec.
type envelope struct {
	rec  []byte
	data int
	m    [numMembers][]byte
}

// parse scans an envelope record ('E' and the envelope's JSON, as
// event.EncodeEnvelopeRaw and event.EncodeEnvelope write it) once. Member names
// are matched exactly: the encoders write them so.
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
		if !plain { // none of the members the lake reads is escaped
			return jsonscan.Value(b, s)
		}
		switch string(key) {
		case "data":
			if onData != nil && b[s] == '{' {
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
		case "source":
			if b[s] == '{' {
				// Read in the scan that finds its end.
				return jsonscan.Members(b, s, e.source, 1)
			}
		}
		end, err := jsonscan.Value(b, s)
		if err != nil {
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
	if e.m[mEventID] == nil || e.m[mSchema] == nil || e.m[mEventTime] == nil || e.m[mReceivedAt] == nil {
		return errors.New("decoding envelope record: event_id, schema, received_at or event_time missing")
	}
	return nil
}

// str sets member i to the string rec[s:end] (nil for null).
func (e *envelope) str(i int, key []byte, s, end int) error {
	switch e.rec[s] {
	case '"':
		e.m[i] = e.rec[s:end]
	case 'n':
		e.m[i] = nil
	default:
		return fmt.Errorf("decoding envelope record: %s is not a string", key)
	}
	return nil
}

// member reads the top-level envelope member key, whose value is rec[s:end].
func (e *envelope) member(key []byte, s, end int) error {
	b := e.rec
	switch string(key) {
	case "event_id":
		return e.str(mEventID, key, s, end)
	case "schema":
		return e.str(mSchema, key, s, end)
	case "received_at":
		return e.str(mReceivedAt, key, s, end)
	case "sent_at":
		return e.str(mSentAt, key, s, end)
	case "device_created_at":
		return e.str(mDeviceCreatedAt, key, s, end)
	case "true_timestamp":
		return e.str(mTrueTimestamp, key, s, end)
	case "event_time":
		return e.str(mEventTime, key, s, end)
	case "data":
		e.data = -1
		if b[s] == '{' {
			e.data = s
		} else if b[s] != 'n' {
			return errors.New("decoding envelope record: data is not an object")
		}
	case "contexts":
		e.m[mContexts] = nil
		if b[s] == '[' && b[s+1] != ']' {
			e.m[mContexts] = b[s:end]
		}
	}
	return nil
}

// source reads a member of the envelope's source object.
func (e *envelope) source(key []byte, plain bool, s, end int) error {
	if !plain {
		return nil
	}
	switch string(key) {
	case "protocol":
		return e.str(mProtocol, key, s, end)
	case "app":
		return e.str(mApp, key, s, end)
	case "platform":
		return e.str(mPlatform, key, s, end)
	case "collector":
		return e.str(mCollector, key, s, end)
	case "tracker":
		return e.str(mTracker, key, s, end)
	}
	return nil
}
