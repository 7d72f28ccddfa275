package scrub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
)

// marker is planted in every PII field by FuzzScrubShapes. It carries a '!',
// which no device model token has: a user agent's device model is the one
// generalised field taken verbatim from the input (see modelToken).
const marker = "zq!MARK!qz"

// byteSource turns fuzz input into choices.
type byteSource struct{ b []byte }

func (s *byteSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) str() string {
	n := int(s.next() % 12)
	if n > len(s.b) {
		n = len(s.b)
	}
	out := string(s.b[:n])
	s.b = s.b[n:]
	return out
}

// plantedValue returns a value for a PII field of kind and handling that holds
// the marker where the handling must remove it.
func plantedValue(src *byteSource, kind contract.Kind, handling contract.Handling) any {
	junk := src.str()
	choice := src.next()
	switch choice % 8 { // 0, what an exhausted source gives, plants a string
	case 4:
		return map[string]any{"nested": junk + marker, "n": json.Number("1")}
	case 5:
		return []any{marker, junk}
	case 6:
		return nil
	case 7:
		return json.Number("12.345")
	}
	if handling != contract.HandlingObfuscate {
		return junk + marker + junk
	}
	switch kind {
	case contract.KindEmail:
		return junk + marker + "@Example.com"
	case contract.KindPhone:
		return "+44" + junk + marker
	case contract.KindPostalCode:
		return "SW" + junk + marker
	case contract.KindDateOfBirth:
		return "1990-" + junk + marker
	case contract.KindURL:
		return []string{
			"https://shop.example/p?" + junk + marker,
			"https://" + junk + marker + "@shop.example/p",
			"https://shop.example/p#" + marker + junk,
			"mailto:" + marker + "@example.com",
			junk + marker,
		}[int(choice/8)%5]
	case contract.KindUserAgent:
		return []string{
			"Mozilla/5.0 (Linux; Android 13; " + junk + marker + " Build/TP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " + marker + "/" + junk,
			marker + junk,
			"Mozilla/5.0 (" + marker + "; rv:1.0) Gecko/20100101 Firefox/1" + junk,
		}[int(choice/8)%4]
	}
	return junk + marker
}

// plant sets the value at path (with "*" for every array item) in v, creating
// containers as needed, and returns the new v.
func plant(src *byteSource, v any, path []string, leaf func() any) any {
	if len(path) == 0 {
		return leaf()
	}
	if path[0] == "*" {
		arr, ok := v.([]any)
		if !ok || src.next()%4 == 0 {
			arr = make([]any, 1+int(src.next()%3))
		}
		for i := range arr {
			arr[i] = plant(src, arr[i], path[1:], leaf)
		}
		return arr
	}
	m, ok := v.(map[string]any)
	if !ok {
		m = map[string]any{}
	}
	m[path[0]] = plant(src, m[path[0]], path[1:], leaf)
	return m
}

// FuzzScrubShapes scrubs events of random shape against the plans of the
// example contracts: it must never panic, and the JSON of a scrubbed event (or of
// a redacted one, when scrubbing refuses it) must never contain the marker
// planted in every PII field.
func FuzzScrubShapes(f *testing.F) {
	// The example contracts, and one with every kind and handling.
	contracts := append(loadContracts(f, examplesDir), parseContract(f, "iglu:com.acme/everything/jsonschema/1-0-0", everything))
	tok := newHMACTokenizer()
	s := newScrubber(f, Config{}, tok)
	for i := range contracts {
		for _, ev := range realisticFor(contracts[i].Key) {
			f.Add(byte(i), []byte(ev), []byte{1, 2, 3, 4, 5, 6, 7, 8})
		}
	}
	for i := range 16 {
		f.Add(byte(len(contracts)-1), []byte(everythingEvent), []byte{byte(i), byte(i * 8), 3, byte(i), 8, 16, byte(i * 3), 9, 4, 7, 12})
	}
	f.Add(byte(2), []byte(`[]`), []byte{})
	f.Add(byte(3), []byte(`{"shop_id": 7, "filters": {"value": 1}}`), []byte("\x04\x00\x08\x10\x20\x05\x06"))
	f.Fuzz(func(t *testing.T, which byte, event []byte, choices []byte) {
		if bytes.Contains(event, []byte(marker)) {
			return // the marker must come from planting only
		}
		c := contracts[int(which)%len(contracts)]
		var data any
		if v, err := contract.DecodeJSON(event); err == nil {
			data = v
		}
		src := &byteSource{b: choices}
		planted := false
		for _, fd := range c.PII() {
			if fd.PII.Handling == contract.HandlingKeep || src.next()%5 == 4 {
				continue
			}
			data = plant(src, data, fd.Path, func() any {
				v := plantedValue(src, fd.PII.Kind, fd.PII.Handling)
				planted = true
				return v
			})
		}
		_, err := s.Scrub(context.Background(), c, data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Reason != ReasonPrivacyContextMissing && e.Reason != ReasonTokenizeFailed) {
				t.Fatalf("unexpected error %v", err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("error repeats a value: %v", err)
			}
			// A refused event goes to a bad row: redacted, it must be clean too.
			if _, err := s.Redact(c, data); err != nil {
				t.Fatal(err)
			}
		}
		out, jerr := json.Marshal(data)
		if jerr != nil {
			t.Fatal(jerr)
		}
		if planted && strings.Contains(string(out), marker) {
			t.Fatalf("the marker survived scrubbing %s: %s", c.Key, out)
		}
	})
}

