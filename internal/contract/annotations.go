package contract

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Owner is the x-owner annotation: who answers for the contract.
type Owner struct {
	Team    string `json:"team"`
	Contact string `json:"contact,omitempty"`
}

// Status is where a contract is in its lifecycle.
type Status string

// Lifecycle statuses. A retired contract no longer accepts events.
const (
	StatusActive     Status = "active"
	StatusDeprecated Status = "deprecated"
	StatusRetired    Status = "retired"
)

// Lifecycle is the x-lifecycle annotation.
type Lifecycle struct {
	Status Status `json:"status"`
	// Retention is the ISO-8601 duration events are kept for, as written ("P400D").
	Retention string `json:"retention,omitempty"`
	// RetentionDays is Retention in days (months count 30 days, years 365), 0 when unset.
	RetentionDays int `json:"retention_days,omitempty"`
	// ReplacedBy names the contract producers should move to, when deprecated or retired.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// Sunset is the date after which a deprecated contract is retired.
	Sunset string `json:"sunset,omitempty"`
}

// Ref points at the value of a privacy role: a JSON pointer into the event
// (Field) or a fixed value for every event of the contract (Value).
type Ref struct {
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
}

// IsZero reports whether the reference is unset.
func (r Ref) IsZero() bool { return r.Field == "" && r.Value == "" }

// String formats the reference for messages.
func (r Ref) String() string {
	if r.Field != "" {
		return "field " + r.Field
	}
	return "value " + strconv.Quote(r.Value)
}

// Privacy is the x-privacy annotation: who controls the data and whom it is about.
type Privacy struct {
	Controller Ref `json:"controller"`
	Subject    Ref `json:"subject"`
}

// Kind is what kind of personal data a field holds.
type Kind string

// The kinds of personal data Accord knows how to handle.
const (
	KindEmail         Kind = "email"
	KindPhone         Kind = "phone"
	KindIP            Kind = "ip"
	KindUserAgent     Kind = "user_agent"
	KindName          Kind = "name"
	KindAddress       Kind = "address"
	KindPostalCode    Kind = "postal_code"
	KindGeo           Kind = "geo"
	KindDeviceID      Kind = "device_id"
	KindAdvertisingID Kind = "advertising_id"
	KindUserID        Kind = "user_id"
	KindDateOfBirth   Kind = "date_of_birth"
	KindGovernmentID  Kind = "government_id"
	KindPaymentCard   Kind = "payment_card"
	KindURL           Kind = "url"
	KindFreeText      Kind = "free_text"
	KindOther         Kind = "other"
)

// Kinds lists every known kind, sorted.
var Kinds = []Kind{KindAddress, KindAdvertisingID, KindDateOfBirth, KindDeviceID, KindEmail,
	KindFreeText, KindGeo, KindGovernmentID, KindIP, KindName, KindOther, KindPaymentCard,
	KindPhone, KindPostalCode, KindURL, KindUserAgent, KindUserID}

// Handling is what the scrubber does with a PII field before anything stores it.
type Handling string

// Handlings, from most to least protective of the stored value.
const (
	HandlingDrop      Handling = "drop"
	HandlingTokenize  Handling = "tokenize"
	HandlingHash      Handling = "hash"
	HandlingObfuscate Handling = "obfuscate"
	HandlingKeep      Handling = "keep"
)

// Obfuscations lists the kinds that have a generalisation keeping analytical
// value (see StoredFieldSchema); other kinds must be tokenized, hashed, dropped or
// kept.
var Obfuscations = []Kind{KindIP, KindUserAgent, KindGeo, KindEmail, KindPhone, KindPostalCode, KindDateOfBirth, KindURL}

// Handlings lists every handling.
var Handlings = []Handling{HandlingDrop, HandlingTokenize, HandlingHash, HandlingObfuscate, HandlingKeep}

// PII is the x-pii annotation of one field.
type PII struct {
	Kind     Kind     `json:"kind"`
	Handling Handling `json:"handling"`
	// Reason says why a field is kept in plain text; required with handling keep.
	Reason string `json:"reason,omitempty"`
}

