package fastval

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// formatCheck asserts one "format". The common formats are re-implemented
// here without allocation, line for line after santhosh v6's format.go (the
// differential tests compare them); the others call santhosh's own function.
type formatCheck struct {
	name string
	fast func(string) bool
	ref  *jsonschema.Format
}

func newFormatCheck(f *jsonschema.Format) *formatCheck {
	c := &formatCheck{name: f.Name, ref: f}
	switch f.Name {
	case "uuid":
		c.fast = isUUID
	case "ipv4":
		c.fast = isIPv4
	case "ipv6":
		c.fast = isIPv6
	case "hostname":
		c.fast = isHostname
	case "email":
		c.fast = isEmail
	case "date":
		c.fast = isDate
	case "time":
		c.fast = isTime
	case "date-time":
		c.fast = isDateTime
	}
	return c
}

func (c *formatCheck) check(s string) bool {
	if c.fast != nil {
		return c.fast(s)
	}
	// santhosh's function takes any: the string is copied so nothing retains the
	// caller's buffer.
	return c.ref.Validate(strings.Clone(s)) == nil
}

// isUUID: santhosh splits on "-" and wants five groups of 8-4-4-4-12 hex
// characters, which is exactly 36 bytes with dashes at 8, 13, 18 and 23.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !hexByte[c] {
			return false
		}
	}
	return true
}

var hexByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

// isIPv4: four dot-separated decimals 0..255 without leading zeros, parsed with
// strconv.Atoi (so "+1" is accepted, as in santhosh).
func isIPv4(s string) bool {
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(s, '.')
		if i == 3 {
			if j >= 0 {
				return false
			}
			j = len(s)
		} else if j < 0 {
			return false
		}
		g := s[:j]
		if len(g) > 1 && g[0] == '0' {
			return false
		}
		n, ok := atoi(g)
		if !ok || n < 0 || n > 255 {
			return false
		}
		if i < 3 {
			s = s[j+1:]
		}
	}
	return true
}

// atoi is strconv.Atoi without the error allocation on failure.
func atoi(s string) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	t := s
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
		if t == "" {
			return 0, false
		}
	}
	if len(t) > 18 {
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	n := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

func isIPv6(s string) bool {
	if !strings.Contains(s, ":") {
		return false
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return addr.Zone() == ""
}

func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 253 {
		return false
	}
	for {
		j := strings.IndexByte(s, '.')
		label := s
		if j >= 0 {
			label = s[:j]
		}
		if len(label) < 1 || len(label) > 63 {
			return false
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, ch := range label {
			switch {
			case ch >= 'a' && ch <= 'z':
			case ch >= 'A' && ch <= 'Z':
			case ch >= '0' && ch <= '9':
			case ch == '-':
			default:
				return false
			}
		}
		if j < 0 {
			return true
		}
		s = s[j+1:]
	}
}

func isEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at == -1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return false
	}
	if len(local) > 1 && strings.HasPrefix(local, `"`) && strings.HasSuffix(local, `"`) {
		q := local[1 : len(local)-1]
		if strings.IndexByte(q, '\\') != -1 || strings.IndexByte(q, '"') != -1 {
			return false
		}
	} else {
		if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
			return false
		}
		for _, ch := range local {
			switch {
			case ch >= 'a' && ch <= 'z':
			case ch >= 'A' && ch <= 'Z':
			case ch >= '0' && ch <= '9':
			case strings.ContainsRune(".!#$%&'*+-/=?^_`{|}~", ch):
			default:
				return false
			}
		}
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		domain = domain[1 : len(domain)-1]
		if rem, ok := strings.CutPrefix(domain, "IPv6:"); ok {
			return isIPv6(rem)
		}
		return isIPv4(domain)
	}
	return isHostname(domain)
}

// isDate is time.Parse("2006-01-02", s) == nil, which santhosh uses: exactly
// four year digits, two month digits (1..12) and two day digits (1..days in the
// month of that year).
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for _, i := range [8]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	year := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	month := int(s[5]-'0')*10 + int(s[6]-'0')
	day := int(s[8]-'0')*10 + int(s[9]-'0')
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= daysIn(month, year)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isTime(str string) bool {
	if len(str) < 9 {
		return false
	}
	if str[2] != ':' || str[5] != ':' {
		return false
	}
	// santhosh splits str[:8] on the first two colons; any token holding a
	// colon fails Atoi either way, so the fixed slices give the same verdicts.
	h, ok1 := atoi(str[0:2])
	m, ok2 := atoi(str[3:5])
	s, ok3 := atoi(str[6:8])
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	if h < 0 || m < 0 || s < 0 {
		return false
	}
	if h > 23 || m > 59 || s > 60 {
		return false
	}
	str = str[8:]
	if rem, ok := strings.CutPrefix(str, "."); ok {
		numDigits := 0
		for _, ch := range rem {
			if ch >= '0' && ch <= '9' {
				numDigits++
			} else {
				break
			}
		}
		if numDigits == 0 {
			return false
		}
		str = rem[numDigits:]
	}
	if str != "z" && str != "Z" {
		if len(str) != 6 {
			return false
		}
		var sign int
		switch str[0] {
		case '+':
			sign = -1
		case '-':
			sign = +1
		default:
			return false
		}
		str = str[1:]
		if str[2] != ':' {
			return false
		}
		zh, ok1 := atoi(str[0:2])
		zm, ok2 := atoi(str[3:5])
		if !ok1 || !ok2 || zh < 0 || zm < 0 {
			return false
		}
		if zh > 23 || zm > 59 {
			return false
		}
		hm := (h*60 + m) + sign*(zh*60+zm)
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}
	if s >= 60 && (h != 23 || m != 59) {
		return false
	}
	return true
}

func isDateTime(s string) bool {
	if len(s) < 20 {
		return false
	}
	if s[10] != 't' && s[10] != 'T' {
		return false
	}
	return isDate(s[:10]) && isTime(s[11:])
}
