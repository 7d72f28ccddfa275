package registry

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Reasons a validation result is negative. They are the same snake_case values
// the collector uses in its responses, bad rows and metric labels.
const (
	ReasonMalformedJSON    = "malformed_json"
	ReasonMalformedEvent   = "malformed_event"
	ReasonSchemaURIInvalid = "schema_uri_invalid"
	ReasonSchemaNotFound   = "schema_not_found"
	ReasonSchemaViolation  = "schema_violation"
	ReasonContextViolation = "context_violation"
	ReasonContractRetired  = "contract_retired"
	ReasonPayloadTooLarge  = "payload_too_large"
)

// Result is the verdict on one event. It never holds a value of the event: only
// the schema URI, JSON pointers, keywords and messages that name the rule.
type Result struct {
	// Line is the 1-based line of the event in NDJSON input, 0 otherwise.
	Line   int    `json:"line,omitempty"`
	Valid  bool   `json:"valid"`
	Schema string `json:"schema,omitempty"`
	// Reason is set when Valid is false: schema_violation, schema_not_found, ...
	Reason string `json:"reason,omitempty"`
	// Message explains Reason when the failures alone do not.
	Message  string             `json:"message,omitempty"`
	Failures []contract.Failure `json:"failures"`
	// Warnings say what a producer should know although the event is accepted,
	// such as a deprecated contract.
	Warnings []string `json:"warnings,omitempty"`
	// Contexts holds the verdict on each context entity of the event, in order.
	Contexts []Result `json:"contexts,omitempty"`
}

// CheckData validates data, the payload of one event, against the contract c. A
// retired contract rejects every event (reason contract_retired); a deprecated
// one accepts them with a warning.
func CheckData(c *contract.Compiled, data any) Result {
	res := Result{Schema: c.Key.URI(), Valid: true, Failures: c.Validate(data)}
	if res.Failures == nil {
		res.Failures = []contract.Failure{}
	}
	if len(res.Failures) > 0 {
		res.Valid = false
		res.Reason = ReasonSchemaViolation
	}
	lc := c.Lifecycle
	switch lc.Status {
	case contract.StatusRetired:
		res.Valid = false
		res.Reason = ReasonContractRetired
		res.Message = "the contract is retired and accepts no events" + replacement(lc)
	case contract.StatusDeprecated:
		w := "the contract is deprecated" + replacement(lc)
		if lc.Sunset != "" {
			w += "; it is retired after " + lc.Sunset
		}
		res.Warnings = append(res.Warnings, w)
	}
	return res
}

func replacement(lc contract.Lifecycle) string {
	if lc.ReplacedBy == "" {
		return ""
	}
	return "; send " + lc.ReplacedBy + " instead"
}

// CheckEvent validates a self-describing event {"schema": "iglu:...", "data":
// ..., "contexts": [...]} (as decoded by DecodeDocuments) against the contracts
// of snap. Each context entity is itself {"schema", "data"}; a failing context
// makes the event invalid with reason context_violation.
func CheckEvent(snap *contract.Snapshot, ev any) Result {
	obj, ok := ev.(map[string]any)
	if !ok {
		return malformed(`an event is a JSON object {"schema": "iglu:...", "data": {...}}`)
	}
	res := checkEntity(snap, obj, "the event")
	if res.Reason == ReasonMalformedEvent || res.Reason == ReasonSchemaURIInvalid {
		return res
	}
	ctxs, present := obj["contexts"]
	if !present || ctxs == nil {
		return res
	}
	list, ok := ctxs.([]any)
	if !ok {
		res.Valid = false
		res.Reason = ReasonMalformedEvent
		res.Message = `contexts must be an array of {"schema": "iglu:...", "data": {...}} entities`
		return res
	}
	for i, item := range list {
		what := fmt.Sprintf("context %d", i)
		m, ok := item.(map[string]any)
		var cr Result
		if ok {
			cr = checkEntity(snap, m, what)
		} else {
			cr = malformed(what + ` must be an object {"schema": "iglu:...", "data": {...}}`)
		}
		if !cr.Valid && res.Valid {
			res.Valid = false
			res.Reason = ReasonContextViolation
			res.Message = what + " is invalid (see contexts)"
		}
		res.Contexts = append(res.Contexts, cr)
	}
	return res
}

// checkEntity validates one {"schema", "data"} object; what names it in messages.
func checkEntity(snap *contract.Snapshot, obj map[string]any, what string) Result {
	raw, ok := obj["schema"]
	if !ok {
		return malformed(what + ` has no "schema": add "schema": "iglu:<vendor>/<name>/jsonschema/<version>"`)
	}
	uri, ok := raw.(string)
	if !ok {
		return malformed(what + `'s "schema" must be a string iglu:<vendor>/<name>/jsonschema/<version>`)
	}
	data, ok := obj["data"]
	if !ok {
		return malformed(what + ` has no "data": put the event's fields under "data"`)
	}
	key, err := contract.ParseURI(uri)
	if err != nil {
		// The message does not repeat the URI: it is outside input.
		return Result{Reason: ReasonSchemaURIInvalid, Failures: []contract.Failure{},
			Message: what + `'s "schema" is not an Iglu URI iglu:<vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>, for example iglu:com.acme/signup/jsonschema/1-0-0`}
	}
	c, ok := snap.Get(key)
	if !ok {
		return Result{Schema: key.URI(), Reason: ReasonSchemaNotFound, Failures: []contract.Failure{}, Message: NotFoundMessage(snap, key)}
	}
	return CheckData(c, data)
}

// NotFoundMessage explains that key is not in snap, naming the versions of its
// family that are, so that a producer on the wrong version sees which to use.
func NotFoundMessage(snap *contract.Snapshot, key contract.Key) string {
	msg := "no contract " + key.URI() + " in the registry"
	versions := snap.Versions(key.Family())
	if len(versions) == 0 {
		return msg
	}
	vs := make([]string, len(versions))
	for i, c := range versions {
		vs[i] = c.Key.Version.String()
	}
	return msg + "; " + key.Vendor + "/" + key.Name + " has " + strings.Join(vs, ", ")
}

func malformed(msg string) Result {
	return Result{Reason: ReasonMalformedEvent, Message: msg, Failures: []contract.Failure{}}
}

// CheckInput validates the events of a file offline. input is one JSON document
// (which may span many lines) or NDJSON, one document per line; a top-level array
// is one document, not a list. With c set, each document is the data of one
// event of c; with c nil, each is a self-describing event resolved in snap.
// Malformed documents get reason malformed_json and do not stop the others.
func CheckInput(snap *contract.Snapshot, c *contract.Compiled, input []byte) []Result {
	_, docs := DecodeDocuments(input, false)
	results := make([]Result, len(docs))
	for i, d := range docs {
		switch {
		case d.Err != nil:
			results[i] = Result{Reason: ReasonMalformedJSON, Message: d.Err.Error(), Failures: []contract.Failure{}}
		case c != nil:
			results[i] = CheckData(c, d.Value)
		default:
			results[i] = CheckEvent(snap, d.Value)
		}
		results[i].Line = d.Line
	}
	return results
}
