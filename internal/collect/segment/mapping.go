package segment

import (
	"encoding/json"
	"fmt"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// injection is a message field that enters an event's data only when its
// contract declares the property at the root of its schema. Identifiers and
// context values thus reach storage only through a contract field, validated and
// scrubbed by its x-pii; otherwise they are dropped.
type injection struct {
	property string
	value    func(*Message) string
}

// injections is the one list of message fields that may enter the data, in the
// order docs/segment.md shows them.
var injections = []injection{
	{"user_id", func(m *Message) string { return m.UserID }},
	{"anonymous_id", func(m *Message) string { return m.AnonymousID }},
	{"group_id", func(m *Message) string { return m.GroupID }},
	{"previous_id", func(m *Message) string { return m.PreviousID }},
	{"name", func(m *Message) string { return m.Name }},
	{"category", func(m *Message) string { return m.Category }},
	{"ip", func(m *Message) string { return m.IP }},
	{"user_agent", func(m *Message) string { return m.UserAgent }},
}

// Mapped is a message turned into the pipeline's input, with the warnings its
// resolution raised (an ambiguous event name).
type Mapped struct {
	Incoming collect.Incoming
	Warning  string
	// Injected is the length of the longest string Map added to the payload,
	// as encoded (the bytes between its quotes): the payload's limits
	// (Request.LimitsChecked) hold for Incoming.Data while it is within the
	// string limit.
	Injected int
	// Unknown says that the message, decoded without fault, was rejected only
	// because no contract declares its name: a contract published later can
	// take it, in a replay (see KeepSealed).
	Unknown bool
}

// Map resolves a decoded message to its contract through names and builds the
// pipeline's input. app is the source name of the request's write key.
func Map(m *Message, names *Names, app string) Mapped {
	in := collect.Incoming{EventID: m.MessageID, App: app, Tracker: m.Library,
		SentAt: m.SentAt, DeviceCreatedAt: m.DeviceCreatedAt}
	unresolved := func(rej *collect.Rejection) Mapped {
		in.Reject = rej
		in.Data = m.summary()
		return Mapped{Incoming: in}
	}
	// A message whose only fault is a bad timestamp or text that is not UTF-8
	// is still resolved, so that its bad row keeps the payload sealed by its
	// contract, for a replay.
	if m.Reject != nil && m.Reject.Reason != event.ReasonTimestampInvalid && m.Reject.Reason != event.ReasonInvalidUTF8 {
		return unresolved(m.Reject)
	}
	name := m.Event
	if m.Type != TypeTrack {
		name = reservedNames[m.Type]
	}
	if m.Type == TypeTrack && isReserved(name) {
		return unresolved(&collect.Rejection{Reason: event.ReasonEventNameUnknown, Failures: []event.Failure{{
			Message: fmt.Sprintf("the event name %q is reserved for %s calls; a track call must use another name", name, typeOfReserved(name))}}})
	}
	c, warning, ok := names.Lookup(name)
	if !ok && m.Reject != nil && m.Reject.Reason == event.ReasonInvalidUTF8 {
		return unresolved(m.Reject) // the name itself may be the text that is not UTF-8
	}
	if !ok {
		mp := unresolved(&collect.Rejection{Reason: event.ReasonEventNameUnknown, Failures: []event.Failure{{Message: unknownName(m.Type, name)}}})
		mp.Unknown = m.Reject == nil
		return mp
	}
	in.Schema = c.URI()
	data, injected, err := withInjections(c, m)
	if err != nil {
		return unresolved(&collect.Rejection{Reason: event.ReasonMalformedJSON, Failures: []event.Failure{{Message: err.Error()}}})
	}
	in.Data = data
	in.Reject = m.Reject
	return Mapped{Incoming: in, Warning: warning, Injected: injected}
}

func typeOfReserved(name string) string {
	for t, r := range reservedNames {
		if r == name {
			return t
		}
	}
	return ""
}

// unknownName says how to make a name known.
func unknownName(callType, name string) string {
	if callType == TypeTrack {
		return fmt.Sprintf("no contract declares the event name %q: add %q to the x-event-names of the contract these events follow (x-event-names: [%s])", collect.Clip(name, 120), collect.Clip(name, 120), collect.Clip(name, 120))
	}
	what := map[string]string{TypeIdentify: "traits", TypePage: "properties", TypeScreen: "properties", TypeGroup: "traits", TypeAlias: "previous_id and user_id"}[callType]
	return fmt.Sprintf("no contract declares %q: %s calls are validated against the contract whose x-event-names lists %q; add one describing their %s (x-event-names: [%q])", name, callType, name, what, name)
}

// withInjections returns the message's payload with every injection its contract
// declares and the payload lacks (a value the producer put in properties or
// traits wins over the top-level one). The payload's bytes are kept as the
// producer wrote them; the injected members are appended after its own.
// longest is the length of the longest value injected, as encoded.
func withInjections(c *contract.Compiled, m *Message) (data json.RawMessage, longest int, err error) {
	declared, _ := c.Doc["properties"].(map[string]any)
	var add []injection
	for _, inj := range injections {
		if inj.value(m) == "" {
			continue
		}
		if _, ok := declared[inj.property]; ok {
			add = append(add, inj)
		}
	}
	if len(add) == 0 {
		return m.Payload, 0, nil
	}
	members := 0
	end, err := jsonscan.ObjectMembers(m.Payload, func(k, _ []byte) {
		members++
		for i := range add {
			if add[i].property == string(k) {
				add = append(add[:i], add[i+1:]...)
				break
			}
		}
	})
	if err == nil && end != len(m.Payload) {
		err = jsonscan.SyntaxAt(end) // a span cut from the body ends at its brace
	}
	if err != nil {
		return nil, 0, fmt.Errorf("the message's properties are not a JSON object: %v", err)
	}
	if len(add) == 0 {
		return m.Payload, 0, nil
	}
	p := m.Payload
	out := make([]byte, 0, len(p)+64*len(add))
	out = append(out, p[:len(p)-1]...) // all but the closing brace
	for _, inj := range add {
		if members > 0 {
			out = append(out, ',')
		}
		members++
		out = event.AppendString(out, inj.property)
		out = append(out, ':')
		n := len(out)
		out = event.AppendString(out, inj.value(m))
		longest = max(longest, len(out)-n-2)
	}
	return append(out, '}'), longest, nil
}

// summary is what the bad row of a message that resolved to no contract keeps:
// its type, its event (or page) name and the names of its properties or traits
// (read here, from the payload: only such messages need them). Their values are
// withheld: without a contract nothing says which are personal.
func (m *Message) summary() json.RawMessage {
	s := struct {
		Type           string   `json:"type,omitempty"`
		Event          string   `json:"event,omitempty"`
		Name           string   `json:"name,omitempty"`
		Fields         []string `json:"fields,omitempty"`
		ValuesWithheld bool     `json:"values_withheld"`
	}{Type: m.Type, Event: collect.Clip(m.Event, 120), Name: collect.Clip(m.Name, 120), Fields: memberNames(m.Payload), ValuesWithheld: true}
	js, err := json.Marshal(s)
	if err != nil {
		return json.RawMessage(`{"values_withheld":true}`)
	}
	return js
}
