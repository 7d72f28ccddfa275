// Package scrub handles each personal-data field of an event as its contract's
// x-pii annotation says, between validation and the durable buffer, so that no
// sink, bad row, log or metric sees personal data a contract says to scrub.
//
// A Plan is compiled once per contract version and applied to every event of it:
// obfuscated fields are generalised (IP masked plus geo, user agent generalised,
// coordinates cut, email to its domain, phone to its calling code, postal code to
// its area, date of birth to its year, URL to scheme, host and path), tokenized
// fields become vault tokens under the event's data controller and subject, hashed
// fields become keyed HMAC-SHA256, dropped fields disappear. The output has the
// stored shape of contract.StoredDoc.
//
// Errors and logs of this package name contracts and JSON pointers, never values.
package scrub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/phuslu/iploc"
)

// Tokenizer issues vault tokens. Tokenize returns the token of value for subject
// under controller: the same token for the same three strings until the subject
// is forgotten, another one under any other controller. It is called once per
// tokenized field of an event, concurrently from many collector goroutines, and
// must return only when the token can later be detokenized (the mapping is
// durable). An error means the event cannot be stored now (the vault is
// unavailable, ctx ended): the collector answers the producer with a retryable
// error instead of dead-lettering. *vault.Vault implements it.
type Tokenizer interface {
	Tokenize(ctx context.Context, controller, subject, value string) (string, error)
}

// Sealer encrypts values under the key of a data subject and returns them as
// text that carries them (vault sealed values): a bad row keeps its event's
// personal data that way, so that the event can be replayed, and the data still
// dies with the subject's key. *vault.Vault implements it.
type Sealer interface {
	Seal(ctx context.Context, controller, subject string, values []string) ([]string, error)
}

// Deps are what a Scrubber uses but does not own.
type Deps struct {
	// Tokenizer tokenizes fields whose handling is tokenize. Without it, events
	// with a tokenized field fail with ReasonTokenizeFailed.
	Tokenizer Tokenizer
	// Sealer seals the personal data of bad rows (Seal). Without it, Seal
	// redacts.
	Sealer Sealer
}

// Scrubber compiles and caches scrub plans and holds what they share: the hash
// key, the user agent cache, the city database. It is safe for concurrent use.
type Scrubber struct {
	tok    Tokenizer
	sealer Sealer
	hashes sync.Pool // of hash.Hash keyed with the hash secret
	ua     *uaCache
	json   *jsonCache // stored JSON of user agents and IP addresses (byte path)
	city   *cityDB    // nil without a city database
	plans  sync.Map
	stats  counters
}

// New returns a Scrubber ready to use. cfg must hold a hash secret (see
// EnsureHashSecretFile for the embedded default). Close releases the city
// database.
func New(cfg Config, deps Deps) (*Scrubber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secret, err := cfg.hashSecret()
	if err != nil {
		return nil, err
	}
	s := &Scrubber{tok: deps.Tokenizer, sealer: deps.Sealer}
	s.hashes.New = func() any { return hmac.New(sha256.New, secret) }
	size := cfg.UACacheSize
	if size == 0 {
		size = DefaultUACacheSize
	}
	s.ua = newUACache(size)
	s.json = newJSONCache(size)
	// iploc inflates its IPv6 table on first use (a few hundred milliseconds);
	// start that now rather than in the first IPv6 event's request.
	ipv6Warmup.Do(func() { go iploc.IPCountry(netip.IPv6Loopback()) })
	if cfg.MMDBPath != "" {
		if s.city, err = openCityDB(cfg.MMDBPath, cityCacheSize); err != nil {
			return nil, err
		}
	}
	return s, nil
}

var ipv6Warmup sync.Once

// Close releases the city database. Plans of a closed Scrubber must not be used.
func (s *Scrubber) Close() error {
	if s.city != nil {
		return s.city.close()
	}
	return nil
}

// planEntry caches the plan of one contract version. The contract pointer tells
// a reloaded contract (a new *Contract under the same key, as when a local
// registry is edited during development) from the one the plan was made from.
type planEntry struct {
	c    *contract.Contract
	plan *Plan
	err  error
}

// Plan returns the scrub plan of c, compiling it on first use. Plans are cached
// per contract version; the cache holds one plan per version and replaces it when
// a new *Contract arrives under the same key.
func (s *Scrubber) Plan(c *contract.Contract) (*Plan, error) {
	if e, ok := s.plans.Load(c.Key); ok {
		if e := e.(*planEntry); e.c == c {
			return e.plan, e.err
		}
	}
	p, err := s.compile(c)
	s.plans.Store(c.Key, &planEntry{c: c, plan: p, err: err})
	return p, err
}

// Scrub scrubs the data of one event (or of one context entity) of contract c in
// place; see Plan.Scrub.
func (s *Scrubber) Scrub(ctx context.Context, c *contract.Contract, data any) ([]Applied, error) {
	p, err := s.Plan(c)
	if err != nil {
		return nil, err
	}
	return p.Scrub(ctx, data)
}

// Redact replaces every personal-data field of data (an event of contract c that
// is going to a bad row) in place; see Plan.Redact.
func (s *Scrubber) Redact(c *contract.Contract, data any) ([]string, error) {
	p, err := s.Plan(c)
	if err != nil {
		return nil, err
	}
	return p.Redact(data), nil
}

