package scrub

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Invalid is what an obfuscated field holds when its value cannot be generalised
// (an IP address that does not parse, an email without '@', a phone number without
// an international prefix...). The raw value is never kept instead: the event is
// still stored, the field says "invalid", and Stats counts it per kind.
const Invalid = "invalid"

// emailDomain returns the lowercased domain of an email address: the part after
// the last '@', which is where a mailbox's provider or company shows.
func emailDomain(s string) (string, bool) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", false
	}
	d := strings.TrimSpace(s[at+1:])
	d = strings.TrimSuffix(d, ">") // "Jane <jane@example.com>"
	if d == "" || len(d) > 253 {
		return "", false
	}
	lower := true
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c >= 0x80:
		case c >= 'A' && c <= 'Z':
			lower = false
		case c == '[' || c == ']' || c == ':': // address literals: user@[192.0.2.1]
		default:
			return "", false
		}
	}
	if !utf8.ValidString(d) {
		return "", false
	}
	if !lower {
		d = strings.ToLower(d)
	}
	return d, true
}

// postalPrefix returns the first two characters of a postal code: the postal area
// (UK "SW", the German or French département-sized region), coarse enough to cover
// many thousands of people.
func postalPrefix(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) {
		return "", false
	}
	n := 0
	for i := range s {
		if n == 2 {
			return strings.ToUpper(s[:i]), true
		}
		n++
	}
	// One or two characters: already no finer than the area.
	return strings.ToUpper(s), true
}

// birthYear returns the year of a date of birth written as an ISO date or
// date-time (1990-05-17, 1990-05-17T00:00:00Z), a bare year, or a day-first or
// month-first date with a four-digit year at the end (17/05/1990, 05.17.1990).
func birthYear(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && allDigits(s[:4]) && (len(s) == 4 || s[4] == '-' || s[4] == '/' || s[4] == '.') {
		return s[:4], plausibleYear(s[:4])
	}
	if n := len(s); n >= 6 && allDigits(s[n-4:]) && (s[n-5] == '/' || s[n-5] == '.' || s[n-5] == '-') && !allDigits(s[:n-5]) {
		return s[n-4:], plausibleYear(s[n-4:])
	}
	return "", false
}

func plausibleYear(y string) bool {
	return y >= "1800" && y <= "2999"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// urlGeneralise keeps a URL's scheme, host and path, and removes what identifies a
// visitor rather than a page: the query (campaign, session and email parameters),
// the fragment (often OAuth tokens) and user info (credentials). Opaque URLs
// (mailto:, tel:) keep only their scheme: their whole body is personal.
// Relative references keep their path when they start with '/'.
func urlGeneralise(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	scheme, rest := "", s
	if i := schemeEnd(s); i > 0 {
		scheme, rest = strings.ToLower(s[:i]), s[i+1:]
	}
	rest = strings.ReplaceAll(rest, `\`, "/") // browsers read \ as / in http(s) URLs
	if !strings.HasPrefix(rest, "//") {
		switch {
		case scheme != "":
			return scheme + ":", true
		case strings.HasPrefix(rest, "/"):
			return rest, true
		default:
			return "", false
		}
	}
	authority, path := rest[2:], ""
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority, path = authority[:i], authority[i:]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if authority == "" && scheme != "file" {
		return "", false
	}
	out := "//" + strings.ToLower(authority) + path
	if scheme != "" {
		out = scheme + ":" + out
	}
	return out, true
}

// schemeEnd returns the index of the ':' ending a URL scheme (RFC 3986: a letter,
// then letters, digits, '+', '-', '.'), or -1.
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return -1
			}
		case c == ':':
			if i == 0 {
				return -1
			}
			return i
		default:
			return -1
		}
	}
	return -1
}

// cutCoordinate cuts a latitude or longitude to one decimal, toward zero (51.5074
// -> 51.5, -0.1278 -> -0.1): about 11 km, the size of a town. Cutting, unlike
// rounding, never moves a point away from the equator or the prime meridian, so a
// value stays inside bounds such as ±90 and ±180. The digits are cut as text, so
// no float arithmetic turns 2.3 into 2.2.
func cutCoordinate(v any) (json.Number, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = string(n)
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", false
		}
		s = strconv.FormatFloat(n, 'f', -1, 64)
	case string:
		s = strings.TrimSpace(n)
	default:
		return "", false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return "", false
		}
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if !isDecimal(s) {
		return "", false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s) > i+2 {
		s = s[:i+2]
	}
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:] // -0.05 cuts to 0.0, not -0.0
	}
	return json.Number(s), true
}

// isDecimal reports whether s is a JSON number without exponent.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		frac := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == frac {
			return false
		}
	}
	return i == len(s)
}
