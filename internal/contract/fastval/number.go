package fastval

import (
	"math"
	"math/big"
	"math/bits"
)

// decimal is an exact view of a JSON number over its bytes: sign, the digits of
// its integer part and of its fraction, and its exponent. It never allocates.
type decimal struct {
	neg    bool
	ip, fp []byte // integer and fraction digits as written
	exp    int64  // exponent after 'e'
	expOvf bool   // exponent does not fit in int64
}

// parseDecimalString parses a JSON number from a string (compile time only).
func parseDecimalString(s string) (decimal, bool) {
	b := []byte(s)
	d, end, ok := scanNumber(b, 0)
	return d, ok && end == len(b)
}

// scanNumber scans a JSON number starting at p, following the JSON grammar.
func scanNumber(data []byte, p int) (d decimal, end int, ok bool) {
	n := len(data)
	if p < n && data[p] == '-' {
		d.neg = true
		p++
	}
	if p >= n {
		return d, p, false
	}
	start := p
	if data[p] == '0' {
		p++
	} else if data[p] >= '1' && data[p] <= '9' {
		p++
		for p < n && data[p] >= '0' && data[p] <= '9' {
			p++
		}
	} else {
		return d, p, false
	}
	d.ip = data[start:p]
	if p < n && data[p] == '.' {
		p++
		fs := p
		for p < n && data[p] >= '0' && data[p] <= '9' {
			p++
		}
		if p == fs {
			return d, p, false
		}
		d.fp = data[fs:p]
	}
	if p < n && (data[p] == 'e' || data[p] == 'E') {
		p++
		eneg := false
		if p < n && (data[p] == '+' || data[p] == '-') {
			eneg = data[p] == '-'
			p++
		}
		es := p
		var u uint64
		for p < n && data[p] >= '0' && data[p] <= '9' {
			if !d.expOvf {
				if u > (1<<63)/10 {
					d.expOvf = true
				} else {
					u = u*10 + uint64(data[p]-'0')
				}
			}
			p++
		}
		if p == es {
			return d, p, false
		}
		// strconv.ParseInt's range, as big.Rat.SetString uses it.
		if !d.expOvf && (u > 1<<63 || (!eneg && u == 1<<63)) {
			d.expOvf = true
		}
		if !d.expOvf {
			if eneg {
				d.exp = int64(-u) // wraps to MinInt64 for 2^63, as intended
			} else {
				d.exp = int64(u)
			}
		}
	}
	return d, p, true
}

func (d *decimal) ndig() int { return len(d.ip) + len(d.fp) }

func (d *decimal) dig(i int) byte {
	if i < len(d.ip) {
		return d.ip[i]
	}
	return d.fp[i-len(d.ip)]
}

// sig returns the index of the first and last nonzero digit; lead == -1 for zero.
func (d *decimal) sig() (lead, trail int) {
	n := d.ndig()
	lead = -1
	for i := 0; i < n; i++ {
		if d.dig(i) != '0' {
			lead = i
			break
		}
	}
	if lead < 0 {
		return -1, -1
	}
	trail = n - 1
	for d.dig(trail) == '0' {
		trail--
	}
	return lead, trail
}

func (d *decimal) isZero() bool {
	l, _ := d.sig()
	return l < 0
}

// representable reports whether big.Rat.SetString accepts the number, which is
// what santhosh-tekuri/jsonschema uses for every numeric keyword: the exponent
// must fit in int64 and, for nonzero numbers, |exp - fraction digits| <= 1e6.
func (d *decimal) representable() bool {
	if d.expOvf {
		return false
	}
	if d.isZero() {
		return true
	}
	e5 := d.exp - int64(len(d.fp))
	if d.exp < math.MinInt64+int64(len(d.fp)) {
		return false
	}
	if e5 == math.MinInt64 {
		return false
	}
	if e5 < 0 {
		e5 = -e5
	}
	return e5 <= 1e6
}

// pointPos is the position of the decimal point relative to the first
// significant digit: value = 0.d1d2... * 10^pointPos. Saturates on huge exponents.
func (d *decimal) pointPos(lead int) int64 {
	base := int64(len(d.ip) - lead)
	e := d.exp
	if d.expOvf {
		if e >= 0 {
			return math.MaxInt64 / 2
		}
		return math.MinInt64 / 2
	}
	if e > math.MaxInt64/4 {
		return math.MaxInt64 / 2
	}
	if e < math.MinInt64/4 {
		return math.MinInt64 / 2
	}
	return base + e
}

