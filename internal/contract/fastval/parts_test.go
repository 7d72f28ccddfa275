package fastval

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// referenceFormat returns santhosh's own implementation of a format.
func referenceFormat(tb testing.TB, name string) *jsonschema.Format {
	tb.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("https://x.invalid/f.json", map[string]any{"format": name}); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile("https://x.invalid/f.json")
	if err != nil {
		tb.Fatal(err)
	}
	if s.Format == nil {
		tb.Fatalf("santhosh has no format %q", name)
	}
	return s.Format
}

var fastFormats = []string{"uuid", "ipv4", "ipv6", "hostname", "email", "date", "time", "date-time"}

var formatSamples = []string{
	"", "a", "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", "3F1C9A8E-2B4D-4C6E-9F1A-7B8C9D0E1F2A", "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2", "3f1c9a8e2b4d-4c6e-9f1a-7b8c9d0e1f2a-",
	"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2g", "-3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2", "81.2.69.142", "0.0.0.0", "255.255.255.255", "256.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5",
	"+1.2.3.4", "-0.1.1.1", "1..2.3", " 1.2.3.4", "::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8", "1::2::3", "::ffff:1.2.3.4", "example.com", "example.com.", "-a.com", "a-.com",
	"a..com", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "a", "xn--bcher-kva.example", "jane.doe@example.com", "\"quoted\"@example.com", "\"a\\b\"@x.com",
	".a@x.com", "a.@x.com", "a..b@x.com", "a@[1.2.3.4]", "a@[IPv6:::1]", "a@[IPv6:zz]", "a@b@c.com", "a b@c.com", strings.Repeat("a", 65) + "@x.com", "é@x.com",
	"2026-11-01", "2024-02-29", "2026-02-29", "2000-02-29", "1900-02-29", "0000-02-29", "2026-13-01", "2026-00-10", "2026-01-00", "2026-1-01", "+026-01-01", "2026-01-01x",
	"12:34:56Z", "12:34:56.789Z", "23:59:60Z", "22:59:60Z", "23:59:60+00:00", "00:59:60+01:00", "12:34:56+01:00", "12:34:56-23:59", "12:34:56+24:00", "1:34:56Z",
	"+1:34:56Z", "-1:34:56Z", "12:34:56", "12:34:56.Z", "12:34:56z", "::::::::Z", "12:34:56+0100", "2026-11-01T12:34:56.789Z", "2026-11-01t12:34:56Z", "2026-11-01 12:34:56Z",
	"2026-11-01T25:00:00Z", "2026-02-30T12:00:00Z", "日本語", "a\x00b",
}

func TestFormatsMatchReference(t *testing.T) {
	for _, name := range fastFormats {
		ref := referenceFormat(t, name)
		fc := newFormatCheck(ref)
		if fc.fast == nil {
			t.Fatalf("%s has no fast implementation", name)
		}
		for _, s := range formatSamples {
			want := ref.Validate(s) == nil
			if got := fc.check(s); got != want {
				t.Errorf("format %s on %q: fast %v, santhosh %v", name, s, got, want)
			}
		}
	}
}

func FuzzFormats(f *testing.F) {
	for _, s := range formatSamples {
		f.Add(s)
	}
	refs := map[string]*jsonschema.Format{}
	for _, name := range fastFormats {
		refs[name] = referenceFormat(f, name)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, ref := range refs {
			want := ref.Validate(s) == nil
			if got := newFormatCheck(ref).check(s); got != want {
				t.Fatalf("format %s on %q: fast %v, santhosh %v", name, s, got, want)
			}
		}
	})
}

func TestDateMatchesTimeParse(t *testing.T) {
	for y := 0; y < 2401; y += 97 {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				s := strings.Join([]string{pad(y, 4), pad(m, 2), pad(d, 2)}, "-")
				_, err := time.Parse("2006-01-02", s)
				if got := isDate(s); got != (err == nil) {
					t.Fatalf("isDate(%q) = %v, time.Parse error %v", s, got, err)
				}
			}
		}
	}
}

func pad(n, w int) string {
	s := strings.Repeat("0", w) + itoa(n)
	return s[len(s)-w:]
}

var dfaPatterns = []string{"^a", "b$", "^[a-c]+$", "x", `^\d+$`, "^.{2,}$", "^(a|b)?c*$", `\.`, "^$", "(?i)^A", "a|^b", `^\w+@\w+$`,
	"^shop_[0-9]+$", "^u_[a-z0-9]+$", "^[a-z]{2}(-[A-Z]{2})?$", "^SKU-[0-9]{5}$", `(?s)^.*$`, `^[^\n]*$`, "", "a*", "(ab)+c", `^\s*\S+$`, `[[:alpha:]]`}

var dfaInputs = []string{"", "a", "b", "ab", "abc", "c", "cc", "x", "123", "12a", "a.b", "A", "Ab", "shop_1", "shop_", "u_abc9", "de", "de-DE", "de-de",
	"SKU-12345", "SKU-1234", "a\nb", "\n", "abab c", "ababc", "  x", "a@b", "é", "aé"}

func TestDFAMatchesRegexp(t *testing.T) {
	for _, p := range dfaPatterns {
		d := compileDFA(p)
		if d == nil {
			t.Errorf("pattern %q: no DFA", p)
			continue
		}
		re := regexp.MustCompile(p)
		for _, in := range dfaInputs {
			got, ok := d.match([]byte(in))
			if !ok {
				continue
			}
			if want := re.MatchString(in); got != want {
				t.Errorf("pattern %q on %q: dfa %v, regexp %v", p, in, got, want)
			}
		}
	}
	for _, p := range []string{`\bword\b`, "(?m)^a$"} {
		if compileDFA(p) != nil {
			t.Errorf("pattern %q should not get a DFA", p)
		}
	}
}

