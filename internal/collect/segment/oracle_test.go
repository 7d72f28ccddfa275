package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// The decoder on encoding/json that Decode replaced (maps of raw members, one
// pass per level): FuzzDecodeOracle and TestDecodeOracle hold Decode to it,
// answer for answer.

// oracleMsg is a Message with the names of its payload's members, which the
// old decoder kept for the bad row (Map now reads them from the payload).
type oracleMsg struct {
	Message
	fieldNames []string
}

type oracleRequest struct {
	WriteKeys []string
	Messages  []oracleMsg
}

// oracleDecode is the old Decode. It decodes a request body posted to the
// route of callType (TypeBatch for /v1/batch). It returns a *collect.RequestError when the body as a whole is
// unusable (not JSON, not an object, too many messages); a message that is wrong
// on its own is returned with Reject set, so the rest of a batch goes through.
func oracleDecode(body []byte, callType string, lim collect.Limits) (oracleRequest, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return oracleRequest{}, badRequest(event.ReasonMalformedEvent, `the body is empty; send one Segment message as a JSON object, or {"batch": [...]} to /v1/batch`)
	}
	// Nesting allowed on top of the event's own: the batch object, the batch
	// array and the message around properties.
	if _, err := lim.CheckBody(body, 3); err != nil {
		return oracleRequest{}, err
	}
	if !json.Valid(body) {
		return oracleRequest{}, badRequest(event.ReasonMalformedJSON, "the body is not valid JSON: "+collect.NotJSON(body))
	}
	if body[0] != '{' {
		return oracleRequest{}, badRequest(event.ReasonMalformedEvent, "the body must be a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return oracleRequest{}, badRequest(event.ReasonMalformedJSON, "the body is not a JSON object: "+err.Error())
	}
	keys := keySet{}
	keys.add(top["writeKey"])
	if callType != TypeBatch {
		m := oracleMessage(body, top, callType, oracleDefaults{})
		return oracleRequest{WriteKeys: keys.list, Messages: []oracleMsg{m}}, nil
	}
	rawBatch, ok := top["batch"]
	if !ok || isNull(rawBatch) {
		return oracleRequest{}, badRequest(event.ReasonMalformedEvent, `the body has no "batch"; send {"batch": [{"type": "track", ...}, ...]}`)
	}
	var raws []json.RawMessage
	if rawBatch[0] != '[' || json.Unmarshal(rawBatch, &raws) != nil {
		return oracleRequest{}, badRequest(event.ReasonMalformedEvent, `"batch" must be an array of messages`)
	}
	if len(raws) > lim.MaxEvents {
		return oracleRequest{}, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the batch holds %d messages, more than the limit of %d; send smaller batches (flushAt)", len(raws), lim.MaxEvents)}
	}
	sentAt, _, err := oracleTimeField(top, "sentAt")
	if err != nil {
		return oracleRequest{}, badRequest(event.ReasonTimestampInvalid, "the batch's "+err.Error())
	}
	defaults := oracleDefaults{context: oracleObjectMembers(top["context"]), sentAt: sentAt}
	out := make([]oracleMsg, len(raws))
	for i, raw := range raws {
		var fields map[string]json.RawMessage
		if raw[0] == '{' {
			if err := json.Unmarshal(raw, &fields); err == nil && len(raw) <= MaxMessageBytes {
				keys.add(fields["writeKey"])
			}
		}
		out[i] = oracleMessage(raw, fields, "", defaults)
	}
	return oracleRequest{WriteKeys: keys.list, Messages: out}, nil
}

// oracleDefaults are what a batch says for all of its messages.
type oracleDefaults struct {
	// context is the batch's context, shallow-merged under each message's own.
	context map[string]json.RawMessage
	sentAt  *time.Time
}

