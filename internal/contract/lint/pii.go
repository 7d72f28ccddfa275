package lint

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/accord-dev/accord/internal/contract"
)

// A field looks like personal data when its name, its format, its pattern or the
// values it shows (examples, default, const, enum) do. The name heuristics match
// the last words of the snake_case or camelCase name (after dropping qualifiers
// such as _hash or _2), so billing_email and emailAddress match but email_domain
// and email_opt_in do not.

// namePattern maps a name ending to a kind. Longer endings are tried first, so
// ip_address is an IP and not a postal address.
type namePattern struct {
	words []string
	kind  contract.Kind
}

var namePatterns = buildNamePatterns(map[contract.Kind][]string{
	contract.KindEmail:         {"email", "email address", "e mail", "mail address", "emailaddress"},
	contract.KindPhone:         {"phone", "phone number", "phone no", "telephone", "tel", "mobile number", "mobile phone", "msisdn", "cell phone", "fax", "fax number", "phonenumber"},
	contract.KindIP:            {"ip", "ip address", "ip addr", "ipv4", "ipv6", "remote addr", "ipaddress", "ipv4 address", "ipv6 address"},
	contract.KindUserAgent:     {"user agent", "useragent", "ua", "ua string"},
	contract.KindName:          {"first name", "last name", "full name", "given name", "family name", "middle name", "maiden name", "display name", "legal name", "nick name", "nickname", "surname", "firstname", "lastname", "fullname", "recipient name", "customer name", "buyer name", "contact name", "billing name", "shipping name", "cardholder name", "holder name", "person name", "sender name", "receiver name", "user name", "username"},
	contract.KindAddress:       {"address", "street", "street address", "street name", "address line", "house number", "street number"},
	contract.KindPostalCode:    {"postal code", "postcode", "post code", "zip", "zip code", "zipcode", "postalcode"},
	contract.KindGeo:           {"lat", "latitude", "lng", "lon", "longitude", "coordinates", "coords", "geolocation", "geo", "gps"},
	contract.KindDeviceID:      {"device id", "deviceid", "udid", "imei", "meid", "android id", "idfv", "mac address", "mac addr", "anonymous id", "cookie id", "hardware id", "push token", "device token"},
	contract.KindAdvertisingID: {"idfa", "gaid", "aaid", "adid", "advertising id", "ad id", "ifa", "maid"},
	contract.KindDateOfBirth:   {"dob", "birth date", "birthdate", "date of birth", "birthday", "year of birth", "birth year"},
	contract.KindFreeText:      {"comment", "note", "message", "query", "search term", "search query", "feedback", "free text", "freetext", "remarks", "remark", "instructions", "bio"},
	contract.KindPaymentCard:   {"card number", "cardnumber", "pan", "cc number", "credit card", "credit card number", "cvv", "cvc", "iban"},
	contract.KindGovernmentID:  {"ssn", "social security number", "passport", "passport number", "national id", "tax id", "driver license", "drivers license", "driving licence", "driving license", "license number", "national insurance number"},
})

func buildNamePatterns(m map[contract.Kind][]string) []namePattern {
	var out []namePattern
	for k, list := range m {
		for _, s := range list {
			out = append(out, namePattern{words: strings.Fields(s), kind: k})
		}
	}
	slices.SortFunc(out, func(a, b namePattern) int {
		if len(a.words) != len(b.words) {
			return len(b.words) - len(a.words)
		}
		return strings.Compare(strings.Join(a.words, " "), strings.Join(b.words, " "))
	})
	return out
}

// qualifiers are trailing words that do not change what a field holds.
var qualifiers = map[string]bool{
	"hash": true, "hashed": true, "sha": true, "md": true, "raw": true,
	"plain": true, "plaintext": true, "normalized": true, "normalised": true, "encrypted": true,
	"value": true, "str": true, "string": true, "primary": true, "secondary": true,
}

