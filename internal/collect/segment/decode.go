package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// Call types, as Segment names them in a message's "type" and in the routes.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
	// TypeBatch is the route of /v1/batch; it is never a message's type.
	TypeBatch = "batch"
)

// callTypes are the types a message may have, in the order the docs list them.
var callTypes = []string{TypeTrack, TypeIdentify, TypePage, TypeScreen, TypeGroup, TypeAlias}

// MaxMessageBytes bounds one message (one call, or one element of a batch), as
// Segment's API does: 32 KiB. A larger message is rejected on its own with
// payload_too_large; the rest of its batch is processed.
const MaxMessageBytes = 32 << 10

// maxFieldNames bounds the property names a rejected message's bad row lists.
const maxFieldNames = 200

// Request is a decoded request body.
type Request struct {
	// WriteKeys are the distinct write keys the body names ("writeKey" at the top
	// level or in batch messages), for producers that cannot send headers.
	WriteKeys []string
	Messages  []Message
}

// Message is one Segment call, decoded and type-checked but not yet resolved to a
// contract. Only the fields Accord maps are kept; the rest of the message (most of
// "context", "integrations", "writeKey", ...) is dropped here.
type Message struct {
	// Type is one of the call types; "" when the message was rejected before its
	// type was known.
	Type string
	// Event is a track call's event name.
	Event string
	// Name and Category are a page's (or a screen's) name and category.
	Name, Category string
	// UserID, AnonymousID, GroupID (group) and PreviousID (alias) are identifiers:
	// they reach an event only through contract properties (see docs/segment.md).
	UserID, AnonymousID, GroupID, PreviousID string
	// MessageID is the producer's id of the message: the envelope's event id.
	MessageID string
	// Payload is properties (track, page, screen) or traits (identify, group): a
	// JSON object, "{}" when the message had none. Alias has none.
	Payload json.RawMessage
	// IP and UserAgent are context.ip and context.userAgent.
	IP, UserAgent string
	// Library is context.library as "name/version".
	Library string
	// SentAt is the message's (else the batch's) sentAt; DeviceCreatedAt is
	// originalTimestamp when present, else timestamp.
	SentAt, DeviceCreatedAt *time.Time
	// Reject, when set, rejects the message: it could not be decoded.
	Reject *collect.Rejection
	// fieldNames are the names of Payload's members, for the bad row of a message
	// that resolves to no contract (whose values are withheld).
	fieldNames []string
}

// Decode decodes a request body posted to the route of callType (TypeBatch for
// /v1/batch). It returns a *collect.RequestError when the body as a whole is
// unusable (not JSON, not an object, too many messages); a message that is wrong
// on its own is returned with Reject set, so the rest of a batch goes through.
func Decode(body []byte, callType string, lim collect.Limits) (Request, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Request{}, badRequest(event.ReasonMalformedEvent, `the body is empty; send one Segment message as a JSON object, or {"batch": [...]} to /v1/batch`)
	}
	// Nesting allowed on top of the event's own: the batch object, the batch
	// array and the message around properties.
	if _, err := lim.CheckBody(body, 3); err != nil {
		return Request{}, err
	}
	if !json.Valid(body) {
		return Request{}, badRequest(event.ReasonMalformedJSON, "the body is not valid JSON")
	}
	if body[0] != '{' {
		return Request{}, badRequest(event.ReasonMalformedEvent, "the body must be a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return Request{}, badRequest(event.ReasonMalformedJSON, "the body is not a JSON object: "+err.Error())
	}
	keys := keySet{}
	keys.add(top["writeKey"])
	if callType != TypeBatch {
		m := decodeMessage(body, top, callType, batchDefaults{})
		return Request{WriteKeys: keys.list, Messages: []Message{m}}, nil
	}
	rawBatch, ok := top["batch"]
	if !ok || isNull(rawBatch) {
		return Request{}, badRequest(event.ReasonMalformedEvent, `the body has no "batch"; send {"batch": [{"type": "track", ...}, ...]}`)
	}
	var raws []json.RawMessage
	if rawBatch[0] != '[' || json.Unmarshal(rawBatch, &raws) != nil {
		return Request{}, badRequest(event.ReasonMalformedEvent, `"batch" must be an array of messages`)
	}
	if len(raws) > lim.MaxEvents {
		return Request{}, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the batch holds %d messages, more than the limit of %d; send smaller batches (flushAt)", len(raws), lim.MaxEvents)}
	}
	sentAt, _, err := timeField(top, "sentAt")
	if err != nil {
		return Request{}, badRequest(event.ReasonTimestampInvalid, "the batch's "+err.Error())
	}
	defaults := batchDefaults{context: objectMembers(top["context"]), sentAt: sentAt}
	out := make([]Message, len(raws))
	for i, raw := range raws {
		var fields map[string]json.RawMessage
		if len(raw) <= MaxMessageBytes && raw[0] == '{' {
			if err := json.Unmarshal(raw, &fields); err == nil {
				keys.add(fields["writeKey"])
			}
		}
		out[i] = decodeMessage(raw, fields, "", defaults)
	}
	return Request{WriteKeys: keys.list, Messages: out}, nil
}