// FuzzIP checks that any input either becomes the Invalid placeholder or a
// masked address whose host half is zero, never the input.
func FuzzIP(f *testing.F) {
	for _, s := range []string{"81.2.69.142", "::ffff:81.2.69.142", "[2001:db8::1]:443", "fe80::1%eth0", "1.2.3.4, 5.6.7.8", "", "999.1.1.1"} {
		f.Add(s)
	}
	s := newScrubber(f, Config{}, nil)
	f.Fuzz(func(t *testing.T, in string) {
		out := s.obfuscateIP(in)
		masked, _ := out["masked"].(string)
		if masked == Invalid {
			if len(out) != 1 {
				t.Fatalf("invalid address with geo: %v", out)
			}
			return
		}
		a, err := netip.ParseAddr(masked)
		if err != nil {
			t.Fatalf("masked %q is not an address", masked)
		}
		if a.Is4() {
			b := a.As4()
			if b[2] != 0 || b[3] != 0 {
				t.Fatalf("masked %s keeps host bytes", a)
			}
		} else {
			b := a.As16()
			for _, x := range b[8:] {
				if x != 0 {
					t.Fatalf("masked %s keeps host bytes", a)
				}
			}
		}
		for k := range out {
			if k != "masked" && k != "country" && k != "region" && k != "city" {
				t.Fatalf("unexpected key %q", k)
			}
		}
	})
}

var (
	digitsRE = regexp.MustCompile(`^[0-9]{1,6}$`)
	osFamily = map[string]bool{"Android": true, "iOS": true, "Windows": true, "Windows Phone": true, "macOS": true,
		"Linux": true, "FreeBSD": true, "ChromeOS": true, "BlackBerry": true, "Harmony": true}
)

// FuzzUserAgent checks that generalised user agent fields come only from closed
// vocabularies, digits and model-number tokens.
func FuzzUserAgent(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"curl/8.4.0", "", "jane@example.com", "FBAN/FBIOS;FBAV/x",
	} {
		f.Add(s)
	}
	families := map[string]bool{"Other": true, "Android WebView": true}
	for _, v := range browserFamilies {
		families[v] = true
	}
	for _, a := range inAppBrowsers {
		families[a.family] = true
	}
	brands := map[string]bool{"Apple": true}
	for _, b := range androidBrands {
		brands[b.brand] = true
	}
	f.Fuzz(func(t *testing.T, ua string) {
		out := generaliseUA(ua)
		for k, v := range out {
			switch k {
			case "is_bot":
				if _, ok := v.(bool); !ok {
					t.Fatalf("is_bot = %#v", v)
				}
				continue
			}
			s, ok := v.(string)
			if !ok {
				t.Fatalf("%s = %#v, want a string", k, v)
			}
			switch k {
			case "browser_family":
				ok = families[s]
			case "browser_major", "os_major":
				ok = digitsRE.MatchString(s)
			case "os_family":
				ok = osFamily[s]
			case "device_brand":
				ok = brands[s]
			case "device_model":
				ok = modelToken(s)
			default:
				ok = false
			}
			if !ok {
				t.Fatalf("%s = %q is outside its vocabulary (input %q)", k, s, ua)
			}
		}
		if _, ok := out["is_bot"]; !ok {
			t.Fatal("is_bot missing")
		}
	})
}

// FuzzPhone checks that the result is an assigned calling code or nothing.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+442079460958", "0044 20 7946 0958", "+1 (415) 555-0100", "+", "00", "+2590000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cc, ok := phoneCallingCode(in)
		if ok != (cc != "") {
			t.Fatalf("phoneCallingCode(%q) = %q, %v", in, cc, ok)
		}
		if ok && callingCodeSet[strings.TrimPrefix(cc, "+")] != cc {
			t.Fatalf("phoneCallingCode(%q) = %q, not an assigned code", in, cc)
		}
	})
}

// FuzzURL checks that no query, fragment or user info survives.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://u:p@shop.example/a?b=c#d", "mailto:jane@example.com", "//cdn.example/x", "/p?q", "http:\\\\a@b\\c", "file:///x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := urlGeneralise(in)
		if !ok {
			if out != "" {
				t.Fatalf("failed with output %q", out)
			}
			return
		}
		if strings.ContainsAny(out, "?#") {
			t.Fatalf("urlGeneralise(%q) = %q keeps a query or fragment", in, out)
		}
		rest := out
		if i := schemeEnd(out); i > 0 {
			rest = out[i+1:]
			if !strings.HasPrefix(rest, "//") && rest != "" {
				t.Fatalf("urlGeneralise(%q) = %q keeps an opaque part", in, out)
			}
		}
		if authority, ok := strings.CutPrefix(rest, "//"); ok {
			if i := strings.IndexByte(authority, '/'); i >= 0 {
				authority = authority[:i]
			}
			if strings.Contains(authority, "@") {
				t.Fatalf("urlGeneralise(%q) = %q keeps user info", in, out)
			}
		}
	})
}

// FuzzCoordinate checks that a cut coordinate is a JSON number no farther from
// zero than the input, with at most one decimal.
func FuzzCoordinate(f *testing.F) {
	for _, s := range []string{"51.5074", "-0.1278", "1e-7", "5.15074e1", "-0.05", "90"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := cutCoordinate(json.Number(in))
		if !ok {
			return
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("cutCoordinate(%q) = %q is not JSON", in, out)
		}
		if i := strings.IndexByte(string(out), '.'); i >= 0 && len(out)-i-1 > 1 {
			t.Fatalf("cutCoordinate(%q) = %q keeps more than one decimal", in, out)
		}
		a, errA := json.Number(in).Float64()
		b, errB := out.Float64()
		if errA == nil && errB == nil && (b*a < 0 || abs(b) > abs(a)+1e-9) {
			t.Fatalf("cutCoordinate(%q) = %q moved away from zero", in, out)
		}
	})
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
