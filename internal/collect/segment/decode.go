package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
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
	// LimitsChecked says that every message's payload is within the depth and
	// string limits Decode was given (it read the body within them), so that
	// what Map leaves of a payload need not be scanned again, unless it adds
	// strings longer than the limit (Mapped.Injected).
	LimitsChecked bool
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
}

// Decode decodes a request body posted to the route of callType (TypeBatch for
// /v1/batch). It returns a *collect.RequestError when the body as a whole is
// unusable (not JSON, not an object, too many messages); a message that is wrong
// on its own is returned with Reject set, so the rest of a batch goes through.
//
// The body is checked as JSON, against the depth and string limits and cut
// into messages in one pass of jsonscan, without decoding it into maps: the
// messages' payloads are spans of body. A body that fails that pass is
// answered by the checks in the order they have always been made: the limits
// first (with three levels for the batch's own nesting), then the syntax.
func Decode(body []byte, callType string, lim collect.Limits) (Request, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Request{}, badRequest(event.ReasonMalformedEvent, `the body is empty; send one Segment message as a JSON object, or {"batch": [...]} to /v1/batch`)
	}
	// Nesting allowed on top of the event's own: the batch object, the batch
	// array and the message around properties.
	const wrapping = 3
	batch := callType == TypeBatch
	// A payload is at least covering levels deep in the body: properties or
	// traits in a call's body (1), traits in a batch's context (2), deeper in
	// a batch's messages. A body read within the depth limit plus covering
	// holds only payloads within the limit, and all its strings are within
	// theirs; a body that is not is read again as it always was (a zero limit
	// would bound nothing).
	covering := 1
	if batch {
		covering = 2
	}
	var top topLevel
	var err error
	checked := lim.MaxDepth >= 1 && lim.MaxStringBytes >= 1
	if checked {
		top, err = scanBody(body, batch, jsonscan.Limits{MaxDepth: lim.MaxDepth + covering, MaxString: lim.MaxStringBytes}, lim.MaxEvents)
		checked = err == nil
	}
	if !checked {
		top, err = scanBody(body, batch, jsonscan.Limits{MaxDepth: lim.MaxDepth + wrapping, MaxString: lim.MaxStringBytes}, lim.MaxEvents)
	}
	if err != nil {
		if _, err := lim.CheckBody(body, wrapping); err != nil {
			return Request{}, err
		}
		if top, err = scanBody(body, batch, jsonscan.Limits{}, lim.MaxEvents); err != nil {
			return Request{}, badRequest(event.ReasonMalformedJSON, "the body is not valid JSON: "+collect.NotJSON(body))
		}
	}
	if body[0] != '{' {
		return Request{}, badRequest(event.ReasonMalformedEvent, "the body must be a JSON object")
	}
	keys := keySet{}
	keys.add(top.writeKey)
	if !batch {
		m := decodeMessage(len(body), &top.fields, callType, batchDefaults{})
		return Request{WriteKeys: keys.list, Messages: []Message{m}, LimitsChecked: checked}, nil
	}
	if isNull(top.batch) {
		return Request{}, badRequest(event.ReasonMalformedEvent, `the body has no "batch"; send {"batch": [{"type": "track", ...}, ...]}`)
	}
	if top.batch[0] != '[' {
		return Request{}, badRequest(event.ReasonMalformedEvent, `"batch" must be an array of messages`)
	}
	if top.count > lim.MaxEvents {
		return Request{}, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the batch holds %d messages, more than the limit of %d; send smaller batches (flushAt)", top.count, lim.MaxEvents)}
	}
	sentAt, _, err := timeField(top.sentAt, "sentAt")
	if err != nil {
		return Request{}, badRequest(event.ReasonTimestampInvalid, "the batch's "+err.Error())
	}
	defaults := batchDefaults{sentAt: sentAt}
	if isObject(top.context) {
		defaults.context = contextOf(top.context)
	}
	out := make([]Message, len(top.messages))
	for i := range top.messages {
		raw := &top.messages[i]
		var f *fields
		if raw.object {
			f = &raw.fields
			if raw.size <= MaxMessageBytes {
				keys.add(f.writeKey)
			}
		}
		out[i] = decodeMessage(raw.size, f, "", defaults)
	}
	return Request{WriteKeys: keys.list, Messages: out, LimitsChecked: checked}, nil
}