// words splits a property name into lowercase words: snake_case, kebab-case,
// camelCase and digits all separate words.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsDigit(r) != (len(cur) > 0 && unicode.IsDigit(cur[len(cur)-1])) && len(cur) > 0:
			flush()
		case unicode.IsUpper(r) && len(cur) > 0 && (unicode.IsLower(cur[len(cur)-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// nameKind returns the kind of personal data a property name suggests.
func nameKind(name string, numeric bool) (contract.Kind, bool) {
	w := words(name)
	for len(w) > 1 && (qualifiers[w[len(w)-1]] || isNumber(w[len(w)-1])) {
		w = w[:len(w)-1]
	}
	if numeric && len(w) > 0 && w[len(w)-1] == "long" {
		return contract.KindGeo, true
	}
	for _, p := range namePatterns {
		if endsWith(w, p.words) {
			return p.kind, true
		}
	}
	return "", false
}

func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// endsWith reports whether the name's words end with pattern; a word also
// matches its plural (emails, notes, addresses).
func endsWith(w, pattern []string) bool {
	if len(pattern) > len(w) {
		return false
	}
	off := len(w) - len(pattern)
	for i, p := range pattern {
		g := w[off+i]
		if g != p && g != p+"s" && g != p+"es" {
			return false
		}
	}
	return true
}

var formatKinds = map[string]contract.Kind{
	"email": contract.KindEmail, "idn-email": contract.KindEmail,
	"ipv4": contract.KindIP, "ipv6": contract.KindIP,
}

var (
	emailValue = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneValue = regexp.MustCompile(`^\+[1-9][0-9 ().-]{6,18}$`)
	cardValue  = regexp.MustCompile(`^[0-9][0-9 -]{11,22}[0-9]$`)
	// A pattern that requires a leading + followed by digits matches E.164 phone
	// numbers; one that requires an @ matches email addresses; dotted groups of
	// one to three digits match IPv4 addresses.
	phonePattern = regexp.MustCompile(`(\\\+|\[\+\]|\[\\\+\]).*(\\d|\[0-9\]|\[1-9\])`)
	emailPattern = regexp.MustCompile(`@`)
	ipv4Pattern  = regexp.MustCompile(`(\\d|\[0-9\])\{1,3\}\\\.`)
)

// valueKind returns the kind of personal data a value shown in a schema is.
func valueKind(v any) (contract.Kind, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	switch {
	case emailValue.MatchString(s):
		return contract.KindEmail, true
	case phoneValue.MatchString(s):
		return contract.KindPhone, true
	case cardValue.MatchString(s) && luhn(s):
		return contract.KindPaymentCard, true
	}
	if a, err := netip.ParseAddr(s); err == nil && !a.IsUnspecified() {
		return contract.KindIP, true
	}
	return "", false
}

// luhn reports whether the digits of s pass the Luhn check that card numbers
// carry.
func luhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && n <= 19 && sum%10 == 0
}

// piiEvidence says why a field looks like personal data, and of which kind.
type piiEvidence struct {
	kind contract.Kind
	why  string
}

// looksLikePII inspects a property named name whose schema chain (the property
// and what its $ref points at) is chain.
func looksLikePII(name string, chain []map[string]any) (piiEvidence, bool) {
	ts := types(chain)
	numeric := len(ts) > 0 && !slices.Contains(ts, "string")
	if k, ok := nameKind(name, numeric); ok {
		return piiEvidence{k, fmt.Sprintf("its name %q suggests %s", name, kindWords(k))}, true
	}
	if f := str(chain, "format"); f != "" {
		if k, ok := formatKinds[f]; ok {
			return piiEvidence{k, fmt.Sprintf("its format is %s", f)}, true
		}
	}
	if pat := str(chain, "pattern"); pat != "" {
		switch {
		case phonePattern.MatchString(pat):
			return piiEvidence{contract.KindPhone, "its pattern matches phone numbers in E.164 form"}, true
		case emailPattern.MatchString(pat):
			return piiEvidence{contract.KindEmail, "its pattern matches email addresses"}, true
		case ipv4Pattern.MatchString(pat):
			return piiEvidence{contract.KindIP, "its pattern matches IPv4 addresses"}, true
		}
	}
	for _, s := range chain {
		for _, kw := range []string{"examples", "enum", "default", "const", "example"} {
			vals, ok := s[kw].([]any)
			if !ok {
				vals = []any{s[kw]}
			}
			for _, v := range vals {
				if k, ok := valueKind(v); ok {
					return piiEvidence{k, fmt.Sprintf("%s is %s", valueWords[kw], kindWords(k))}, true
				}
			}
		}
	}
	return piiEvidence{}, false
}

var valueWords = map[string]string{
	"examples": "an example value", "example": "its example", "enum": "an enum value",
	"default": "its default", "const": "its const value",
}

// suggestedHandling is what the lint message proposes for a kind: the most
// protective handling that keeps the field useful.
var suggestedHandling = map[contract.Kind]contract.Handling{
	contract.KindEmail: contract.HandlingTokenize, contract.KindPhone: contract.HandlingTokenize,
	contract.KindIP: contract.HandlingObfuscate, contract.KindUserAgent: contract.HandlingObfuscate,
	contract.KindName: contract.HandlingHash, contract.KindAddress: contract.HandlingTokenize,
	contract.KindPostalCode: contract.HandlingObfuscate, contract.KindGeo: contract.HandlingObfuscate,
	contract.KindDeviceID: contract.HandlingTokenize, contract.KindAdvertisingID: contract.HandlingTokenize,
	contract.KindDateOfBirth: contract.HandlingObfuscate, contract.KindFreeText: contract.HandlingDrop,
	contract.KindPaymentCard: contract.HandlingDrop, contract.KindGovernmentID: contract.HandlingDrop,
}

func kindWords(k contract.Kind) string {
	switch k {
	case contract.KindEmail:
		return "an email address"
	case contract.KindPhone:
		return "a phone number"
	case contract.KindIP:
		return "an IP address"
	case contract.KindUserAgent:
		return "a user agent"
	case contract.KindName:
		return "a person's name"
	case contract.KindAddress:
		return "a postal address"
	case contract.KindPostalCode:
		return "a postal code"
	case contract.KindGeo:
		return "a location"
	case contract.KindDeviceID:
		return "a device id"
	case contract.KindAdvertisingID:
		return "an advertising id"
	case contract.KindDateOfBirth:
		return "a date of birth"
	case contract.KindFreeText:
		return "free text"
	case contract.KindPaymentCard:
		return "a payment card number"
	case contract.KindGovernmentID:
		return "a government id"
	}
	return string(k)
}

// checkPII reports properties that look like personal data but carry no x-pii.
func checkPII(p *pass, c *contract.Contract, n node, chain []map[string]any) {
	if anyHas(chain, "x-pii") {
		return
	}
	ts := types(chain)
	if items, ok := firstMap(chain, "items"); ok {
		ichain := resolve(c.Doc, items)
		if anyHas(ichain, "x-pii") {
			return
		}
		if len(ts) == 1 && ts[0] == "array" {
			// A list of emails is judged by its items' type and values.
			ts = types(ichain)
			chain = append(append([]map[string]any(nil), chain...), ichain...)
		}
	}
	if len(ts) > 0 && !slices.ContainsFunc(ts, func(t string) bool { return t == "string" || t == "number" || t == "integer" }) {
		return // objects, booleans and nulls hold no personal data themselves
	}
	ev, ok := looksLikePII(n.name, chain)
	if !ok {
		return
	}
	p.add(c, n.pointer, RulePII,
		"field %s looks like personal data (%s) but has no x-pii: add `x-pii: {kind: %s, handling: %s}` so it is scrubbed before anything stores it, or, if it holds no personal data, silence this with `x-lint-disable: [%s]` on the field",
		fieldName(n.pointer), ev.why, ev.kind, suggestedHandling[ev.kind], RulePII)
}

func firstMap(chain []map[string]any, keyword string) (map[string]any, bool) {
	for _, s := range chain {
		if m, ok := s[keyword].(map[string]any); ok {
			return m, true
		}
	}
	return nil, false
}

// fieldName turns a schema pointer into the dotted field name people read:
// /properties/device/properties/os -> device.os, /properties/items/items/... -> items[].sku.
func fieldName(pointer string) string {
	toks := contract.SplitPointer(pointer)
	var b strings.Builder
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "properties", "$defs", "definitions", "patternProperties":
			if i+1 < len(toks) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(toks[i+1])
				i++
			}
		case "items", "prefixItems":
			b.WriteString("[]")
			if toks[i] == "prefixItems" && i+1 < len(toks) {
				i++
			}
		}
	}
	if b.Len() == 0 {
		return pointer
	}
	return b.String()
}