// annotationProblem is a problem found while reading an annotation; pointer is
// the location in the schema document.
type annotationProblem struct {
	pointer string
	rule    string
	msg     string
}

type annotationReader struct {
	problems []annotationProblem
}

func (r *annotationReader) addf(pointer, rule, format string, args ...any) {
	r.problems = append(r.problems, annotationProblem{pointer: pointer, rule: rule, msg: fmt.Sprintf(format, args...)})
}

// object returns doc[key] as an object, reporting a problem when it has another type.
func (r *annotationReader) object(doc map[string]any, key, pointer string) (map[string]any, bool) {
	v, ok := doc[key]
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.addf(pointer, RuleAnnotation, "%s must be an object, not %s", key, typeName(v))
		return nil, false
	}
	return m, true
}

// str returns m[key] as a string, reporting a problem when it has another type.
func (r *annotationReader) str(m map[string]any, key, pointer string) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.addf(pointer+"/"+escape(key), RuleAnnotation, "%s must be a string, not %s", key, typeName(v))
		return ""
	}
	return s
}

// unknownKeys reports keys of m outside allowed: annotations are decoded strictly
// so that a typo does not silently disable a privacy rule.
func (r *annotationReader) unknownKeys(m map[string]any, pointer string, allowed ...string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			r.addf(pointer+"/"+escape(k), RuleAnnotation, "unknown key %q; allowed keys are %s", clip(k), strings.Join(allowed, ", "))
		}
	}
}

func (r *annotationReader) owner(doc map[string]any) *Owner {
	m, ok := r.object(doc, "x-owner", "/x-owner")
	if !ok {
		return nil
	}
	r.unknownKeys(m, "/x-owner", "team", "contact")
	o := &Owner{Team: r.str(m, "team", "/x-owner"), Contact: r.str(m, "contact", "/x-owner")}
	if strings.TrimSpace(o.Team) == "" {
		r.addf("/x-owner", RuleOwner, "x-owner needs a team: add `team: <the team that answers for this contract>`")
	}
	return o
}

func (r *annotationReader) lifecycle(doc map[string]any) Lifecycle {
	lc := Lifecycle{Status: StatusActive}
	m, ok := r.object(doc, "x-lifecycle", "/x-lifecycle")
	if !ok {
		return lc
	}
	r.unknownKeys(m, "/x-lifecycle", "status", "retention", "replaced_by", "sunset")
	if s := r.str(m, "status", "/x-lifecycle"); s != "" {
		switch Status(s) {
		case StatusActive, StatusDeprecated, StatusRetired:
			lc.Status = Status(s)
		default:
			r.addf("/x-lifecycle/status", RuleAnnotation, "status %q is not one of active, deprecated, retired", clip(s))
		}
	}
	lc.Retention = r.str(m, "retention", "/x-lifecycle")
	if lc.Retention != "" {
		days, err := ParseRetention(lc.Retention)
		if err != nil {
			r.addf("/x-lifecycle/retention", RuleRetention, "%v", err)
		}
		lc.RetentionDays = days
	}
	lc.ReplacedBy = r.str(m, "replaced_by", "/x-lifecycle")
	if lc.ReplacedBy != "" {
		if _, err := ParseURI(lc.ReplacedBy); err != nil {
			r.addf("/x-lifecycle/replaced_by", RuleAnnotation, "replaced_by: %v", err)
		}
	}
	lc.Sunset = r.str(m, "sunset", "/x-lifecycle")
	if lc.Sunset != "" {
		if _, err := time.Parse(time.DateOnly, lc.Sunset); err != nil {
			r.addf("/x-lifecycle/sunset", RuleAnnotation, "sunset %q must be a date YYYY-MM-DD", clip(lc.Sunset))
		}
	}
	return lc
}

func (r *annotationReader) privacy(doc map[string]any) *Privacy {
	m, ok := r.object(doc, "x-privacy", "/x-privacy")
	if !ok {
		return nil
	}
	r.unknownKeys(m, "/x-privacy", "controller", "subject")
	return &Privacy{Controller: r.ref(m, "controller"), Subject: r.ref(m, "subject")}
}