// oracleMessage is the old decodeMessage. It decodes one message. fields are raw's members, or nil when raw is
// not a JSON object. callType is the route's type, or ""
// in a batch, where each message names its own.
func oracleMessage(raw []byte, fields map[string]json.RawMessage, callType string, d oracleDefaults) oracleMsg {
	var m oracleMsg
	reject := func(reason event.Reason, msg string) oracleMsg {
		m.Reject = &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}
		return m
	}
	if fields != nil {
		m = oracleHead(fields, callType, d)
	}
	if len(raw) > MaxMessageBytes {
		return reject(event.ReasonPayloadTooLarge, fmt.Sprintf("the message is %d bytes, more than Segment's limit of %d bytes per message", len(raw), MaxMessageBytes))
	}
	if fields == nil {
		return reject(event.ReasonMalformedEvent, "the message must be a JSON object")
	}
	var problems, textProblems []event.Failure
	text := func(raw json.RawMessage, name string) {
		var s string
		if json.Unmarshal(raw, &s) == nil && !utf8.Valid(raw) {
			textProblems = append(textProblems, event.Failure{Message: jsonscan.MemberNotUTF8(name)})
		}
	}
	str := func(name string, dst *string) {
		if err := oracleStringField(fields, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
		text(fields[name], name)
	}
	id := func(name string, dst *string) {
		if err := oracleIDField(fields, name, dst); err != nil {
			problems = append(problems, event.Failure{Message: err.Error()})
		}
		text(fields[name], name)
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
	// A message with a call type is read whole again, as the old decoder
	// read it: oracleHead's reading is only for the rejections above.
	m = oracleMsg{Message: Message{Type: m.Type}}
	str("messageId", &m.MessageID)
	id("userId", &m.UserID)
	id("anonymousId", &m.AnonymousID)

	var ctx map[string]json.RawMessage
	if raw, ok := fields["context"]; ok && !isNull(raw) {
		if raw[0] != '{' {
			problems = append(problems, event.Failure{Message: `"context" must be a JSON object`})
		} else {
			ctx = oracleObjectMembers(raw)
		}
	}
	ctxField := func(name string) json.RawMessage {
		if v, ok := ctx[name]; ok {
			return v
		}
		return d.context[name]
	}
	m.IP = oracleLooseString(ctxField("ip"))
	m.UserAgent = oracleLooseString(ctxField("userAgent"))
	text(ctxField("ip"), "context.ip")
	text(ctxField("userAgent"), "context.userAgent")
	if lib := oracleObjectMembers(ctxField("library")); lib != nil {
		name, version := oracleLooseString(lib["name"]), oracleLooseString(lib["version"])
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
			m.fieldNames = oracleMemberNames(p)
		}
	}
	// Segment's rules of who a message is about, of a message that is
	// otherwise as it should be, read again from its members as
	// encoding/json decodes them: a userId or an anonymousId (an alias needs
	// both of its ids instead), a group's groupId. An id is a non-empty
	// string or any number.
	if len(problems) == 0 {
		has := func(name string) bool {
			var v any
			dec := json.NewDecoder(bytes.NewReader(fields[name]))
			dec.UseNumber()
			if dec.Decode(&v) != nil {
				return false
			}
			switch v := v.(type) {
			case string:
				return v != ""
			case json.Number:
				return true
			}
			return false
		}
		if m.Type == TypeAlias {
			if !has("previousId") || !has("userId") {
				problems = append(problems, event.Failure{Message: aliasIDsProblem})
			}
		} else {
			if !has("userId") && !has("anonymousId") {
				problems = append(problems, event.Failure{Message: noIDProblem})
			}
			if m.Type == TypeGroup && !has("groupId") {
				problems = append(problems, event.Failure{Message: noGroupProblem})
			}
		}
	}

	var timeProblems []event.Failure
	readTime := func(name string) *time.Time {
		t, _, err := oracleTimeField(fields, name)
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
	case len(textProblems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonInvalidUTF8, Failures: textProblems}
	case len(timeProblems) > 0:
		m.Reject = &collect.Rejection{Reason: event.ReasonTimestampInvalid, Failures: timeProblems}
	}
	return m
}

