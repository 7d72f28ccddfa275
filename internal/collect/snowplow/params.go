package snowplow

import (
	"math/bits"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// lookup reads one event's tracker parameters by name: the string a tracker
// sent, "" when it sent none.
type lookup interface {
	get(name string) string
}

// The parameters the decoder reads, numbered for params.known.
const (
	pE = iota
	pEID
	pAID
	pPlatform
	pTracker
	pUEPR
	pUEPX
	pCO
	pCX
	pDTM
	pSTM
	pTTM
	pURL
	pPage
	pRefr
	pPPMix
	pPPMax
	pPPMiy
	pPPMay
	pSECa
	pSEAc
	pSELa
	pSEPr
	pSEVa
	numKnown
)

// knownNames are the names of the parameters the decoder reads, by number.
var knownNames = [numKnown]string{pE: "e", pEID: "eid", pAID: "aid", pPlatform: "p", pTracker: "tv",
	pUEPR: "ue_pr", pUEPX: "ue_px", pCO: "co", pCX: "cx", pDTM: "dtm", pSTM: "stm", pTTM: "ttm",
	pURL: "url", pPage: "page", pRefr: "refr", pPPMix: "pp_mix", pPPMax: "pp_max", pPPMiy: "pp_miy", pPPMay: "pp_may",
	pSECa: "se_ca", pSEAc: "se_ac", pSELa: "se_la", pSEPr: "se_pr", pSEVa: "se_va"}

// knownIndex numbers the parameters the decoder reads; -1 for any other.
func knownIndex(name string) int {
	switch name {
	case "e":
		return pE
	case "eid":
		return pEID
	case "aid":
		return pAID
	case "p":
		return pPlatform
	case "tv":
		return pTracker
	case "ue_pr":
		return pUEPR
	case "ue_px":
		return pUEPX
	case "co":
		return pCO
	case "cx":
		return pCX
	case "dtm":
		return pDTM
	case "stm":
		return pSTM
	case "ttm":
		return pTTM
	case "url":
		return pURL
	case "page":
		return pPage
	case "refr":
		return pRefr
	case "pp_mix":
		return pPPMix
	case "pp_max":
		return pPPMax
	case "pp_miy":
		return pPPMiy
	case "pp_may":
		return pPPMay
	case "se_ca":
		return pSECa
	case "se_ac":
		return pSEAc
	case "se_la":
		return pSELa
	case "se_pr":
		return pSEPr
	case "se_va":
		return pSEVa
	}
	return -1
}

// params are one event's tracker parameters, read as into a map of strings:
// in a tp2 event the last of a repeated name counts and a null or an object
// removes it; in a query string the first counts. The decoder's own
// parameters are kept by number as they are read, every parameter in order
// for the bad row of an event that cannot be decoded (final).
//
// Names and values view what they were read from (the request body or query,
// or the decoder's arena): what outlives the request must be copied.
type params struct {
	known     [numKnown]string
	set       uint32 // bit i: known[i] was read (for firstWins)
	notUTF8   uint32 // bit i: known[i] was not valid UTF-8 as sent
	list      []param
	objects   bool // some parameter's value is an object or an array
	firstWins bool
}

// param is one parameter as read.
type param struct {
	name, value string
	kind        byte // 's' a string, number or boolean; 'n' null; 'o' an object or array
}

func (p *params) reset(firstWins bool) {
	*p = params{list: p.list[:0], firstWins: firstWins}
}

// add records the parameter name with value of kind (value is "" for a null,
// an object or an array: each reads as absent); sentUTF8 says that the value
// was valid UTF-8 as the tracker sent it (value itself may have U+FFFD in
// place of the bytes that were not).
func (p *params) add(name, value string, kind byte, sentUTF8 bool) {
	p.list = append(p.list, param{name, value, kind})
	if kind == 'o' {
		p.objects = true
	}
	i := knownIndex(name)
	if i < 0 {
		return
	}
	if p.firstWins {
		if p.set&(1<<i) != 0 {
			return
		}
		p.set |= 1 << i
	}
	p.known[i] = value
	if sentUTF8 {
		p.notUTF8 &^= 1 << i
	} else {
		p.notUTF8 |= 1 << i
	}
}

// notUTF8Name is the name of the first parameter the decoder reads whose value
// was not valid UTF-8 as sent, "" when every one was.
func (p *params) notUTF8Name() string {
	if p.notUTF8 == 0 {
		return ""
	}
	return knownNames[bits.TrailingZeros32(p.notUTF8)]
}

// get returns the value of one of the parameters the decoder reads (those
// knownIndex numbers; any other name reads as absent).
func (p *params) get(name string) string {
	if i := knownIndex(name); i >= 0 {
		return p.known[i]
	}
	return ""
}

// final is the parameters as a map, as decoding them into one would leave
// it, and the names whose value is an object or an array (those are not in
// the map).
func (p *params) final() (m map[string]string, objects []string) {
	m = make(map[string]string, len(p.list))
	var last map[string]byte
	if p.objects {
		last = make(map[string]byte)
	}
	for _, e := range p.list {
		if p.firstWins {
			if _, ok := m[e.name]; !ok {
				m[e.name] = strings.Clone(e.value)
			}
			continue
		}
		if last != nil {
			last[e.name] = e.kind
		}
		if e.kind == 's' {
			m[e.name] = strings.Clone(e.value)
		} else {
			delete(m, e.name)
		}
	}
	for name, kind := range last {
		if kind == 'o' {
			objects = append(objects, strings.Clone(name))
		}
	}
	return m, objects
}

// maxQueryParams is net/url's bound on the parameters of a query string.
const maxQueryParams = 10000

// readQuery reads a query string into p as url.ParseQuery reads it into
// url.Values (of which DecodeQuery took each name's first value): pairs
// separated by '&', percent-encoding and '+' for a space, and an error on a
// ';' or a malformed escape (that pair is left out, the others kept), or on
// more than maxQueryParams pairs (then none is kept). Names and values view q,
// or an arena of their unescaped text.
func readQuery(p *params, q string) bool {
	p.reset(true)
	if strings.Count(q, "&")+1 > maxQueryParams {
		return false
	}
	ok := true
	var arena []byte
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			ok = false
			continue
		}
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var good bool
		if name, arena, good = unescapeQuery(name, arena); !good {
			ok = false
			continue
		}
		if value, arena, good = unescapeQuery(value, arena); !good {
			ok = false
			continue
		}
		p.add(name, value, 's', utf8.ValidString(value))
	}
	return ok
}

// unescapeQuery decodes one name or value of a query string as
// url.QueryUnescape does; s itself when it has nothing to decode, else a view
// of what it appends to arena. ok is false for a '%' not followed by two hex
// digits.
func unescapeQuery(s string, arena []byte) (string, []byte, bool) {
	i := escapeAt(s)
	if i < 0 {
		return s, arena, true
	}
	if arena == nil {
		arena = make([]byte, 0, max(256, len(s))) // escapes are mostly in short values (url, refr, tz)
	}
	start := len(arena)
	arena = append(arena, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", arena[:start], false
			}
			arena = append(arena, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			arena = append(arena, ' ')
		default:
			arena = append(arena, c)
		}
	}
	return bytesView(arena[start:]), arena, true
}

// escapeAt is the index of the first '%' or '+' in s, -1 if none: two
// vectorised searches, several times faster than strings.IndexAny's loop over
// a long value.
func escapeAt(s string) int {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return strings.IndexByte(s, '+')
	}
	if j := strings.IndexByte(s[:i], '+'); j >= 0 {
		return j
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// bytesView is b as a string without a copy: b must not change while the string
// is in use (the decoder only appends to its arena and never writes to a
// request body).
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