func FuzzDFA(f *testing.F) {
	for i, in := range dfaInputs {
		f.Add(dfaPatterns[i%len(dfaPatterns)], in)
	}
	f.Fuzz(func(t *testing.T, pattern, in string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		d := compileDFA(pattern)
		if d == nil {
			return
		}
		got, ok := d.match([]byte(in))
		if ok && got != re.MatchString(in) {
			t.Fatalf("pattern %q on %q: dfa %v, regexp %v", pattern, in, got, !got)
		}
	})
}

// FuzzStringDecoding checks string scanning and decoding against encoding/json.
func FuzzStringDecoding(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9"`, `"\ud800"`, `"\ud83d\ude00"`, `"\ud83d\u0041"`, "\"\xff\xfe\"", `"\"\\\/\b\f\n\r\t"`, "\"\xed\xa0\x80\"", `"\x"`, "\"a\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		if len(lit) == 0 || lit[0] != '"' {
			return
		}
		var want string
		werr := json.Unmarshal(lit, &want)
		var v vm
		v.data = lit
		end, fl := v.scanString(0)
		if !v.bad && v.ws(end) != len(lit) {
			// encoding/json wants nothing but whitespace after the value
			v.syntax(end, "after top-level value")
		}
		if v.bad {
			if werr == nil {
				t.Fatalf("%q: scan failed (%s) but encoding/json decodes %q", lit, v.badMsg, want)
			}
			return
		}
		if werr != nil {
			t.Fatalf("%q: scan accepts but encoding/json fails: %v", lit, werr)
		}
		if got := string(v.strBytes(0, end, fl)); got != want {
			t.Fatalf("%q: decoded %q, encoding/json %q", lit, got, want)
		}
	})
}

// FuzzNumbers checks the exact decimal arithmetic against big.Rat, which the
// reference uses for every numeric keyword.
func FuzzNumbers(f *testing.F) {
	for _, p := range [][2]string{{"1", "1.0"}, {"1e400", "1e399"}, {"-0", "0"}, {"0.1", "1e-1"}, {"12.99", "0.01"}, {"9007199254740993", "9007199254740992"},
		{"1.0000000000000001", "1"}, {"1e1000001", "1"}, {"123456789012345678901234567890", "7"}, {"0.3", "0.1"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		da, okA := parseDecimalString(a)
		db, okB := parseDecimalString(b)
		if !okA || !okB {
			return
		}
		ra, okRA := new(big.Rat).SetString(a)
		rb, okRB := new(big.Rat).SetString(b)
		if da.representable() != okRA || db.representable() != okRB {
			t.Fatalf("representable(%q)=%v big.Rat %v; representable(%q)=%v big.Rat %v", a, da.representable(), okRA, b, db.representable(), okRB)
		}
		if !okRA || !okRB {
			return
		}
		if got, want := cmpDecimal(&da, &db), ra.Cmp(rb); got != want {
			t.Fatalf("cmp(%q, %q) = %d, big.Rat %d", a, b, got, want)
		}
		if got, want := da.isInteger(), ra.IsInt(); got != want {
			t.Fatalf("isInteger(%q) = %v, big.Rat %v", a, got, want)
		}
		if rb.Sign() > 0 {
			bd := newBound(rb)
			want := new(big.Rat).Quo(ra, rb).IsInt()
			if got := multipleOf(&da, []byte(a), bd); got != want {
				t.Fatalf("multipleOf(%q, %q) = %v, big.Rat %v", a, b, got, want)
			}
		}
		if iv, ok := smallInt(&da); ok && (!ra.IsInt() || ra.Num().Int64() != iv) {
			t.Fatalf("smallInt(%q) = %d", a, iv)
		}
	})
}

func TestQuickInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-12", "123456789012345678", "1234567890123456789", "01", "-", "1.5", "1e3", "12,", "12]", "-007", "999999999999999999"} {
		d := []byte(s)
		n, end, ok := quickInt(d, 0)
		dec, dend, dok := scanNumber(d, 0)
		iv, small := smallInt(&dec)
		want := dok && small && (dend == len(d) || !strings.ContainsRune("0123456789.eE", rune(d[dend])))
		if ok != want || (ok && (n != iv || end != dend)) {
			t.Errorf("quickInt(%q) = %d, %d, %v; scanNumber says %d, %d, %v", s, n, end, ok, iv, dend, want)
		}
	}
}

func TestNameWordCompare(t *testing.T) {
	names := []string{"", "a", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "é"}
	for _, name := range names {
		nm := nameInfo{name: name}
		nm.setWords()
		for _, doc := range []string{`"` + name + `"`, `"` + name + `"` + strings.Repeat(" ", 20), `"` + name + `x"`} {
			d := []byte(doc)
			e := 1 + len(name)
			got := nm.equal(d, 1, e)
			if want := string(d[1:e]) == name; got != want {
				t.Errorf("name %q in %q: equal %v, want %v", name, doc, got, want)
			}
		}
		other := []byte(`"` + strings.Repeat("z", len(name)) + `"` + strings.Repeat(" ", 20))
		if len(name) > 0 && nm.equal(other, 1, 1+len(name)) {
			t.Errorf("name %q equals %q", name, other)
		}
	}
}
