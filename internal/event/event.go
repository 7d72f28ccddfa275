// Package event defines what Accord stores: the envelope of an accepted event and
// the bad row of a rejected one. They are plain values with a documented, versioned
// JSON form (docs/envelope.md); storage details live in the sinks.
package event

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// EnvelopeVersion is the version of the envelope's JSON form. It changes only when
// a field changes meaning or disappears; added fields keep the version.
const EnvelopeVersion = 1

// Envelope is one accepted event as stored: validated against its contract and
// scrubbed of the personal data its contract says to scrub. It never holds request
// headers, cookies or credentials.
type Envelope struct {
	// V is EnvelopeVersion at the time the envelope was written.
	V int `json:"v"`
	// EventID is the producer's event id when it sent one, else a UUIDv7 assigned
	// at collection. Sinks deduplicate on it.
	EventID string `json:"event_id"`
	// Schema is the Iglu URI of the contract version the data was validated against.
	Schema string `json:"schema"`
	// ReceivedAt is the collector's clock when the request arrived.
	ReceivedAt time.Time `json:"received_at"`
	// SentAt is the producer's clock when it sent the request, if it said.
	SentAt *time.Time `json:"sent_at,omitempty"`
	// DeviceCreatedAt is the producer's clock when the event happened, if it said.
	DeviceCreatedAt *time.Time `json:"device_created_at,omitempty"`
	// TrueTimestamp is a time the producer vouches for (e.g. a server-side
	// tracker's own clock), if it said.
	TrueTimestamp *time.Time `json:"true_timestamp,omitempty"`
	// EventTime is the best estimate of when the event happened: TrueTimestamp if
	// set, else DeviceCreatedAt corrected by the device clock's skew
	// (ReceivedAt - SentAt) when both are known and the event was created no
	// later than it was sent (else ReceivedAt: a device that says otherwise
	// has a broken clock, and the correction would put the event in the
	// future), else DeviceCreatedAt, else ReceivedAt. This is Snowplow's
	// derived_tstamp, but for a device time without a send time, which
	// Snowplow replaces by the collector's: a producer that backfills history
	// sends no send time, and its events happened when it says.
	EventTime time.Time `json:"event_time"`
	Source    Source    `json:"source"`
	// Validation records how the event was checked.
	Validation Validation `json:"validation"`
	// Data is the event's payload in its stored shape (scrubbed).
	Data json.RawMessage `json:"data"`
	// Contexts are entities attached to the event, each validated against and
	// scrubbed by its own contract.
	Contexts []Entity `json:"contexts,omitempty"`
	// Scrubbed lists the personal-data handling applied to Data and Contexts.
	Scrubbed []Applied `json:"scrubbed,omitempty"`
}

// Source says where an event came from.
type Source struct {
	// Protocol is how the event arrived: "native", "snowplow" or "segment".
	Protocol string `json:"protocol"`
	// App is the producer's application id (Snowplow aid, Segment write key's
	// source name, or the native X-Accord-App header), if known.
	App string `json:"app,omitempty"`
	// Platform is the producer's platform (web, mob, srv, ...), if known.
	Platform string `json:"platform,omitempty"`
	// Collector names the collector instance that accepted the event.
	Collector string `json:"collector"`
	// Tracker names the tracker library and version, if the producer said.
	Tracker string `json:"tracker,omitempty"`
}

// Validation records how an event was validated.
type Validation struct {
	// Outcome is "valid" for envelopes; bad rows carry the failures instead.
	Outcome string `json:"outcome"`
	// Validator names the engine: "fast" (compiled program) or "reference".
	Validator string `json:"validator,omitempty"`
}

// Entity is a self-describing value: a context attached to an event.
type Entity struct {
	Schema string          `json:"schema"`
	Data   json.RawMessage `json:"data"`
}

// Applied records that one field was handled as its contract says.
type Applied struct {
	// Pointer is the concrete JSON pointer of the field in the entity's data.
	Pointer string `json:"pointer"`
	// Entity is "" for the event's data, else the schema URI of the context.
	Entity   string `json:"entity,omitempty"`
	Kind     string `json:"kind"`
	Handling string `json:"handling"`
}

// NewID returns a fresh UUIDv7 (time-ordered) event id.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source fails; fall back to v4,
		// which fails the same way, so surface a nil UUID rather than panic.
		return uuid.NewString()
	}
	return id.String()
}

// DerivedTime computes EventTime as documented on Envelope.
func DerivedTime(received time.Time, sent, device, true_ *time.Time) time.Time {
	switch {
	case true_ != nil:
		return *true_
	case device != nil && sent != nil:
		if device.After(*sent) {
			return received
		}
		return device.Add(received.Sub(*sent))
	case device != nil:
		return *device
	default:
		return received
	}
}
