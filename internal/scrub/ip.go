package scrub

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/phuslu/iploc"
)

// parseIP reads an IP address as collectors see them: plain, with a port
// ("81.2.69.142:443", "[2001:db8::1]:443"), with a zone, IPv4-mapped IPv6, or an
// X-Forwarded-For list (the first, client, address is taken).
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	a = a.WithZone("").Unmap()
	return a, a.IsValid()
}

// maskIP zeroes the host half of an address: an IPv4 address keeps its first 2 of
// 4 bytes (a /16: the network of an ISP's region), an IPv6 address its first 8 of
// 16 (a /64: the network, never the interface identifier, which may embed a MAC).
func maskIP(a netip.Addr) netip.Addr {
	if a.Is4() {
		b := a.As4()
		return netip.AddrFrom4([4]byte{b[0], b[1], 0, 0})
	}
	b := a.As16()
	clear(b[8:])
	return netip.AddrFrom16(b)
}

// countryBox holds every two-letter code boxed once, so that adding a country to
// an event allocates nothing.
var countryBox = func() *[26 * 26]any {
	var t [26 * 26]any
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return &t
}()

// boxedCountry returns code as a boxed value, or nil when it is not an ISO 3166-1
// alpha-2 code of a real country ("ZZ", iploc's answer for private, reserved and
// unknown ranges, is not).
func boxedCountry(code string) any {
	if len(code) != 2 || code == "ZZ" {
		return nil
	}
	a, b := code[0], code[1]
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return nil
	}
	return countryBox[int(a-'A')*26+int(b-'A')]
}

// cityDB looks up region and city in a MaxMind-format (.mmdb) city database:
// GeoLite2-City, GeoIP2-City or DB-IP City Lite. Decoded records are cached by
// their offset in the file, which many networks share (every address of a city
// points at one record), so the hot path decodes nothing.
type cityDB struct {
	r     *maxminddb.Reader
	cache *lru[cityRecord]
}

// cityRecord is what the scrubber keeps of a database record, boxed once.
type cityRecord struct {
	country, region, city any
}

func openCityDB(path string, cacheSize int) (*cityDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the city database %s: %w", path, err)
	}
	if !strings.Contains(strings.ToLower(r.Metadata.DatabaseType), "city") {
		return nil, errors.Join(fmt.Errorf("the database %s is of type %q; region and city need a city database (GeoLite2-City, GeoIP2-City, DB-IP City Lite)", path, r.Metadata.DatabaseType), r.Close())
	}
	return &cityDB{r: r, cache: newLRU[cityRecord](cacheSize)}, nil
}

// lookup returns the record of the full address a. An address the database does
// not know, or a record that cannot be decoded, yields an empty record: geo is an
// enrichment, and its absence must not fail an event.
func (db *cityDB) lookup(a netip.Addr) (cityRecord, error) {
	res := db.r.Lookup(a)
	if err := res.Err(); err != nil {
		return cityRecord{}, fmt.Errorf("looking up an address in the city database: %w", err)
	}
	if !res.Found() {
		return cityRecord{}, nil
	}
	off := uint64(res.Offset())
	if rec, ok := db.cache.get(off); ok {
		return rec, nil
	}
	var country, region, regionCode, city string
	var errs []error
	for _, d := range []struct {
		dst  *string
		path []any
	}{
		{&country, []any{"country", "iso_code"}},
		{&region, []any{"subdivisions", 0, "names", "en"}},
		{&regionCode, []any{"subdivisions", 0, "iso_code"}},
		{&city, []any{"city", "names", "en"}},
	} {
		if err := res.DecodePath(d.dst, d.path...); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return cityRecord{}, fmt.Errorf("decoding a city database record: %w", errors.Join(errs...))
	}
	if region == "" {
		region = regionCode
	}
	rec := cityRecord{country: boxedCountry(country)}
	if region != "" {
		rec.region = region
	}
	if city != "" {
		rec.city = city
	}
	db.cache.put(off, rec)
	return rec, nil
}

func (db *cityDB) close() error { return db.r.Close() }

// obfuscateIP returns the stored form of an IP address: {masked, country, region,
// city}. Geo is looked up on the full address before it is masked; unknown geo
// fields are left out. An address that does not parse yields {masked: "invalid"}.
func (s *Scrubber) obfuscateIP(v any) map[string]any {
	str, _ := v.(string)
	out, _ := s.obfuscateIPString(str)
	return out
}

// obfuscateIPString is obfuscateIP of a string; clean says that the result
// depends on str alone (it parsed, and the city lookup did not fail), so that
// it may be cached.
func (s *Scrubber) obfuscateIPString(str string) (out map[string]any, clean bool) {
	a, ok := parseIP(str)
	if !ok {
		s.stats.invalid(kindIndexIP)
		return map[string]any{"masked": Invalid}, false
	}
	clean = true
	out = make(map[string]any, 4)
	country := boxedCountry(iploc.IPCountry(a))
	if s.city != nil {
		rec, err := s.city.lookup(a)
		if err != nil {
			s.stats.geoErrors.Add(1)
			clean = false
		}
		if country == nil {
			country = rec.country
		}
		if rec.region != nil {
			out["region"] = rec.region
		}
		if rec.city != nil {
			out["city"] = rec.city
		}
	}
	if country != nil {
		out["country"] = country
	}
	out["masked"] = maskIP(a).String()
	return out, clean
}