func (r *annotationReader) ref(m map[string]any, key string) Ref {
	pointer := "/x-privacy/" + key
	rm, ok := r.object(m, key, pointer)
	if !ok {
		return Ref{}
	}
	r.unknownKeys(rm, pointer, "field", "value")
	ref := Ref{Field: r.str(rm, "field", pointer), Value: r.str(rm, "value", pointer)}
	switch {
	case ref.Field != "" && ref.Value != "":
		r.addf(pointer, RuleAnnotation, "%s has both field and value; keep one", key)
	case ref.Field == "" && ref.Value == "":
		r.addf(pointer, RuleAnnotation, "%s needs `field: /json/pointer` into the event or `value: <fixed value>`", key)
	case ref.Field != "" && !strings.HasPrefix(ref.Field, "/"):
		r.addf(pointer+"/field", RuleAnnotation, "%s field %q must be a JSON pointer starting with / (for example /shop_id)", key, clip(ref.Field))
	}
	return ref
}

// pii reads the x-pii annotation of the schema at pointer, if any.
func (r *annotationReader) pii(schema map[string]any, pointer string) *PII {
	m, ok := r.object(schema, "x-pii", pointer+"/x-pii")
	if !ok {
		return nil
	}
	p := pointer + "/x-pii"
	r.unknownKeys(m, p, "kind", "handling", "reason")
	out := &PII{Kind: Kind(r.str(m, "kind", p)), Handling: Handling(r.str(m, "handling", p)), Reason: r.str(m, "reason", p)}
	if out.Kind == "" {
		r.addf(p, RuleAnnotation, "x-pii needs a kind, one of %s", joinKinds())
	} else if !slices.Contains(Kinds, out.Kind) {
		r.addf(p+"/kind", RuleAnnotation, "x-pii kind %q is not one of %s", clip(string(out.Kind)), joinKinds())
	}
	if out.Handling == "" {
		r.addf(p, RuleAnnotation, "x-pii needs a handling, one of drop, tokenize, hash, obfuscate, keep")
	} else if !slices.Contains(Handlings, out.Handling) {
		r.addf(p+"/handling", RuleAnnotation, "x-pii handling %q is not one of drop, tokenize, hash, obfuscate, keep", clip(string(out.Handling)))
	}
	if out.Handling == HandlingObfuscate && out.Kind != "" && slices.Contains(Kinds, out.Kind) && !slices.Contains(Obfuscations, out.Kind) {
		r.addf(p+"/handling", RuleAnnotation, "kind %s has no obfuscation that keeps analytical value; use tokenize, hash or drop (obfuscate works for ip, user_agent, geo, email, phone, postal_code, date_of_birth, url)", out.Kind)
	}
	return out
}

// eventNames reads x-event-names: the names under which Segment-style track calls
// are validated against this contract.
func (r *annotationReader) eventNames(doc map[string]any) []string {
	v, ok := doc["x-event-names"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		r.addf("/x-event-names", RuleAnnotation, "x-event-names must be a list of event names, e.g. [Order Completed]")
		return nil
	}
	var out []string
	for i, item := range list {
		s, ok := item.(string)
		if !ok || strings.TrimSpace(s) == "" {
			r.addf(fmt.Sprintf("/x-event-names/%d", i), RuleAnnotation, "event names must be non-empty strings")
			continue
		}
		out = append(out, s)
	}
	return out
}

func joinKinds() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// ParseRetention parses an ISO-8601 duration such as P400D, P1Y6M or PT12H and
// returns it in whole days, rounded up (months count 30 days, years 365).
func ParseRetention(s string) (int, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("retention %q is not an ISO-8601 duration such as P400D, P13M or P2Y", clip(s))
	}
	mult := []int{365 * 24, 30 * 24, 7 * 24, 24, 1, 0, 0}
	hours, seconds := 0, 0
	for i, part := range m[1:] {
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("retention %q: %s is too large", clip(s), part)
		}
		switch i {
		case 5:
			seconds += n * 60
		case 6:
			seconds += n
		default:
			hours += n * mult[i]
		}
	}
	total := hours*3600 + seconds
	if total == 0 {
		return 0, fmt.Errorf("retention %q is zero; use a positive duration such as P30D", s)
	}
	return (total + 86399) / 86400, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return "a number"
	}
}