// fields are the members of a message that the decoder reads, each the value
// as written in the body; nil when the message has no such member. Of repeated
// members the last counts, as when decoding into a map.
type fields struct {
	typ, event, messageID, userID, anonymousID, context     []byte
	name, category, groupID, previousID, properties, traits []byte
	sentAt, timestamp, originalTimestamp, writeKey          []byte
}

// slot is where the value of the member key goes, or nil for a member the
// decoder does not read.
func (f *fields) slot(key []byte) *[]byte {
	switch string(key) {
	case "type":
		return &f.typ
	case "event":
		return &f.event
	case "messageId":
		return &f.messageID
	case "userId":
		return &f.userID
	case "anonymousId":
		return &f.anonymousID
	case "context":
		return &f.context
	case "name":
		return &f.name
	case "category":
		return &f.category
	case "groupId":
		return &f.groupID
	case "previousId":
		return &f.previousID
	case "properties":
		return &f.properties
	case "traits":
		return &f.traits
	case "sentAt":
		return &f.sentAt
	case "timestamp":
		return &f.timestamp
	case "originalTimestamp":
		return &f.originalTimestamp
	case "writeKey":
		return &f.writeKey
	}
	return nil
}

// rawMessage is one element of a batch: its size, whether it is an object, and
// then its fields.
type rawMessage struct {
	size   int
	object bool
	fields fields
}

// topLevel is what scanBody finds: the body's own members (a message, or the
// batch's sentAt, context and writeKey) and, for a batch body, the elements of
// its "batch" array.
type topLevel struct {
	fields
	batch    []byte
	messages []rawMessage
	// count is the number of elements in the batch, read or not.
	count int
}

// scanBody checks body as one JSON value within lim and reads its members
// when it is an object; a batch body's messages are read in the same pass.
// Of a batch longer than maxMessages, only the count is kept.
func scanBody(body []byte, batch bool, lim jsonscan.Limits, maxMessages int) (top topLevel, err error) {
	var key []byte // scratch for unquoting an escaped key
	unquote := func(k []byte, plain bool) []byte {
		if plain {
			return k
		}
		key = jsonscan.AppendUnquoted(key[:0], k)
		return key
	}
	var into *fields // the object whose members are being read
	member := func(k []byte, plain bool, start, end int) error {
		if slot := into.slot(unquote(k, plain)); slot != nil {
			*slot = body[start:end]
		}
		return nil
	}
	var end int
	switch {
	case body[0] != '{':
		end, err = lim.Value(body, 0, 0)
	case !batch:
		into = &top.fields
		end, err = lim.Members(body, 0, member, 1)
	default:
		// {"batch": [message, ...], ...}: the array is at level 2, its
		// messages at level 3.
		end, err = lim.Walk(body, 0, func(k []byte, plain bool, start int) (int, error) {
			k = unquote(k, plain)
			if string(k) != "batch" || body[start] != '[' {
				end, err := lim.Value(body, start, 1)
				if err == nil {
					if string(k) == "batch" {
						top.batch, top.messages, top.count = body[start:end], nil, 0
					} else if slot := top.slot(k); slot != nil {
						*slot = body[start:end]
					}
				}
				return end, err
			}
			top.messages, top.count = top.messages[:0], 0
			end, err := lim.WalkElements(body, start, func(s int) (int, error) {
				if top.count++; top.count > maxMessages {
					return lim.Value(body, s, 2) // counted for the answer, not read
				}
				top.messages = append(top.messages, rawMessage{object: body[s] == '{'})
				m := &top.messages[len(top.messages)-1]
				var end int
				var err error
				if m.object {
					into = &m.fields
					end, err = lim.Members(body, s, member, 3)
				} else {
					end, err = lim.Value(body, s, 2)
				}
				m.size = end - s
				return end, err
			}, 2)
			top.batch = body[start:end]
			return end, err
		}, 1)
	}
	if err == nil && end != len(body) {
		err = jsonscan.SyntaxAt(end)
	}
	return top, err
}