// Seal seals (or, when it cannot, redacts) every personal-data field of data (an
// event of contract c that is going to a bad row) in place; see Plan.Seal.
func (s *Scrubber) Seal(ctx context.Context, c *contract.Contract, data any) (sealed, redacted []string, err error) {
	p, err := s.Plan(c)
	if err != nil {
		return nil, nil, err
	}
	sealed, redacted = p.Seal(ctx, data)
	return sealed, redacted, nil
}

// hmacHex returns the hex HMAC-SHA256 of value under the hash secret. The same
// value hashes the same in every contract, so hashed fields still join across
// events; without the secret, nobody can test a guess against a hash.
func (s *Scrubber) hmacHex(value string) string {
	h := s.hashes.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(value))
	var sum [sha256.Size]byte
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], h.Sum(sum[:0]))
	s.hashes.Put(h)
	return string(out[:])
}

// Reasons are the fixed snake_case causes of an event that cannot be scrubbed,
// used alike in the bad row, the HTTP answer and the metric label.
const (
	// ReasonPrivacyContextMissing: a field is tokenized, but the event has no data
	// controller or data subject to tokenize it under (or the contract has no
	// x-privacy). Storing the event would leave PII that can never be forgotten;
	// the collector dead-letters it.
	ReasonPrivacyContextMissing = "privacy_context_missing"
	// ReasonTokenizeFailed: the tokenizer failed (vault unavailable, ctx ended).
	// The event is fine; the collector should answer with a retryable error.
	ReasonTokenizeFailed = "tokenize_failed"
	// ReasonPlanInvalid: the contract cannot be scrubbed safely (for example a
	// personal-data field inside a recursive definition, which the plan could not
	// follow to every depth). Every event of the contract is refused.
	ReasonPlanInvalid = "scrub_plan_invalid"
)

// Error is why an event could not be scrubbed. It names the contract and a JSON
// pointer, never a value, so it is safe to log and to store in a bad row.
type Error struct {
	// Contract is the Iglu URI of the contract.
	Contract string
	// Reason is one of the Reason constants.
	Reason string
	// Pointer locates the problem: the x-privacy reference (/shop_id) for
	// privacy_context_missing, the field (/items/0/email) for tokenize_failed, the
	// schema location for scrub_plan_invalid.
	Pointer string
	// Message says what is wrong, without values.
	Message string
	// Err is the cause, if any (the tokenizer's error).
	Err error
}

// Error formats the error as "scrubbing <contract>: <pointer>: <message> [reason]".
func (e *Error) Error() string {
	msg := e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return fmt.Sprintf("scrubbing %s: %s: %s [%s]", e.Contract, e.Pointer, msg, e.Reason)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of a scrub error, "" for other errors.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Stats are the scrubber's counters since New, for the metrics endpoint.
type Stats struct {
	// Invalid counts obfuscated values that could not be generalised and were
	// stored as Invalid, by kind.
	Invalid map[contract.Kind]uint64
	// UACacheHits and UACacheMisses count user agent cache lookups.
	UACacheHits, UACacheMisses uint64
	// CityCacheHits and CityCacheMisses count city record cache lookups.
	CityCacheHits, CityCacheMisses uint64
	// JSONCacheHits and JSONCacheMisses count lookups of the stored JSON of user
	// agents and IP addresses on the byte path.
	JSONCacheHits, JSONCacheMisses uint64
	// GeoErrors counts city database lookups that failed (a corrupt database).
	GeoErrors uint64
	// SealFailed counts bad rows whose personal data could not be sealed (the
	// sealer failed) and was redacted instead.
	SealFailed uint64
}

// Stats returns the counters.
func (s *Scrubber) Stats() Stats {
	st := Stats{Invalid: map[contract.Kind]uint64{}, GeoErrors: s.stats.geoErrors.Load(), SealFailed: s.stats.sealFailed.Load()}
	for i, k := range contract.Obfuscations {
		if n := s.stats.invalidByKind[i].Load(); n > 0 {
			st.Invalid[k] = n
		}
	}
	st.UACacheHits, st.UACacheMisses = s.ua.cache.hits.Load(), s.ua.cache.misses.Load()
	st.JSONCacheHits, st.JSONCacheMisses = s.json.cache.hits.Load(), s.json.cache.misses.Load()
	if s.city != nil {
		st.CityCacheHits, st.CityCacheMisses = s.city.cache.hits.Load(), s.city.cache.misses.Load()
	}
	return st
}

// counters are indexed by the position of a kind in contract.Obfuscations.
type counters struct {
	invalidByKind [16]atomic.Uint64
	geoErrors     atomic.Uint64
	sealFailed    atomic.Uint64
}

func (c *counters) invalid(kindIndex int) { c.invalidByKind[kindIndex].Add(1) }

// kindIndex returns the position of k in contract.Obfuscations.
func kindIndex(k contract.Kind) int {
	for i, o := range contract.Obfuscations {
		if o == k {
			return i
		}
	}
	return len(contract.Obfuscations)
}

var kindIndexIP = kindIndex(contract.KindIP)
