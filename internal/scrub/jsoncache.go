package scrub

import (
	"bytes"
	"hash/maphash"

	"github.com/accord-dev/accord/internal/contract"
)

// jsonCache keeps the stored JSON of generalised user agents and IP addresses for
// the byte path (ScrubBytes), keyed by a seeded 64-bit hash of the kind and the
// raw JSON string they were computed from. A hit replaces the decode, the
// generalisation (a parse, a country lookup, a map) and the JSON encoding with a
// hash and a copy. It holds stored forms only, never a user agent or an address:
// the same rule as the user agent cache.
//
// Only results that are a function of the raw string alone are kept: a value
// that could not be generalised (counted in Stats.Invalid at every occurrence)
// or whose city lookup failed is computed again every time.
type jsonCache struct {
	seed  maphash.Seed
	cache *lru[[]byte]
}

func newJSONCache(size int) *jsonCache {
	return &jsonCache{seed: maphash.MakeSeed(), cache: newLRU[[]byte](size)}
}

// cachedKind says whether the byte path caches the stored JSON of kind.
func cachedKind(k contract.Kind) bool {
	return k == contract.KindUserAgent || k == contract.KindIP
}

// key hashes the kind and the raw JSON string (quotes included): two spellings
// of one string (escapes) are two entries with the same value.
func (c *jsonCache) key(k contract.Kind, raw []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(string(k))
	h.WriteByte(0)
	h.Write(raw)
	return h.Sum64()
}

// generalise returns the stored form of the string v of a cached kind, and
// whether it may be cached.
func (s *Scrubber) generalise(k contract.Kind, v string) (out any, cacheable bool) {
	if k == contract.KindUserAgent {
		return s.ua.template(v), true
	}
	return s.obfuscateIPString(v)
}

// cachedJSON is the byte path of an obfuscated user agent or IP address given as
// a JSON string (raw, quotes included): the edit that replaces it with its stored
// JSON, from the cache or computed and cached.
func (sc *byteScratch) cachedJSON(s *Scrubber, k contract.Kind, start, end int, raw []byte) (edit, bool) {
	key := s.json.key(k, raw)
	if enc, ok := s.json.cache.get(key); ok {
		return edit{start: start, end: end, repl: enc}, true
	}
	v, err := decodeValue(raw)
	str, isString := v.(string)
	if err != nil || !isString {
		return edit{}, false
	}
	nv, cacheable := s.generalise(k, str)
	at := len(sc.enc)
	if sc.enc, err = appendJSON(sc.enc, nv); err != nil {
		return edit{}, false
	}
	enc := sc.enc[at:len(sc.enc):len(sc.enc)]
	if cacheable {
		s.json.cache.put(key, bytes.Clone(enc))
	}
	return edit{start: start, end: end, repl: enc}, true
}