// batchDefaults are what a batch says for all of its messages.
type batchDefaults struct {
	// context is the batch's context, shallow-merged under each message's own.
	context *contextFields
	sentAt  *time.Time
}

// contextFields are the members of a context that the decoder reads.
type contextFields struct{ ip, userAgent, library, traits []byte }

// contextOf reads the members of a context object.
func contextOf(raw []byte) *contextFields {
	c := &contextFields{}
	_, _ = jsonscan.ObjectMembers(raw, func(k, v []byte) {
		switch string(k) {
		case "ip":
			c.ip = v
		case "userAgent":
			c.userAgent = v
		case "library":
			c.library = v
		case "traits":
			c.traits = v
		}
	})
	return c
}

// decodeMessage decodes one message of size bytes. f are its fields, or nil
// when it is not a JSON object. callType is the route's type, or "" in a
// batch, where each message names its own.
//
// What the bad row of any rejected message keeps (see Message.summary) is
// read first, the same way whatever rejects the message: its messageId (the
// event id the answer and the row carry, so that a library can match them
// up), its call type, its event or page name and where its properties or
// traits are (the row lists their names). A message over MaxMessageBytes or
// without a call type is rejected with only that read, so that nothing else
// of it is kept; its members are spans of the body, never a copy of it.
func decodeMessage(size int, f *fields, callType string, d batchDefaults) Message {
	var m Message
	reject := func(reason event.Reason, msg string) Message {
		m.Reject = &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}
		return m
	}
	tooLarge := func() Message {
		return reject(event.ReasonPayloadTooLarge, fmt.Sprintf("the message is %d bytes, more than Segment's limit of %d bytes per message", size, MaxMessageBytes))
	}
	if f == nil {
		if size > MaxMessageBytes {
			return tooLarge()
		}
		return reject(event.ReasonMalformedEvent, "the message must be a JSON object")
	}

	// What every rejection keeps. A value of the wrong type is left out here
	// and reported below, with the other problems of a message that is read.
	var typeProblem string
	m.Type, typeProblem = messageType(f.typ, callType)
	m.MessageID = looseString(f.messageID)
	var ctx *contextFields
	if isObject(f.context) {
		ctx = contextOf(f.context)
	}
	// ctxField is a member of the message's context, else of the batch's.
	ctxField := func(get func(*contextFields) []byte) []byte {
		if ctx != nil {
			if v := get(ctx); v != nil {
				return v
			}
		}
		if d.context != nil {
			return get(d.context)
		}
		return nil
	}
	payloadField, p := "", []byte(nil)
	switch m.Type {
	case TypeTrack:
		m.Event = looseString(f.event)
		payloadField, p = "properties", f.properties
	case TypePage, TypeScreen:
		m.Name = looseString(f.name)
		payloadField, p = "properties", f.properties
	case TypeIdentify:
		payloadField, p = "traits", f.traits
		if isNull(p) {
			// RudderStack's libraries send identify traits in context.traits.
			p = ctxField(func(c *contextFields) []byte { return c.traits })
		}
	case TypeGroup:
		payloadField, p = "traits", f.traits
	case "":
		// No call type says which: the event name a track call would have,
		// and the properties, else the traits, for their names.
		m.Event = looseString(f.event)
		if p = f.properties; !isObject(p) {
			p = f.traits
		}
	}
	m.Payload = json.RawMessage("{}")
	if isObject(p) {
		m.Payload = p
	}
	switch {
	case size > MaxMessageBytes:
		return tooLarge()
	case typeProblem != "":
		return reject(event.ReasonMalformedEvent, typeProblem)
	}

	var problems []event.Failure
	// textProblems are the strings read from the message that are not UTF-8
	// as sent (read, they have U+FFFD in place of those bytes); the pipeline
	// checks the payload's own, naming the member.
	var textProblems []event.Failure
	text := func(raw []byte, name string) {
		if len(raw) > 0 && raw[0] == '"' && !utf8.Valid(raw) {
			textProblems = append(textProblems, event.Failure{Message: jsonscan.MemberNotUTF8(name)})
		}
	}
	// checkStr checks a string member that was read above.
	checkStr := func(raw []byte, name string) {
		if !isNull(raw) && raw[0] != '"' {
			problems = append(problems, event.Failure{Message: fmt.Sprintf("%q must be a string", name)})
		}
		text(raw, name)
	}
	str := func(raw []byte, name string, dst *string) {
		if err := stringField(raw, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
		text(raw, name)
	}
	id := func(raw []byte, name string, dst *string) {
		if err := idField(raw, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
		text(raw, name)
	}

	checkStr(f.messageID, "messageId")
	id(f.userID, "userId", &m.UserID)
	id(f.anonymousID, "anonymousId", &m.AnonymousID)
	if !isNull(f.context) && ctx == nil {
		problems = append(problems, event.Failure{Message: `"context" must be a JSON object`})
	}
	ip, ua := ctxField(func(c *contextFields) []byte { return c.ip }), ctxField(func(c *contextFields) []byte { return c.userAgent })
	m.IP, m.UserAgent = looseString(ip), looseString(ua)
	text(ip, "context.ip")
	text(ua, "context.userAgent")
	if lib := ctxField(func(c *contextFields) []byte { return c.library }); isObject(lib) {
		var name, version string
		_, _ = jsonscan.ObjectMembers(lib, func(k, v []byte) {
			switch string(k) {
			case "name":
				name = looseString(v)
			case "version":
				version = looseString(v)
			}
		})
		switch {
		case name != "" && version != "":
			m.Library = collect.Clip(name, 120) + "/" + collect.Clip(version, 120)
		case name != "":
			m.Library = collect.Clip(name, 120)
		}
	}

	switch m.Type {
	case TypeTrack:
		checkStr(f.event, "event")
		if m.Event == "" && len(problems) == 0 {
			problems = append(problems, event.Failure{Message: `a track call needs a non-empty "event" name`})
		}
	case TypePage, TypeScreen:
		checkStr(f.name, "name")
		if m.Type == TypePage {
			str(f.category, "category", &m.Category)
		}
	case TypeGroup:
		id(f.groupID, "groupId", &m.GroupID)
	case TypeAlias:
		id(f.previousID, "previousId", &m.PreviousID)
	}
	if !isNull(p) && !isObject(p) {
		problems = append(problems, event.Failure{Message: fmt.Sprintf("%q must be a JSON object", payloadField)})
	}
	if len(problems) == 0 {
		// Said only of a message without other problems, so that one
		// rejected for those keeps its failures as they were. As a
		// problem, it outranks bad times and text: their bad rows can be
		// replayed, which would let the message in.
		problems = whoProblems(&m)
	}

	var timeProblems []event.Failure
	readTime := func(raw []byte, name string) *time.Time {
		t, _, err := timeField(raw, name)
		if err != nil {
			timeProblems = append(timeProblems, event.Failure{Message: err.Error()})
		}
		return t
	}
	m.SentAt = readTime(f.sentAt, "sentAt")
	if m.SentAt == nil {
		m.SentAt = d.sentAt
	}
	m.DeviceCreatedAt = readTime(f.timestamp, "timestamp")
	if orig := readTime(f.originalTimestamp, "originalTimestamp"); orig != nil {
		m.DeviceCreatedAt = orig
	}

	switch {
	case len(problems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonMalformedEvent, Failures: append(problems, timeProblems...)}
	case len(textProblems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonInvalidUTF8, Failures: textProblems}
	case len(timeProblems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonTimestampInvalid, Failures: timeProblems}
	}
	return m
}

// The failures of Segment's rules of who a message is about.
const (
	noIDProblem     = `a message needs a "userId" or an "anonymousId" (Segment's rule): send the user's id, or the anonymous id of the device or session`
	noGroupProblem  = `a group call needs a non-empty "groupId": send the id of the group (the account or company) the user belongs to`
	aliasIDsProblem = `an alias call needs a non-empty "previousId" (the old id) and "userId" (the new one)`
)

// whoProblems are the failures of Segment's rules of who a message m is
// about, which its HTTP API refuses a message for (no_user_anon_id, and the
// group's and alias's own), as RudderStack's gateway refuses a message
// without ids: every message needs a userId or an anonymousId, a group call a
// groupId, an alias call its previousId and userId (that rule says it all of
// an alias). The ids are read from the message only: the AnonymousId header
// of RudderStack's JavaScript SDK repeats the body's, and is not read.
func whoProblems(m *Message) []event.Failure {
	if m.Type == TypeAlias {
		if m.PreviousID == "" || m.UserID == "" {
			return []event.Failure{{Message: aliasIDsProblem}}
		}
		return nil
	}
	var out []event.Failure
	if m.UserID == "" && m.AnonymousID == "" {
		out = append(out, event.Failure{Message: noIDProblem})
	}
	if m.Type == TypeGroup && m.GroupID == "" {
		out = append(out, event.Failure{Message: noGroupProblem})
	}
	return out
}

// messageType is a message's call type: the route's, callType, or else the
// message's own "type" member raw; problem says why the latter is none.
func messageType(raw []byte, callType string) (t, problem string) {
	if callType != "" {
		return callType, ""
	}
	var s string
	if err := stringField(raw, "type", &s); err != nil {
		return "", err.Error()
	}
	switch {
	case s == "":
		return "", `the message has no "type"; each batch message names its call: track, identify, page, screen, group or alias`
	case !isCallType(s):
		return "", fmt.Sprintf("the message's type %q is not one of track, identify, page, screen, group, alias", collect.Clip(s, 120))
	}
	return s, ""
}

// timeProblem ends the message of a timestamp failure.
const timeProblem = " is not an ISO 8601 time with a time zone, such as 2026-11-01T12:34:56.789Z"

// stringField reads an optional string member raw; null counts as absent.
func stringField(raw []byte, name string, dst *string) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != '"' {
		return fmt.Errorf("%q must be a string", name)
	}
	*dst = jsonscan.Unquote(raw)
	return nil
}

