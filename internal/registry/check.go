package registry

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
	"github.com/accord-dev/accord/internal/jsonscan"
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
	ReasonInvalidUTF8      = "invalid_utf8"
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

// The validation engines a Checker (and the collector) can use.
const (
	// ValidatorFast checks an event's bytes in one pass with the program compiled
	// from its contract (internal/contract/fastval), and asks the reference
	// validator only to name the failures of an invalid event or to check a
	// contract outside the fast subset. It is the default.
	ValidatorFast = "fast"
	// ValidatorReference decodes every event into a tree and validates it with
	// santhosh-tekuri/jsonschema: for comparison, and as an escape hatch.
	ValidatorReference = "reference"
)

// ParseValidator checks the name of a validation engine; empty means fast.
func ParseValidator(name string) (string, error) {
	switch name {
	case "", ValidatorFast:
		return ValidatorFast, nil
	case ValidatorReference:
		return ValidatorReference, nil
	}
	return "", fmt.Errorf("validator %q is not %s or %s", name, ValidatorFast, ValidatorReference)
}

// Checker validates events against the contracts of one snapshot. Its verdicts
// and failures are the reference validator's whichever engine decides them.
type Checker struct {
	Snap *contract.Snapshot
	// Fast holds the compiled programs of the fast validator; nil validates every
	// event with the reference validator alone.
	Fast *fastval.Cache
}

// NewChecker returns a Checker of snap using the named engine (see
// ParseValidator) with a cache of its own.
func NewChecker(snap *contract.Snapshot, validator string) (Checker, error) {
	v, err := ParseValidator(validator)
	if err != nil {
		return Checker{}, err
	}
	k := Checker{Snap: snap}
	if v == ValidatorFast {
		k.Fast = fastval.NewCache()
	}
	return k, nil
}

// Data validates data, the payload of one event, against the contract c; raw is
// data's JSON (nil when only the tree is at hand). A retired contract rejects
// every event (reason contract_retired); a deprecated one accepts them with a
// warning.
func (k Checker) Data(c *contract.Compiled, raw []byte, data any) Result {
	if c.Lifecycle.Status != contract.StatusRetired { // the collector says retired first
		if res, invalid := notUTF8(raw); invalid {
			res.Schema = c.Key.URI()
			return res
		}
	}
	return k.result(c, k.failures(c, raw, data, ""))
}

// notUTF8 is the verdict on a document that is not valid UTF-8, as the
// collector gives it (reason invalid_utf8): decoded, its invalid bytes read as
// U+FFFD, which would validate a value other than the one sent. The failure's
// pointer is relative to the document (raw).
func notUTF8(raw []byte) (Result, bool) {
	e, invalid := jsonscan.FindInvalidUTF8(raw)
	if !invalid {
		return Result{}, false
	}
	return Result{Reason: ReasonInvalidUTF8, Message: "the event is not valid UTF-8",
		Failures: []contract.Failure{{Pointer: e.Pointer, Message: e.Message()}}}, true
}

// failures validates data against c: the fast program decides on raw (on its
// member, when member is set) and only an invalid event, or a contract the
// program cannot check, goes through the reference validator.
func (k Checker) failures(c *contract.Compiled, raw []byte, data any, member string) []contract.Failure {
	if k.Fast != nil && raw != nil {
		var valid, known bool
		if member == "" {
			valid, known = k.Fast.Valid(c, raw)
		} else {
			valid, known = k.Fast.ValidMember(c, raw, member)
		}
		if known && valid {
			return []contract.Failure{}
		}
	}
	f := c.Validate(data)
	if f == nil {
		f = []contract.Failure{}
	}
	return f
}

