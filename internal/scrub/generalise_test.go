package scrub

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEmailDomain(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"jane.doe@example.com", "example.com", true},
		{"Jane.Doe@Example.COM", "example.com", true},
		{"a@b@corp.example", "corp.example", true},
		{"Jane <jane@example.com>", "example.com", true},
		{"jane@[192.0.2.1]", "[192.0.2.1]", true},
		{"jane@bücher.example", "bücher.example", true},
		{"no-at-sign", "", false},
		{"jane@", "", false},
		{"jane@exa mple.com", "", false},
		{"jane@example.com\n<script>", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := emailDomain(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("emailDomain(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPhoneCallingCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+442079460958", "+44", true},
		{"+44 20 7946 0958", "+44", true},
		{"0044 20 7946 0958", "+44", true},
		{"+1 (415) 555-0100", "+1", true},
		{"+18765550100", "+1", true}, // Jamaica dials +1 876: the NANP code is kept whole
		{"+79161234567", "+7", true},
		{"+491701234567", "+49", true},
		{"+353 86 123 4567", "+353", true},
		{"+380441234567", "+380", true},
		{"+8613800138000", "+86", true},
		{"+886912345678", "+886", true},
		{"+9715012345678", "+971", true},
		{"+2348012345678", "+234", true},
		{"+5999 123 4567", "+599", true},
		{"+2590000000", "", false}, // 259 is not assigned
		{"+0123456", "", false},
		{"+44", "", false},                // no subscriber number
		{"+4412345678901234", "", false},  // longer than E.164's 15 digits
		{"02079460958", "", false},        // national number: no country
		{"+44 20 MARKER 0958", "", false}, // letters
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := phoneCallingCode(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("phoneCallingCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestCallingCodesPrefixFree checks the table's invariant that makes the first
// match the longest: no code is a prefix of another.
func TestCallingCodesPrefixFree(t *testing.T) {
	for a := range callingCodeSet {
		for b := range callingCodeSet {
			if a != b && len(a) < len(b) && b[:len(a)] == a {
				t.Errorf("calling code %s is a prefix of %s", a, b)
			}
		}
	}
	if n := len(callingCodeSet); n < 200 {
		t.Errorf("only %d calling codes; the ITU list has over 200", n)
	}
}

func TestPostalPrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"SW1A 1AA", "SW", true},
		{"10115", "10", true},
		{" 75008 ", "75", true},
		{"sw1a", "SW", true},
		{"ÅL-22100", "ÅL", true},
		{"7", "7", true},
		{"", "", false},
		{"   ", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := postalPrefix(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("postalPrefix(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBirthYear(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"1990-05-17", "1990", true},
		{"1990-05-17T00:00:00Z", "1990", true},
		{"1990", "1990", true},
		{"1990/05/17", "1990", true},
		{"17/05/1990", "1990", true},
		{"05.17.1990", "1990", true},
		{"19900517", "", false},
		{"0000-01-01", "0000", false},
		{"May 17, 1990", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := birthYear(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("birthYear(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestURLGeneralise(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://shop.example/products/shoe?utm_source=mail&email=jane@example.com#top", "https://shop.example/products/shoe", true},
		{"HTTPS://Shop.Example/Products", "https://shop.example/Products", true},
		{"https://jane:secret@shop.example/cart", "https://shop.example/cart", true},
		{"https://a@b@shop.example/", "https://shop.example/", true},
		{"https://shop.example", "https://shop.example", true},
		{"https://shop.example:8443/x", "https://shop.example:8443/x", true},
		{"http:\\\\jane@shop.example\\path", "http://shop.example/path", true},
		{"//cdn.example/a.js?v=1", "//cdn.example/a.js", true},
		{"/checkout?token=abc", "/checkout", true},
		{"mailto:jane@example.com", "mailto:", true},
		{"tel:+442079460958", "tel:", true},
		{"file:///home/jane/report.pdf", "file:///home/jane/report.pdf", true},
		{"https://#frag", "", false},
		{"checkout", "", false},
		{"jane@example.com", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := urlGeneralise(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("urlGeneralise(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCutCoordinate(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want json.Number
		ok   bool
	}{
		{json.Number("51.5074"), "51.5", true},
		{json.Number("-0.1278"), "-0.1", true},
		{json.Number("51.59"), "51.5", true}, // cut, not rounded to 51.6
		{json.Number("-51.59"), "-51.5", true},
		{json.Number("2.3"), "2.3", true}, // float arithmetic would give 2.2
		{json.Number("2.39999"), "2.3", true},
		{json.Number("-0.05"), "0.0", true},
		{json.Number("90"), "90", true},
		{json.Number("-180.0"), "-180.0", true},
		{json.Number("5.15074e1"), "51.5", true},
		{json.Number("1E-7"), "0.0", true},
		{51.5074, "51.5", true},
		{"48.8584", "48.8", true},
		{"not a number", "", false},
		{json.Number("1e999"), "", false},
		{true, "", false},
		{nil, "", false},
	} {
		got, ok := cutCoordinate(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cutCoordinate(%#v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseAndMaskIP(t *testing.T) {
	for _, tc := range []struct {
		in, masked string
		ok         bool
	}{
		{"81.2.69.142", "81.2.0.0", true},
		{" 81.2.69.142 ", "81.2.0.0", true},
		{"81.2.69.142:443", "81.2.0.0", true},
		{"81.2.69.142, 10.0.0.1", "81.2.0.0", true},
		{"::ffff:81.2.69.142", "81.2.0.0", true},
		{"2a02:8108:1140:5e00:1c2d:3e4f:5a6b:7c8d", "2a02:8108:1140:5e00::", true},
		{"[2a02:8108:1140:5e00::1]:443", "2a02:8108:1140:5e00::", true},
		{"fe80::1:2:3:4%eth0", "fe80::", true},
		{"::1", "::", true},
		{"256.1.1.1", "", false},
		{"81.2.69", "", false},
		{"example.com", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, ok := parseIP(tc.in)
			if ok != tc.ok {
				t.Fatalf("parseIP(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
			if ok {
				if got := maskIP(a).String(); got != tc.masked {
					t.Errorf("maskIP(%s) = %s, want %s", a, got, tc.masked)
				}
			}
		})
	}
}

func TestObfuscateIPCountry(t *testing.T) {
	s := newScrubber(t, Config{}, nil)
	for _, tc := range []struct {
		in   any
		want map[string]any
	}{
		{"81.2.69.142", map[string]any{"masked": "81.2.0.0", "country": "GB"}},
		{"8.8.8.8", map[string]any{"masked": "8.8.0.0", "country": "US"}},
		{"2a02:8108:1140::1", map[string]any{"masked": "2a02:8108:1140::", "country": "DE"}},
		// Private and reserved ranges have no country: the field is left out.
		{"10.1.2.3", map[string]any{"masked": "10.1.0.0"}},
		{"::1", map[string]any{"masked": "::"}},
		{"not an ip", map[string]any{"masked": Invalid}},
		{json.Number("12"), map[string]any{"masked": Invalid}},
	} {
		if diff := cmp.Diff(tc.want, s.obfuscateIP(tc.in)); diff != "" {
			t.Errorf("obfuscateIP(%v) (-want +got):\n%s", tc.in, diff)
		}
	}
	if got := s.Stats().Invalid["ip"]; got != 2 {
		t.Errorf("Stats().Invalid[ip] = %d, want 2", got)
	}
}

func TestObfuscateIPCity(t *testing.T) {
	path := writeCityDB(t, "GeoLite2-City", map[string][4]string{
		"81.2.69.0/24":      {"GB", "England", "ENG", "London"},
		"2a02:8108::/32":    {"DE", "", "BE", "Berlin"}, // region name missing: the code is used
		"203.0.113.0/24":    {"AU", "", "", ""},         // country only
		"198.51.100.128/25": {"FR", "Île-de-France", "IDF", "Paris"},
	})
	s := newScrubber(t, Config{MMDBPath: path}, nil)
	for _, tc := range []struct {
		in   string
		want map[string]any
	}{
		{"81.2.69.142", map[string]any{"masked": "81.2.0.0", "country": "GB", "region": "England", "city": "London"}},
		{"81.2.69.1", map[string]any{"masked": "81.2.0.0", "country": "GB", "region": "England", "city": "London"}},
		{"2a02:8108:1140::1", map[string]any{"masked": "2a02:8108:1140::", "country": "DE", "region": "BE", "city": "Berlin"}},
		// iploc's country wins; the database adds region and city only when it has them.
		{"203.0.113.7", map[string]any{"masked": "203.0.0.0", "country": "AU"}},
		// Unknown to iploc (documentation range): the database's country is used.
		{"198.51.100.200", map[string]any{"masked": "198.51.0.0", "country": "FR", "region": "Île-de-France", "city": "Paris"}},
		// Unknown to both.
		{"192.0.2.1", map[string]any{"masked": "192.0.0.0"}},
	} {
		if diff := cmp.Diff(tc.want, s.obfuscateIP(tc.in)); diff != "" {
			t.Errorf("obfuscateIP(%s) (-want +got):\n%s", tc.in, diff)
		}
	}
	st := s.Stats()
	if st.CityCacheHits == 0 || st.CityCacheMisses == 0 {
		t.Errorf("city cache hits %d, misses %d: want both > 0 (81.2.69.x share one record)", st.CityCacheHits, st.CityCacheMisses)
	}
}

func TestCityDBRefusesOtherTypes(t *testing.T) {
	path := writeCityDB(t, "GeoLite2-ASN", map[string][4]string{"81.2.69.0/24": {"GB", "", "", ""}})
	if _, err := New(Config{HashSecret: testSecret, MMDBPath: path}, Deps{}); err == nil {
		t.Fatal("New accepted an ASN database as a city database")
	}
}

func TestGeneraliseUA(t *testing.T) {
	for _, tc := range []struct {
		name, ua string
		want     map[string]any
	}{
		{"instagram in-app iPhone (bench)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)",
			map[string]any{"browser_family": "Instagram", "browser_major": "325", "os_family": "iOS", "os_major": "17", "device_brand": "Apple", "device_model": "iPhone", "is_bot": false}},
		{"facebook in-app iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.36.108;FBBV/123;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]",
			map[string]any{"browser_family": "Facebook", "browser_major": "470", "os_family": "iOS", "os_major": "17", "device_brand": "Apple", "device_model": "iPhone", "is_bot": false}},
		{"facebook in-app Android", "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/450.0.0.31.109;]",
			map[string]any{"browser_family": "Facebook", "browser_major": "450", "os_family": "Android", "os_major": "13", "device_brand": "Samsung", "device_model": "SM-A536B", "is_bot": false}},
		{"google app iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/320.0.649523602 Mobile/15E148 Safari/604.1",
			map[string]any{"browser_family": "Google App", "browser_major": "320", "os_family": "iOS", "os_major": "17", "device_brand": "Apple", "device_model": "iPhone", "is_bot": false}},
		{"chrome android pixel", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
			map[string]any{"browser_family": "Chrome", "browser_major": "126", "os_family": "Android", "os_major": "14", "device_brand": "Google", "device_model": "Pixel 8 Pro", "is_bot": false}},
		{"chrome android reduced", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
			map[string]any{"browser_family": "Chrome", "browser_major": "126", "os_family": "Android", "os_major": "10", "is_bot": false}},
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			map[string]any{"browser_family": "Chrome", "browser_major": "126", "os_family": "Windows", "os_major": "10", "is_bot": false}},
		{"safari mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
			map[string]any{"browser_family": "Safari", "browser_major": "17", "os_family": "macOS", "os_major": "10", "device_brand": "Apple", "device_model": "Mac", "is_bot": false}},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			map[string]any{"browser_family": "Firefox", "browser_major": "127", "os_family": "Linux", "is_bot": false}},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
			map[string]any{"browser_family": "Edge", "browser_major": "126", "os_family": "Windows", "os_major": "10", "is_bot": false}},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			map[string]any{"browser_family": "Googlebot", "browser_major": "2", "is_bot": true}},
		{"curl", "curl/8.4.0", map[string]any{"browser_family": "curl", "browser_major": "8", "is_bot": true}},
		// Free text never survives: unknown products are Other, unknown models are left out.
		{"free text", "jane.doe@example.com", map[string]any{"browser_family": "Other", "is_bot": false}},
		{"unknown product", "AcmeApp/3.2 (user 12345; jane@example.com)", map[string]any{"browser_family": "Other", "is_bot": false}},
		{"model with odd characters", "Mozilla/5.0 (Linux; Android 13; jane@example.com Build/TP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
			map[string]any{"browser_family": "Chrome", "browser_major": "120", "os_family": "Android", "os_major": "13", "is_bot": false}},
		{"empty", "", map[string]any{"is_bot": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, generaliseUA(tc.ua)); diff != "" {
				t.Errorf("generaliseUA (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUACacheCopies checks that a cached user agent hands out independent maps:
// a caller modifying its event must not change the next event's fields.
func TestUACacheCopies(t *testing.T) {
	c := newUACache(8)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	a := c.fields(ua)
	a["browser_family"] = "changed"
	b := c.fields(ua)
	if b["browser_family"] != "Chrome" {
		t.Errorf("second lookup browser_family = %v, want Chrome", b["browser_family"])
	}
	if h, m := c.cache.hits.Load(), c.cache.misses.Load(); h != 1 || m != 1 {
		t.Errorf("hits %d misses %d, want 1 and 1", h, m)
	}
}
