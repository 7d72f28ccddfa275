package event

import (
	"encoding/json"
	"time"
)

// Reason is the fixed snake_case cause of a rejection. The same value appears in
// the HTTP response, the bad row and the metric label.
type Reason string

// Rejection reasons.
const (
	ReasonSchemaNotFound        Reason = "schema_not_found"
	ReasonSchemaURIInvalid      Reason = "schema_uri_invalid"
	ReasonSchemaViolation       Reason = "schema_violation"
	ReasonContextViolation      Reason = "context_violation"
	ReasonPayloadTooLarge       Reason = "payload_too_large"
	ReasonMalformedJSON         Reason = "malformed_json"
	ReasonMalformedEvent        Reason = "malformed_event"
	ReasonLimitExceeded         Reason = "limit_exceeded"
	ReasonContractRetired       Reason = "contract_retired"
	ReasonPrivacyContextMissing Reason = "privacy_context_missing"
	ReasonEventNameUnknown      Reason = "event_name_unknown"
	ReasonUnsupportedEncoding   Reason = "unsupported_encoding"
	ReasonScrubFailed           Reason = "scrub_failed"
	ReasonTimestampInvalid      Reason = "timestamp_invalid"
	ReasonDuplicateEventInBatch Reason = "duplicate_event_in_batch"
	// ReasonInvalidUTF8: a string of the event (in its data, a context's data,
	// or a tracker parameter) is not valid UTF-8, which JSON text must be.
	ReasonInvalidUTF8 Reason = "invalid_utf8"
)

// Failure is one reason an event was rejected, precise enough to fix it.
type Failure struct {
	// Pointer is the JSON pointer of the failing value in the entity's data.
	Pointer string `json:"pointer"`
	// Keyword is the JSON Schema keyword that failed, when a schema failed.
	Keyword string `json:"keyword,omitempty"`
	// KeywordLocation locates the keyword in the contract.
	KeywordLocation string `json:"keyword_location,omitempty"`
	Message         string `json:"message"`
	// Entity is "" for the event's data, else the schema URI of the context.
	Entity string `json:"entity,omitempty"`
}

// BadRow is a rejected event: what is needed to fix and replay it, and why it was
// rejected. Personal data that the contract marks as PII is redacted from Payload.
type BadRow struct {
	V          int       `json:"v"`
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     Reason    `json:"reason"`
	// Schema is the Iglu URI the producer named, when it named one.
	Schema   string    `json:"schema,omitempty"`
	EventID  string    `json:"event_id,omitempty"`
	Source   Source    `json:"source"`
	Failures []Failure `json:"failures"`
	// Payload is the event as received (PII fields redacted) when it was valid
	// JSON; PayloadText holds at most 64 KiB of it otherwise.
	Payload     json.RawMessage `json:"payload,omitempty"`
	PayloadText string          `json:"payload_text,omitempty"`
	// PayloadWithheld says why the payload is not kept: the event was not JSON and
	// names a contract with personal data, so no field of it could be redacted.
	PayloadWithheld string `json:"payload_withheld,omitempty"`
	// Sealed lists the JSON pointers, into Payload (/data/..., /contexts/N/data/...),
	// of the PII values that Payload holds sealed under the event's data
	// subject (vault sealed values): the event can be replayed while the subject
	// is not forgotten.
	Sealed []string `json:"sealed,omitempty"`
	// Redacted lists the pointers of the PII fields that were redacted from
	// Payload (their values are gone): into the event's data, or a context's
	// data prefixed with its schema URI and "#".
	Redacted []string `json:"redacted,omitempty"`
	// SentAt, DeviceCreatedAt and TrueTimestamp are the producer's times, as the
	// envelope would have had them, for a replay.
	SentAt          *time.Time `json:"sent_at,omitempty"`
	DeviceCreatedAt *time.Time `json:"device_created_at,omitempty"`
	TrueTimestamp   *time.Time `json:"true_timestamp,omitempty"`
}

// MaxBadPayloadText bounds PayloadText.
const MaxBadPayloadText = 64 << 10