// result is the verdict on an event of c with failures f.
func (k Checker) result(c *contract.Compiled, f []contract.Failure) Result {
	res := Result{Schema: c.Key.URI(), Valid: true, Failures: f}
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

// Event validates a self-describing event {"schema": "iglu:...", "data": ...,
// "contexts": [...]} (as decoded by DecodeDocuments; raw is its JSON, nil when
// only the tree is at hand) against the contracts of the snapshot. Each context
// entity is itself {"schema", "data"}; a failing context makes the event invalid
// with reason context_violation.
func (k Checker) Event(raw []byte, ev any) Result {
	obj, ok := ev.(map[string]any)
	if !ok {
		return malformed(`an event is a JSON object {"schema": "iglu:...", "data": {...}}`)
	}
	res := k.entity(raw, obj, "the event")
	if res.Reason == ReasonMalformedEvent || res.Reason == ReasonSchemaURIInvalid {
		return res
	}
	// Checked on the whole event, whichever engine validates its parts, once
	// its contract is known to take events (as the collector orders them): the
	// failure's pointer is from the event's top (/data/..., /contexts/0/data/...).
	if bad, invalid := notUTF8(raw); invalid && res.Reason != ReasonSchemaNotFound && res.Reason != ReasonContractRetired {
		bad.Schema = res.Schema
		return bad
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
	rawList := k.rawContexts(raw, len(list))
	for i, item := range list {
		what := fmt.Sprintf("context %d", i)
		m, ok := item.(map[string]any)
		var cr Result
		if ok {
			cr = k.entity(rawList[i], m, what)
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

// rawContexts returns the JSON of each of the n context entities of the event
// raw, or n nils when the reference validator decides (no fast engine, no raw).
func (k Checker) rawContexts(raw []byte, n int) [][]byte {
	out := make([][]byte, n)
	if k.Fast == nil || raw == nil {
		return out
	}
	// The last "contexts" member counts, as in the decoded tree; raw was
	// decoded already, so the scans below cannot fail.
	var list []byte
	if _, err := jsonscan.Members(raw, jsonscan.Space(raw, 0), func(k []byte, plain bool, s, e int) error {
		if !plain {
			k = jsonscan.AppendUnquoted(nil, k)
		}
		if string(k) == "contexts" {
			list = raw[s:e]
		}
		return nil
	}, 0); err != nil || list == nil || list[0] != '[' {
		return out // the tree decides
	}
	i := 0
	if _, err := jsonscan.Elements(list, 0, func(s, e int) error {
		if i < n {
			out[i] = list[s:e]
		}
		i++
		return nil
	}, 0); err != nil || i != n {
		return make([][]byte, n)
	}
	return out
}

// entity validates one {"schema", "data"} object (raw is its JSON, or nil); what
// names it in messages.
func (k Checker) entity(raw []byte, obj map[string]any, what string) Result {
	sv, ok := obj["schema"]
	if !ok {
		return malformed(what + ` has no "schema": add "schema": "iglu:<vendor>/<name>/jsonschema/<version>"`)
	}
	uri, ok := sv.(string)
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
	c, ok := k.Snap.Get(key)
	if !ok {
		return Result{Schema: key.URI(), Reason: ReasonSchemaNotFound, Failures: []contract.Failure{}, Message: NotFoundMessage(k.Snap, key)}
	}
	return k.result(c, k.failures(c, raw, data, "data"))
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

// Input validates the events of a file offline. input is one JSON document
// (which may span many lines) or NDJSON, one document per line; a top-level array
// is one document, not a list. With c set, each document is the data of one
// event of c; with c nil, each is a self-describing event resolved in the
// snapshot. Malformed documents get reason malformed_json and do not stop the
// others.
func (k Checker) Input(c *contract.Compiled, input []byte) []Result {
	_, docs := DecodeDocuments(input, false)
	results := make([]Result, len(docs))
	for i, d := range docs {
		switch {
		case d.Err != nil:
			results[i] = Result{Reason: ReasonMalformedJSON, Message: d.Err.Error(), Failures: []contract.Failure{}}
		case c != nil:
			results[i] = k.Data(c, d.Raw, d.Value)
		default:
			results[i] = k.Event(d.Raw, d.Value)
		}
		results[i].Line = d.Line
	}
	return results
}