// batchDefaults are what a batch says for all of its messages.
type batchDefaults struct {
	// context is the batch's context, shallow-merged under each message's own.
	context map[string]json.RawMessage
	sentAt  *time.Time
}

// decodeMessage decodes one message. fields are raw's members, or nil when raw is
// not a JSON object (or too large to look at). callType is the route's type, or ""
// in a batch, where each message names its own.
func decodeMessage(raw []byte, fields map[string]json.RawMessage, callType string, d batchDefaults) Message {
	var m Message
	reject := func(reason event.Reason, msg string) Message {
		m.Reject = &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}
		return m
	}
	if len(raw) > MaxMessageBytes {
		return reject(event.ReasonPayloadTooLarge, fmt.Sprintf("the message is %d bytes, more than Segment's limit of %d bytes per message", len(raw), MaxMessageBytes))
	}
	if fields == nil {
		return reject(event.ReasonMalformedEvent, "the message must be a JSON object")
	}
	var problems []event.Failure
	str := func(name string, dst *string) {
		if err := stringField(fields, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
	}
	id := func(name string, dst *string) {
		if err := idField(fields, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
	}

	m.Type = callType
	if callType == "" {
		var t string
		str("type", &t)
		switch {
		case t == "" && len(problems) == 0:
			return reject(event.ReasonMalformedEvent, `the message has no "type"; each batch message names its call: track, identify, page, screen, group or alias`)
		case len(problems) > 0:
			return reject(event.ReasonMalformedEvent, problems[0].Message)
		case !isCallType(t):
			return reject(event.ReasonMalformedEvent, fmt.Sprintf("the message's type %q is not one of track, identify, page, screen, group, alias", collect.Clip(t, 120)))
		}
		m.Type = t
	}
	str("messageId", &m.MessageID)
	id("userId", &m.UserID)
	id("anonymousId", &m.AnonymousID)

	var ctx map[string]json.RawMessage
	if raw, ok := fields["context"]; ok && !isNull(raw) {
		if raw[0] != '{' {
			problems = append(problems, event.Failure{Message: `"context" must be a JSON object`})
		} else {
			ctx = objectMembers(raw)
		}
	}
	ctxField := func(name string) json.RawMessage {
		if v, ok := ctx[name]; ok {
			return v
		}
		return d.context[name]
	}
	m.IP = looseString(ctxField("ip"))
	m.UserAgent = looseString(ctxField("userAgent"))
	if lib := objectMembers(ctxField("library")); lib != nil {
		name, version := looseString(lib["name"]), looseString(lib["version"])
		switch {
		case name != "" && version != "":
			m.Library = collect.Clip(name, 120) + "/" + collect.Clip(version, 120)
		case name != "":
			m.Library = collect.Clip(name, 120)
		}
	}

	payloadField := ""
	switch m.Type {
	case TypeTrack:
		str("event", &m.Event)
		if m.Event == "" && len(problems) == 0 {
			problems = append(problems, event.Failure{Message: `a track call needs a non-empty "event" name`})
		}
		payloadField = "properties"
	case TypePage, TypeScreen:
		str("name", &m.Name)
		if m.Type == TypePage {
			str("category", &m.Category)
		}
		payloadField = "properties"
	case TypeIdentify:
		payloadField = "traits"
	case TypeGroup:
		id("groupId", &m.GroupID)
		payloadField = "traits"
	case TypeAlias:
		id("previousId", &m.PreviousID)
	}
	m.Payload = json.RawMessage("{}")
	if payloadField != "" {
		p, ok := fields[payloadField]
		if m.Type == TypeIdentify && (!ok || isNull(p)) {
			// RudderStack's libraries send identify traits in context.traits.
			p = ctxField("traits")
			ok = p != nil
		}
		switch {
		case !ok || isNull(p):
		case p[0] != '{':
			problems = append(problems, event.Failure{Message: fmt.Sprintf("%q must be a JSON object", payloadField)})
		default:
			m.Payload = p
			m.fieldNames = memberNames(p)
		}
	}

	var timeProblems []event.Failure
	readTime := func(name string) *time.Time {
		t, _, err := timeField(fields, name)
		if err != nil {
			timeProblems = append(timeProblems, event.Failure{Message: err.Error()})
		}
		return t
	}
	m.SentAt = readTime("sentAt")
	if m.SentAt == nil {
		m.SentAt = d.sentAt
	}
	m.DeviceCreatedAt = readTime("timestamp")
	if orig := readTime("originalTimestamp"); orig != nil {
		m.DeviceCreatedAt = orig
	}

	switch {
	case len(problems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonMalformedEvent, Failures: append(problems, timeProblems...)}
	case len(timeProblems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonTimestampInvalid, Failures: timeProblems}
	}
	return m
}

// timeProblem ends the message of a timestamp failure.
const timeProblem = " is not an ISO 8601 time with a time zone, such as 2026-11-01T12:34:56.789Z"

// stringField reads an optional string member; null counts as absent.
func stringField(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf("%q must be a string", name)
	}
	return nil
}

