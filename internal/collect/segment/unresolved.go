package segment

import (
	"encoding/json"

	"github.com/accord-dev/accord/internal/collect"
)

// keptMessage is what the bad row of a message that no contract declares
// keeps of it when the collector knows the data controller of such messages
// (segment.unresolved_controller): every field Map reads, as the row's data
// under "segment_message". The call type, event name, message id and library
// stay readable; every value of the others is sealed under the message's
// userId (else its anonymousId), so that a replay can map the message again
// once a contract declares its name, and the values die with the subject's key
// or with the row.
type keptMessage struct {
	Type        string          `json:"type"`
	Event       string          `json:"event,omitempty"`
	MessageID   string          `json:"message_id,omitempty"`
	Library     string          `json:"library,omitempty"`
	Name        string          `json:"name,omitempty"`
	Category    string          `json:"category,omitempty"`
	UserID      string          `json:"user_id,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	GroupID     string          `json:"group_id,omitempty"`
	PreviousID  string          `json:"previous_id,omitempty"`
	IP          string          `json:"ip,omitempty"`
	UserAgent   string          `json:"user_agent,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	Traits      json.RawMessage `json:"traits,omitempty"`
}

// keptMember is the member of a bad row's data that holds a keptMessage.
const keptMember = "segment_message"

// sealedMembers are the keptMessage members whose values are sealed.
var sealedMembers = func() []string {
	var ptrs []string
	for _, m := range []string{"name", "category", "user_id", "anonymous_id", "group_id", "previous_id", "ip", "user_agent", "properties", "traits"} {
		ptrs = append(ptrs, "/"+keptMember+"/"+m)
	}
	return ptrs
}()

// KeepSealed makes the bad row of a message that Map found no contract for
// (Mapped.Unknown) keep the whole message, its values sealed under controller
// and the message's subject (userId, else anonymousId): in is the Mapped's
// Incoming. Without a controller, or a message without either id, the row
// keeps what Map gave it (the names of the properties or traits).
func KeepSealed(in *collect.Incoming, m *Message, controller string) {
	subject := m.UserID
	if subject == "" {
		subject = m.AnonymousID
	}
	if controller == "" || subject == "" {
		return
	}
	k := keptMessage{Type: m.Type, Event: m.Event, MessageID: m.MessageID, Library: m.Library, Name: m.Name, Category: m.Category,
		UserID: m.UserID, AnonymousID: m.AnonymousID, GroupID: m.GroupID, PreviousID: m.PreviousID, IP: m.IP, UserAgent: m.UserAgent}
	switch m.Type {
	case TypeTrack, TypePage, TypeScreen:
		k.Properties = m.Payload
	case TypeIdentify, TypeGroup:
		k.Traits = m.Payload
	}
	data, err := json.Marshal(map[string]keptMessage{keptMember: k})
	if err != nil {
		return // the payload was checked as JSON: cannot happen; the names stay
	}
	in.Data = data
	in.SealAll = &collect.SealScope{Controller: controller, Subject: subject, Under: sealedMembers}
}

// Resolve is a replay's resolver for the bad rows KeepSealed wrote: it reads
// the message back from the row's data, unsealed, and maps it against the
// current contracts. row holds what the bad row keeps besides its data (event
// id, times, source, when it was received); the answer is the event to
// process, or why the row cannot be.
func (h *Handler) Resolve(data json.RawMessage, row collect.Incoming) (collect.Incoming, string) {
	var d map[string]*keptMessage
	if err := json.Unmarshal(data, &d); err != nil || d[keptMember] == nil || !isCallType(d[keptMember].Type) {
		return row, "the row's data is not a Segment message kept whole"
	}
	k := d[keptMember]
	m := Message{Type: k.Type, Event: k.Event, Name: k.Name, Category: k.Category, UserID: k.UserID, AnonymousID: k.AnonymousID,
		GroupID: k.GroupID, PreviousID: k.PreviousID, MessageID: k.MessageID, IP: k.IP, UserAgent: k.UserAgent, Library: k.Library,
		SentAt: row.SentAt, DeviceCreatedAt: row.DeviceCreatedAt, Payload: json.RawMessage("{}")}
	for _, p := range []json.RawMessage{k.Properties, k.Traits} {
		if len(p) > 0 && !isNull(p) {
			m.Payload = p
		}
	}
	in := Map(&m, h.names.get(h.p.Snapshot()), row.App).Incoming
	in.EventID, in.Received, in.Platform, in.Tracker = row.EventID, row.Received, row.Platform, row.Tracker
	return in, ""
}