// idField reads an optional identifier: a string, or a number that some
// libraries send for user ids (kept as its decimal text).
func idField(raw []byte, name string, dst *string) error {
	switch {
	case isNull(raw):
	case raw[0] == '"':
		*dst = jsonscan.Unquote(raw)
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		*dst = string(raw)
	default:
		return fmt.Errorf("%q must be a string (or a number)", name)
	}
	return nil
}

// timeLayouts are the ISO 8601 forms libraries send: RFC 3339 (Z or +01:00), and
// the offset without a colon (+0100); a month or day of one digit is read
// too, as Segment reads it (its own HTTP API docs show 2015-2-02T00:30:12.984Z).
// A time without a zone is not: it would say nothing of when it was.
var timeLayouts = []string{"2006-1-2T15:04:05.999999999Z07:00", "2006-1-2T15:04:05.999999999Z0700"}

// timeField reads an optional timestamp member raw; ok reports whether it was
// present.
func timeField(raw []byte, name string) (*time.Time, bool, error) {
	if isNull(raw) {
		return nil, false, nil
	}
	if raw[0] != '"' {
		return nil, true, fmt.Errorf("%q"+timeProblem, name)
	}
	s := jsonscan.Unquote(raw)
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
func looseString(raw []byte) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	return jsonscan.Unquote(raw)
}

func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// memberNames lists the distinct member names of a JSON object, clipped,
// sorted and bounded, for the bad row of a message that names no contract.
func memberNames(raw []byte) []string {
	seen := map[string]bool{}
	_, _ = jsonscan.ObjectMembers(raw, func(k, _ []byte) { seen[string(k)] = true })
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, collect.Clip(k, 120))
	}
	sort.Strings(names)
	if len(names) > maxFieldNames {
		names = names[:maxFieldNames]
	}
	return names
}

func isNull(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

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

func (k *keySet) add(raw []byte) {
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