// oracleHead is what the bad row of a message rejected before it is read
// (over 32 KiB, or without a call type) keeps, read as the old decoder read
// those members: the type, when it is a call type (the route's, else the
// message's), the messageId, the event name (a track call's, or that of a
// message without a call type), the page or screen name, and the payload whose
// member names the row lists (properties, else traits, when no call type says
// which).
func oracleHead(fields map[string]json.RawMessage, callType string, d oracleDefaults) oracleMsg {
	var m oracleMsg
	m.Type = callType
	if callType == "" {
		var t string
		if oracleStringField(fields, "type", &t) == nil && isCallType(t) {
			m.Type = t
		}
	}
	_ = oracleStringField(fields, "messageId", &m.MessageID)
	var payload []string
	switch m.Type {
	case TypeTrack:
		_ = oracleStringField(fields, "event", &m.Event)
		payload = []string{"properties"}
	case TypePage, TypeScreen:
		_ = oracleStringField(fields, "name", &m.Name)
		payload = []string{"properties"}
	case TypeIdentify, TypeGroup:
		payload = []string{"traits"}
	case "":
		_ = oracleStringField(fields, "event", &m.Event)
		payload = []string{"properties", "traits"}
	}
	m.Payload = json.RawMessage("{}")
	for _, name := range payload {
		p, ok := fields[name]
		if m.Type == TypeIdentify && (!ok || isNull(p)) {
			p = oracleObjectMembers(fields["context"])["traits"]
			if p == nil {
				p = d.context["traits"]
			}
		}
		if oracleObjectMembers(p) != nil {
			m.Payload = p
			m.fieldNames = oracleMemberNames(p)
			break
		}
	}
	return m
}

// oracleStringField reads an optional string member; null counts as absent.
func oracleStringField(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf("%q must be a string", name)
	}
	return nil
}