// isInteger reports santhosh's integer test: big.Rat parses it and it is whole.
func (d *decimal) isInteger() bool {
	if !d.representable() {
		return false
	}
	lead, trail := d.sig()
	if lead < 0 {
		return true
	}
	return d.pointPos(lead) >= int64(trail-lead+1)
}

// cmpDecimal compares two decimals exactly.
func cmpDecimal(a, b *decimal) int {
	al, at := a.sig()
	bl, bt := b.sig()
	az, bz := al < 0, bl < 0
	switch {
	case az && bz:
		return 0
	case az:
		if b.neg {
			return 1
		}
		return -1
	case bz:
		if a.neg {
			return -1
		}
		return 1
	}
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	m := cmpMag(a, al, at, b, bl, bt)
	if a.neg {
		return -m
	}
	return m
}

func cmpMag(a *decimal, al, at int, b *decimal, bl, bt int) int {
	ap, bp := a.pointPos(al), b.pointPos(bl)
	if ap != bp {
		if ap < bp {
			return -1
		}
		return 1
	}
	i, j := al, bl
	for i <= at && j <= bt {
		x, y := a.dig(i), b.dig(j)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
		i++
		j++
	}
	switch {
	case i <= at:
		return 1
	case j <= bt:
		return -1
	}
	return 0
}

// mantissa returns value = mant * 10^exp with mant free of trailing zeros, when
// mant fits in 19 digits and exp is small.
func (d *decimal) mantissa() (mant uint64, exp int64, ok bool) {
	lead, trail := d.sig()
	if lead < 0 {
		return 0, 0, true
	}
	if trail-lead+1 > 19 || d.expOvf {
		return 0, 0, false
	}
	for i := lead; i <= trail; i++ {
		mant = mant*10 + uint64(d.dig(i)-'0')
	}
	pp := d.pointPos(lead)
	exp = pp - int64(trail-lead+1)
	if exp > 1<<40 || exp < -(1<<40) {
		return 0, 0, false
	}
	return mant, exp, true
}

// multipleOf reports whether the number is an integer multiple of b, exactly as
// big.Rat division would say. slow is set when the big.Rat path was needed.
func multipleOf(d *decimal, raw []byte, b *bound) bool {
	m, e, ok := d.mantissa()
	if ok && b.mantOK && b.mant != 0 {
		if m == 0 {
			return true
		}
		if e < b.exp {
			// m has no factor 10, so m / (mb * 10^k) is never whole for k >= 1.
			return false
		}
		k := e - b.exp
		r := m % b.mant
		if r == 0 {
			return true
		}
		return mulmod(r, powmod(10, k, b.mant), b.mant) == 0
	}
	v, ok := new(big.Rat).SetString(string(raw))
	if !ok {
		return false
	}
	return new(big.Rat).Quo(v, b.rat).IsInt()
}

func mulmod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, r := bits.Div64(hi%m, lo, m)
	return r
}

func powmod(base uint64, exp int64, m uint64) uint64 {
	if m == 1 {
		return 0
	}
	result := uint64(1)
	base %= m
	for exp > 0 {
		if exp&1 == 1 {
			result = mulmod(result, base, m)
		}
		base = mulmod(base, base, m)
		exp >>= 1
	}
	return result
}

// smallInt returns the value of a plain integer literal of at most 18 digits.
func smallInt(d *decimal) (int64, bool) {
	if len(d.fp) != 0 || d.exp != 0 || d.expOvf || len(d.ip) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range d.ip {
		n = n*10 + int64(c-'0')
	}
	if d.neg {
		n = -n
	}
	return n, true
}

// quickInt reads a JSON integer of at most 18 digits without fraction or
// exponent at p (the number must end there: the next byte is not part of a
// number). ok is false for anything else, which scanNumber then handles.
func quickInt(d []byte, p int) (n int64, end int, ok bool) {
	neg := false
	if p < len(d) && d[p] == '-' {
		neg = true
		p++
	}
	start := p
	for p < len(d) && d[p] >= '0' && d[p] <= '9' {
		n = n*10 + int64(d[p]-'0')
		p++
		if p-start > 18 {
			return 0, p, false
		}
	}
	if p == start || (d[start] == '0' && p-start > 1) {
		return 0, p, false
	}
	if p < len(d) {
		if c := d[p]; c == '.' || c == 'e' || c == 'E' {
			return 0, p, false
		}
	}
	if neg {
		n = -n
	}
	return n, p, true
}