// idField reads an optional identifier: a string, or a number that some
// libraries send for user ids (kept as its decimal text).
func idField(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	switch {
	case raw[0] == '"':
		if json.Unmarshal(raw, dst) == nil {
			return nil
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			*dst = n.String()
			return nil
		}
	}
	return fmt.Errorf("%q must be a string (or a number)", name)
}

// timeLayouts are the ISO 8601 forms libraries send: RFC 3339 (Z or +01:00), and
// the offset without a colon (+0100).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// timeField reads an optional timestamp member; ok reports whether it was present.
func timeField(fields map[string]json.RawMessage, name string) (*time.Time, bool, error) {
	raw, present := fields[name]
	if !present || isNull(raw) {
		return nil, false, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, true, fmt.Errorf("%q"+timeProblem, name)
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, true, nil
		}
	}
	return nil, true, fmt.Errorf("%q"+timeProblem, name)
}

// looseString reads a context member: a string, else nothing. Context is
// best-effort metadata, so a value of another type is ignored, not an error.
func looseString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// objectMembers decodes a JSON object's members, or returns nil.
func objectMembers(raw json.RawMessage) map[string]json.RawMessage {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// memberNames lists a JSON object's member names, sorted and bounded.
func memberNames(raw json.RawMessage) []string {
	m := objectMembers(raw)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, collect.Clip(k, 120))
	}
	sort.Strings(names)
	if len(names) > maxFieldNames {
		names = names[:maxFieldNames]
	}
	return names
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func isCallType(t string) bool {
	for _, c := range callTypes {
		if c == t {
			return true
		}
	}
	return false
}

// keySet collects the distinct write keys a body names.
type keySet struct{ list []string }

func (k *keySet) add(raw json.RawMessage) {
	s := looseString(raw)
	if s == "" {
		return
	}
	for _, have := range k.list {
		if have == s {
			return
		}
	}
	k.list = append(k.list, s)
}

func badRequest(reason event.Reason, msg string) error {
	return &collect.RequestError{Status: http.StatusBadRequest, Reason: reason, Msg: msg}
}