// oracleIDField reads an optional identifier: a string, or a number that some
// libraries send for user ids (kept as its decimal text).
func oracleIDField(fields map[string]json.RawMessage, name string, dst *string) error {
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

// oracleTimeField reads an optional timestamp member; ok reports whether it was present.
func oracleTimeField(fields map[string]json.RawMessage, name string) (*time.Time, bool, error) {
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

// oracleLooseString reads a context member: a string, else nothing. Context is
// best-effort metadata, so a value of another type is ignored, not an error.
func oracleLooseString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// oracleObjectMembers decodes a JSON object's members, or returns nil.
func oracleObjectMembers(raw json.RawMessage) map[string]json.RawMessage {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// oracleMemberNames lists a JSON object's member names, sorted and bounded.
func oracleMemberNames(raw json.RawMessage) []string {
	m := oracleObjectMembers(raw)
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

// oracleWithInjections is the old withInjections, which decoded the payload
// into a map and encoded it again: it returns the message's payload with every
// injection its contract declares and the payload lacks (a value the producer
// put in properties or traits wins over the top-level one).
func oracleWithInjections(c *contract.Compiled, m *Message) (json.RawMessage, error) {
	declared, _ := c.Doc["properties"].(map[string]any)
	var add map[string]string
	for _, inj := range injections {
		v := inj.value(m)
		if v == "" {
			continue
		}
		if _, ok := declared[inj.property]; !ok {
			continue
		}
		if add == nil {
			add = map[string]string{}
		}
		add[inj.property] = v
	}
	if len(add) == 0 {
		return m.Payload, nil
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(m.Payload, &fields); err != nil {
		return nil, fmt.Errorf("the message's properties are not a JSON object: %v", err)
	}
	for k, v := range add {
		if _, ok := fields[k]; ok {
			continue
		}
		js, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", k, err)
		}
		fields[k] = js
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encoding the event's data: %w", err)
	}
	return out, nil
}

// oracleNames resolves event names in the test registry for checkOracle.
var oracleNames = sync.OnceValues(func() (*Names, error) {
	snap, err := contract.LoadSnapshot(registryDir)
	if err != nil {
		return nil, err
	}
	return NewNames(snap), nil
})

// checkInjections fails unless withInjections gives the message's contract
// the same data, as JSON values, as the old re-encoding did.
func checkInjections(t *testing.T, m *Message) {
	t.Helper()
	names, err := oracleNames()
	if err != nil {
		t.Fatal(err)
	}
	name := m.Event
	if m.Type != TypeTrack {
		name = reservedNames[m.Type]
	}
	c, _, ok := names.Lookup(name)
	if !ok || m.Reject != nil && m.Reject.Reason != event.ReasonTimestampInvalid && m.Reject.Reason != event.ReasonInvalidUTF8 {
		return
	}
	got, _, err := withInjections(c, m)
	want, wantErr := oracleWithInjections(c, m)
	if err != nil || wantErr != nil {
		t.Fatalf("injecting into %q: %v, the old code: %v", m.Payload, err, wantErr)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("injected data %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("injected data %s, the old code's %s", got, want)
	}
}

// checkOracle decodes body with Decode and with the old decoder and fails
// unless both give the same messages (payloads as bytes), write keys and
// names for the bad row, or the same refusal.
func checkOracle(t *testing.T, body []byte, callType string, lim collect.Limits) {
	t.Helper()
	got, err := Decode(body, callType, lim)
	want, wantErr := oracleDecode(body, callType, lim)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s %q: error %v, the old decoder's %v", callType, body, err, wantErr)
	}
	if err != nil {
		var re, wantRE *collect.RequestError
		if !errors.As(err, &re) || !errors.As(wantErr, &wantRE) || *re != *wantRE {
			t.Fatalf("%s %q: refused with %#v, the old decoder with %#v", callType, body, err, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got.WriteKeys, want.WriteKeys) || len(got.Messages) != len(want.Messages) {
		t.Fatalf("%s %q: write keys %q and %d messages, the old decoder's %q and %d", callType, body,
			got.WriteKeys, len(got.Messages), want.WriteKeys, len(want.Messages))
	}
	for i := range got.Messages {
		g, w := got.Messages[i], want.Messages[i].Message
		// The decoder says when it read every payload within the depth and
		// string limits (the old one left that to the pipeline).
		if _, err := lim.CheckBody(g.Payload, 0); got.LimitsChecked && err != nil {
			t.Fatalf("%s %q: the payloads are said to be within the limits, but message %d's %q is not: %v", callType, body, i, g.Payload, err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s %q: message %d is\n%+v\nthe old decoder's\n%+v", callType, body, i, g, w)
		}
		if names, wantNames := memberNames(g.Payload), want.Messages[i].fieldNames; len(names)+len(wantNames) > 0 && !reflect.DeepEqual(names, wantNames) {
			t.Fatalf("%s %q: message %d has member names %q, the old decoder %q", callType, body, i, names, wantNames)
		}
		checkInjections(t, &g)
	}
}

// oracleBodies are bodies on the edges of what the decoders read: repeated and
// escaped keys, members of every wrong type, contexts merged from the batch,
// nesting and strings at the limits, and bodies that are not JSON.
var oracleBodies = []string{
	`{"type":"track","event":"A","properties":{"x":1},"type":"identify"}`,
	`{"\u0074ype":"track","ev\u0065nt":"B","properties":{"a":1,"a":2,"\u00e9":3}}`,
	`{"batch":[{"type":"track","event":"A"}],"batch":[{"type":"page","name":"P"}]}`,
	`{"batch":[{"type":"track","event":"A"}],"batch":null}`,
	`{"batch":{"type":"track"}}`,
	`{"batch":"x"}`,
	`{"batch":[1,"x",null,[],{"type":7},{"type":"nope"},{"type":"track"},{"type":"alias","previousId":12.5e3,"userId":-1}]}`,
	`{"batch":[{"type":"identify","userId":"u","context":{"traits":{"plan":"pro"}}},{"type":"identify","anonymousId":"a","traits":null,"context":{"traits":null}},{"type":"identify","userId":1}],"context":{"traits":{"from":"batch"}}}`,
	`{"batch":[{"type":"track","event":"E","userId":"u","context":{"ip":null}},{"type":"track","event":"E","userId":"u","context":[]},{"type":"track","event":"E","context":"x"}],"context":{"ip":"1.2.3.4","userAgent":"UA","library":{"name":"lib","version":"1.0","name":"lib2"}}}`,
	`{"batch":[{"type":"track","event":"E","writeKey":"k2"},{"type":"track","event":"E","writeKey":"k1"}],"writeKey":"k1"}`,
	`{"batch":[{"type":"track","event":"E","anonymousId":"a","sentAt":"2026-11-01T12:34:56+0100","timestamp":"2026-11-01T12:34:56Z","originalTimestamp":"bad"}],"sentAt":"2026-11-01T12:00:00.5Z"}`,
	`{"batch":[],"sentAt":"yesterday"}`,
	`{"batch":[{"type":"track","event":"E"}],"sentAt":12}`,
	`{"type":"page","name":"Home","category":null,"properties":[1]}`,
	`{"type":"group","groupId":{"x":1},"traits":"t"}`,
	`{"type":"screen","name":"S","properties":{"k\"ey":"v\ud800","k\u0000":null}}`,
	"{\"type\":\"track\",\"event\":\"\xff\xfe\",\"properties\":{\"\xc3\":1}}",
	`{"type":"track","event":"E","context":{"library":{"name":7,"version":"1"}}}`,
	`{"type":"track","event":"E","context":{"library":{"version":"1"}}}`,
	`{"type":"track","event":"E","context":{"ip":"1.1.1.1","userAgent":"a","ip":"2.2.2.2","userAgent":null}}`,
	`{"type":"track","event":""}`,
	`{"batch":[{"type":"track","event":"Order Completed","userId":"u<1>&","anonymousId":"a\u2028","context":{"ip":"10.0.0.1","userAgent":"UA \"x\""},"properties":{"order_id":"o1","user_id":"mine"}},{"type":"track","event":"Order Completed","userId":"u2","properties":{}},{"type":"track","event":"Order Completed","userId":"u3"},{"type":"identify","userId":"u4","traits":{"email":"e@x.io","u\u0073er_id":"esc"}},{"type":"page","name":"Home","category":"c","anonymousId":"a6","context":{"ip":"1.2.3.4"}},{"type":"alias","previousId":"p","userId":"u5"},{"type":"group","groupId":"g","userId":"u6","traits":{"a":1,"a":2}}]}`,
	`[{"type":"track"}]`,
	`"track"`,
	`{"type":"track",}`,
	`{"type":"track"} {}`,
	`{"batch":[{"type":"track","event":"E"}]`,
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"batch":[{"type":"track","event":"E","properties":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}]}`,
	`{"type":"track","event":"E","properties":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`,
	` {"type":"track","event":"E"} ` + "\n",
	// Segment's rules of who a message is about: ids empty, null, repeated,
	// numbers, escaped, not UTF-8, of other types; groups and aliases.
	`{"type":"track","event":"E","userId":"","anonymousId":"","messageId":"m"}`,
	`{"type":"track","event":"E","userId":"u","userId":null,"anonymousId":null,"anonymousId":"a"}`,
	`{"type":"track","event":"E","anonymousId":-0.0e-0,"groupId":"g","previousId":"p"}`,
	`{"type":"identify","userId":"\u0000","traits":{"a":1}}`,
	`{"type":"identify","anonymousId":"\ud800","userId":""}`,
	"{\"type\":\"identify\",\"userId\":\"\xff\"}",
	"{\"type\":\"identify\",\"event\":\"\xff\",\"timestamp\":\"soon\"}",
	`{"type":"track","event":"E","userId":true}`,
	`{"type":"track","event":"E","anonymousId":{},"userId":[]}`,
	`{"type":"track","event":"E","timestamp":"soon"}`,
	`{"batch":[{"type":"group","groupId":"","userId":"u"},{"type":"group","groupId":0,"anonymousId":"a"},{"type":"group"},{"type":"group","groupId":"g"},{"type":"group","groupId":null,"userId":"u","traits":"x"}]}`,
	`{"batch":[{"type":"alias","previousId":"p"},{"type":"alias","userId":"u","anonymousId":"a"},{"type":"alias","previousId":"p","userId":""},{"type":"alias","previousId":"p","userId":"u"},{"type":"alias","previousId":true}]}`,
	`{"userId":"u","anonymousId":"a","groupId":"g","previousId":"p","event":"E","name":"N"}`,
	`{"anonymousId":"a","event":"E","name":"N"}`,
	"\f{\"type\":\"track\",\"event\":\"E\"}",
}

// TestDecodeOracle holds Decode to the old decoder on oracleBodies, on every
// route, and on large bodies the fuzzer does not make: messages over
// Segment's size limit, batches over the event limit, strings over theirs.
func TestDecodeOracle(t *testing.T) {
	lim := collect.DefaultLimits
	bodies := append([]string(nil), oracleBodies...)
	big := fmt.Sprintf(`{"type":"track","event":"E","writeKey":"kb","properties":{"s":%q}}`, string(bytes.Repeat([]byte("x"), MaxMessageBytes)))
	bodies = append(bodies, big, `{"batch":[`+big+`,{"type":"track","event":"E","writeKey":"ks"}]}`)
	many := bytes.Repeat([]byte(`{"type":"track","event":"E"},`), lim.MaxEvents)
	bodies = append(bodies, `{"batch":[`+string(many)+`1]}`, `{"batch":[`+string(many[:len(many)-1])+`]}`)
	long := string(bytes.Repeat([]byte("y"), lim.MaxStringBytes+1))
	bodies = append(bodies, `{"type":"track","event":"`+long+`"}`, `{"type":"track","event":"E","`+long+`":1}`, `{"batch":[{"type":"track","event":"`+long+`"`)
	for _, body := range bodies {
		for _, route := range routes {
			checkOracle(t, []byte(body), route, lim)
		}
	}
	for _, tc := range decodeCases {
		checkOracle(t, []byte(tc.body), tc.route, lim)
	}
	for _, tc := range requestErrorCases {
		checkOracle(t, []byte(tc.body), tc.route, lim)
	}
	for _, tc := range rejectedCases {
		checkOracle(t, []byte(tc.body), tc.route, lim)
	}
	checkOracle(t, referenceBody(t, 100), TypeBatch, lim)
	checkOracle(t, referenceBody(t, 0), TypeTrack, lim)
}

// FuzzDecodeOracle holds Decode to the old decoder on any body, route and
// depth and string limits.
func FuzzDecodeOracle(f *testing.F) {
	for _, b := range oracleBodies {
		f.Add([]byte(b), byte(len(routes)-1), uint8(8), uint8(64))
		f.Add([]byte(b), byte(0), uint8(3), uint8(2))
	}
	for _, tc := range decodeCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), byte(len(routes)-1), uint8(32), uint8(200))
		}
	}
	for _, tc := range rejectedCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), byte(len(routes)-1), uint8(32), uint8(200))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, route, depth, str uint8) {
		lim := collect.DefaultLimits
		lim.MaxDepth, lim.MaxStringBytes, lim.MaxEvents = 1+int(depth%40), 1+int(str), 5
		checkOracle(t, body, routes[int(route)%len(routes)], lim)
	})
}
