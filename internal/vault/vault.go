package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// MaxValueLen is the longest value Tokenize accepts, in bytes. PII fields are short;
// a longer value is almost certainly a field that should be dropped, not tokenized.
const MaxValueLen = 4096

// Errors returned by the vault. Their text never contains a subject, a controller or a
// value.
var (
	// ErrUnknownToken is a per-token Detokenize error: the token is well formed, but
	// this vault never issued it.
	ErrUnknownToken = errors.New("token unknown to this vault")
	// ErrEmptySubject is returned when a subject is "". Events without a subject must
	// not be tokenized: they could never be forgotten.
	ErrEmptySubject = errors.New("empty data subject")
	// ErrEmptyController is returned by Tokenize when the controller is "".
	ErrEmptyController = errors.New("empty data controller")
	// ErrEmptyActor is returned by Detokenize and Forget without an actor to audit.
	ErrEmptyActor = errors.New("empty actor: every detokenize and forget is audited under an actor")
	// ErrValueTooLong is returned by Tokenize for a value over MaxValueLen bytes.
	ErrValueTooLong = fmt.Errorf("value longer than %d bytes", MaxValueLen)
)

// Options configure New.
type Options struct {
	// MasterKey is the 32-byte key that seals every pair key and keys every index
	// hash. Losing it loses every token; leaking it with the store's disk exposes
	// every live (not forgotten) value.
	MasterKey []byte
	// CacheTTL bounds how long a process keeps using a cached pair key without asking
	// the store, and so how long a forget made by another process may take to reach
	// this one (when the store cannot notify it sooner). 0 means DefaultCacheTTL.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached pair keys (about 0.9 KiB of heap each,
	// see BenchmarkCachedKeyMemory). 0 means DefaultCacheSize.
	CacheSize int
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Defaults for Options and Config.
const (
	DefaultCacheTTL  = 10 * time.Second
	DefaultCacheSize = 100_000
)

// Vault tokenizes, detokenizes and forgets. It is safe for concurrent use.
type Vault struct {
	store   Store
	secrets *secrets
	cache   *keyCache
	ttl     time.Duration
	now     func() time.Time
	// nanotime is the hot path's clock: a coarse clock (see clockTick) read with one
	// atomic load, since time.Now costs as much as a third of a cached tokenize.
	nanotime func() int64
	coarse   atomic.Int64
	// storeWrites counts the writes tokenizations asked of the store (StoreWrites).
	storeWrites atomic.Uint64

	// MasterKeySource says where Open found the master key, for the caller to report
	// ("generated into /data/vault/master.key", "ACCORD_VAULT_MASTER_KEY"); "" after New.
	MasterKeySource string

	stopWatch func() // stops the forget watcher and waits for it
	stopClock func() // stops the coarse clock and waits for it
}

// clockTick is how often the coarse clock advances: a cached key may outlive its TTL
// by up to this much.
const clockTick = 50 * time.Millisecond

// New returns a vault on store, which it owns from then on: Close closes it. When the
// store implements ForgetWatcher, the vault listens for forgets made by other processes
// until Close.
func New(ctx context.Context, store Store, opts Options) (*Vault, error) {
	sec, err := deriveSecrets(opts.MasterKey)
	if err != nil {
		return nil, err
	}
	if opts.CacheTTL < 0 || opts.CacheSize < 0 {
		return nil, errors.New("cache TTL and cache size must not be negative")
	}
	if err := store.BindMasterKey(ctx, sec.fingerprint); err != nil {
		return nil, fmt.Errorf("checking the master key against the store: %w", err)
	}
	v := &Vault{
		store:   store,
		secrets: sec,
		ttl:     cmpOr(opts.CacheTTL, DefaultCacheTTL),
		now:     opts.Now,
	}
	v.cache = newKeyCache(cmpOr(opts.CacheSize, DefaultCacheSize))
	v.stopWatch, v.stopClock = func() {}, func() {}
	if v.now == nil {
		v.now = time.Now
		v.startCoarseClock()
	} else {
		v.nanotime = func() int64 { return v.now().UnixNano() }
	}
	if w, ok := store.(ForgetWatcher); ok {
		watchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done, err := w.WatchForgets(watchCtx, v.invalidate)
		if err != nil {
			cancel()
			v.stopClock()
			return nil, err
		}
		v.stopWatch = func() {
			cancel()
			<-done
		}
	}
	return v, nil
}

func (v *Vault) startCoarseClock() {
	v.coarse.Store(time.Now().UnixNano())
	v.nanotime = v.coarse.Load
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				v.coarse.Store(now.UnixNano())
			case <-stop:
				return
			}
		}
	}()
	v.stopClock = func() {
		close(stop)
		<-done
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (v *Vault) invalidate(ids []KeyID, all bool) {
	if all {
		v.cache.invalidateAll()
		return
	}
	v.cache.invalidate(ids)
}

// Close stops the vault and closes its store.
func (v *Vault) Close() error {
	v.stopWatch()
	v.stopClock()
	if err := v.store.Close(); err != nil {
		return fmt.Errorf("closing the vault store: %w", err)
	}
	return nil
}

// Tokenize returns the token of value for subject under controller: always the same
// token for the same three strings until the subject is forgotten, and a different,
// unlinkable token under any other controller or after a forget. It returns only when
// the mapping is durable, so the token can be detokenized even after a crash.
func (v *Vault) Tokenize(ctx context.Context, controller, subject, value string) (string, error) {
	if len(value) > MaxValueLen {
		return "", ErrValueTooLong
	}
	s := scope{controller: controller, subject: subject}
	if e, fresh := v.cache.get(s, v.nanotime()); fresh {
		if t, _, stored := e.key.token(value); stored {
			return t.String(), nil
		}
	}
	toks, err := v.tokenizeSlow(ctx, s, []string{value})
	if err != nil {
		return "", err
	}
	return toks[0], nil
}

// TokenizeAll tokenizes several values of one subject under one controller (the PII
// fields of one event) with at most one store write, and returns their tokens in
// order.
func (v *Vault) TokenizeAll(ctx context.Context, controller, subject string, values []string) ([]string, error) {
	for _, val := range values {
		if len(val) > MaxValueLen {
			return nil, ErrValueTooLong
		}
	}
	s := scope{controller: controller, subject: subject}
	if e, fresh := v.cache.get(s, v.nanotime()); fresh {
		toks := make([]string, len(values))
		all := true
		for i, val := range values {
			t, _, stored := e.key.token(val)
			if !stored {
				all = false
				break
			}
			toks[i] = t.String()
		}
		if all {
			return toks, nil
		}
	}
	return v.tokenizeSlow(ctx, s, values)
}

// maxTokenizeAttempts bounds the retries of a tokenize that keeps losing races with
// forgets of its subject. An attempt is lost only to a forget of the same subject
// committed while it ran, so the bound is reached only when one subject is
// forgotten again and again within one request; 5 was reached by a tokenize racing
// 5 forgets of its subject (TestBoltConformance/ConcurrentTokenizeAndForget, about
// once in 300 runs).
const maxTokenizeAttempts = 32

// StoreWrites counts the writes tokenizations asked of the store: a key created
// for a new subject, new mappings stored under a known key. Each waits for a
// durable commit, which the store shares among concurrent writes, so a caller
// with many values to tokenize can watch it to tell when tokenizing them
// concurrently pays. A key only read again (its cache entry expired) is not
// counted: a read is not shared, and costs no commit.
func (v *Vault) StoreWrites() uint64 { return v.storeWrites.Load() }

func (v *Vault) tokenizeSlow(ctx context.Context, s scope, values []string) ([]string, error) {
	if s.subject == "" {
		return nil, ErrEmptySubject
	}
	if s.controller == "" {
		return nil, ErrEmptyController
	}
	for range maxTokenizeAttempts {
		e, err := v.entry(ctx, s, values)
		if err != nil {
			return nil, err
		}
		toks, missing, err := tokenizeWith(e.key, values)
		if err != nil {
			return nil, err
		}
		if len(missing) == 0 {
			return toks, nil
		}
		v.storeWrites.Add(1)
		err = v.store.PutMappings(ctx, e.key.id, missing)
		if errors.Is(err, ErrForgotten) || errors.Is(err, ErrNotFound) {
			// A forget destroyed the key after we read it: start over with a new key.
			v.cache.invalidate([]KeyID{e.key.id})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("storing tokens: %w", err)
		}
		e.key.markStored(macsOf(missing))
		return toks, nil
	}
	return nil, errors.New("tokenizing: the subject's key kept being forgotten while tokenizing; try again")
}

// tokenizeWith returns the tokens of values under k, and the sealed mappings of those
// not known to be stored (each once).
func tokenizeWith(k *pairKey, values []string) (toks []string, missing []Mapping, err error) {
	toks = make([]string, len(values))
	var seen map[MAC]bool
	for i, val := range values {
		t, mac, stored := k.token(val)
		toks[i] = t.String()
		if stored || seen[mac] {
			continue
		}
		if seen == nil {
			seen = make(map[MAC]bool, len(values))
		}
		seen[mac] = true
		sealed, err := k.seal(mac, val)
		if err != nil {
			return nil, nil, err
		}
		missing = append(missing, Mapping{MAC: mac, Sealed: sealed})
	}
	return toks, missing, nil
}

func macsOf(mappings []Mapping) []MAC {
	macs := make([]MAC, len(mappings))
	for i := range mappings {
		macs[i] = mappings[i].MAC
	}
	return macs
}

// entry returns the cache entry of s, reading the key from the store when the cache
// has none or its entry expired, or creating it (with the mappings of values, in the
// same store transaction) when the store has none either.
func (v *Vault) entry(ctx context.Context, s scope, values []string) (*cacheEntry, error) {
	now := v.now()
	cached, fresh := v.cache.get(s, now.UnixNano())
	if fresh {
		return cached, nil
	}
	epoch := v.cache.epoch.Load()
	expires := now.Add(v.ttl).UnixNano()
	pair := v.secrets.pairID(s.controller, s.subject)
	rec, err := v.store.KeyByPair(ctx, pair)
	if errors.Is(err, ErrNotFound) {
		return v.createEntry(ctx, s, pair, values, epoch, expires)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the subject's key: %w", err)
	}
	if cached != nil && cached.key.id == rec.ID {
		cached.expires.Store(expires)
		return cached, nil
	}
	return v.entryFrom(s, rec, epoch, expires)
}

// entryFrom unwraps rec and caches it for s.
func (v *Vault) entryFrom(s scope, rec KeyRecord, epoch uint64, expires int64) (*cacheEntry, error) {
	raw, err := v.secrets.unwrapKey(rec.ID, rec.Wrapped)
	if err != nil {
		return nil, err
	}
	k, err := v.pairKey(rec, raw)
	if err != nil {
		return nil, err
	}
	return v.cacheKey(s, k, epoch, expires), nil
}

// pairKey makes the usable key of rec from its unwrapped key raw.
func (v *Vault) pairKey(rec KeyRecord, raw []byte) (*pairKey, error) {
	hide := v.secrets.hide
	if rec.TokenV1 {
		hide = nil
	}
	return newPairKey(rec.ID, raw, hide)
}

func (v *Vault) cacheKey(s scope, k *pairKey, epoch uint64, expires int64) *cacheEntry {
	e := &cacheEntry{scope: s, key: k}
	e.expires.Store(expires)
	return v.cache.put(e, epoch)
}

// maxKeyIDAttempts bounds the key ids tried for one new key. With random 64-bit ids a
// second draw is already rare at billions of keys; a store that numbers keys skips
// a taken number only where a key of an older layout holds it.
const maxKeyIDAttempts = 4

// newKeyID returns the id for a new key: the store's next number when it numbers
// keys, a random id otherwise.
func (v *Vault) newKeyID() (KeyID, error) {
	if a, ok := v.store.(KeyIDAllocator); ok {
		id, err := a.NextKeyID()
		if err != nil {
			return KeyID{}, fmt.Errorf("numbering a new key: %w", err)
		}
		return id, nil
	}
	return randomKeyID()
}

// createEntry creates a key for a pair that has none, storing the mappings of values
// with it. When another caller created the pair's key first, it returns that key's
// entry instead, and the caller stores the mappings under it.
func (v *Vault) createEntry(ctx context.Context, s scope, pair PairID, values []string, epoch uint64, expires int64) (*cacheEntry, error) {
	for range maxKeyIDAttempts {
		id, err := v.newKeyID()
		if err != nil {
			return nil, err
		}
		raw := make([]byte, pairKeyLen)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("reading a random key: %w", err)
		}
		wrapped, err := v.secrets.wrapKey(id, raw)
		if err != nil {
			return nil, err
		}
		rec := KeyRecord{ID: id, Pair: pair, Wrapped: wrapped}
		k, err := v.pairKey(rec, raw)
		if err != nil {
			return nil, err
		}
		_, mappings, err := tokenizeWith(k, values)
		if err != nil {
			return nil, err
		}
		v.storeWrites.Add(1)
		live, err := v.store.CreateKey(ctx, rec, mappings)
		if errors.Is(err, ErrKeyIDTaken) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating a key: %w", err)
		}
		if live.ID != id {
			return v.entryFrom(s, live, epoch, expires)
		}
		e := v.cacheKey(s, k, epoch, expires)
		e.key.markStored(macsOf(mappings))
		return e, nil
	}
	return nil, errors.New("creating a key: every key id tried was taken; is the random source broken?")
}

// Detokenized is the outcome of detokenizing one token: Value, or Err (wrapping
// ErrMalformedToken, ErrForgotten or ErrUnknownToken).
type Detokenized struct {
	Token string
	Value string
	Err   error
}

// Detokenize returns the value of each token, in order. It is for authorised callers
// only (the admin API and CLI check that): every call is written to the audit log
// under actor before any value is returned, and no value is returned if the audit
// cannot be written. The error is for failures of the vault itself; a token that
// cannot be resolved gets its own Err.
func (v *Vault) Detokenize(ctx context.Context, actor string, tokens []string) ([]Detokenized, error) {
	if actor == "" {
		return nil, ErrEmptyActor
	}
	out := make([]Detokenized, len(tokens))
	items := make([]opening, len(tokens))
	for i, s := range tokens {
		out[i].Token = s
		t, err := ParseToken(s)
		if err != nil {
			out[i].Err = err
			items[i].skip = true
			continue
		}
		items[i].id, items[i].mac = openToken(v.secrets.hide, t)
	}
	if err := v.openAll(ctx, actor, ActionDetokenize, items, out); err != nil {
		return nil, err
	}
	return out, nil
}

// opening is one value to decrypt: the key id and MAC its token carries, and its
// ciphertext when the caller has it (a sealed value); else the store's mapping
// is read.
type opening struct {
	id   KeyID
	mac  MAC
	ct   []byte
	skip bool // already failed: out holds its error
}

// openAll decrypts items into out (Value, or Err for one that cannot be: its key
// forgotten, unknown, or the value altered), reading each key once, then audits
// the call under actor. No value is returned if the audit cannot be written.
func (v *Vault) openAll(ctx context.Context, actor, action string, items []opening, out []Detokenized) error {
	byKey := make(map[KeyID][]int)
	var order []KeyID
	for i := range items {
		if items[i].skip {
			continue
		}
		id := items[i].id
		if _, ok := byKey[id]; !ok {
			order = append(order, id)
		}
		byKey[id] = append(byKey[id], i)
	}
	resolved := 0
	for _, id := range order {
		idx := byKey[id]
		var want []MAC
		for _, i := range idx {
			if items[i].ct == nil {
				want = append(want, items[i].mac)
			}
		}
		rec, stored, err := v.store.Mappings(ctx, id, want)
		switch {
		case errors.Is(err, ErrForgotten):
			for _, i := range idx {
				out[i].Err = ErrForgotten
			}
			continue
		case errors.Is(err, ErrNotFound):
			for _, i := range idx {
				out[i].Err = ErrUnknownToken
			}
			continue
		case err != nil:
			return fmt.Errorf("reading key %s: %w", id, err)
		}
		raw, err := v.secrets.unwrapKey(rec.ID, rec.Wrapped)
		if err != nil {
			return err
		}
		k, err := v.pairKey(rec, raw)
		if err != nil {
			return err
		}
		for _, i := range idx {
			ct := items[i].ct
			if ct == nil {
				ct, stored = stored[0], stored[1:]
				if ct == nil {
					out[i].Err = ErrUnknownToken
					continue
				}
			}
			val, err := k.open(items[i].mac, ct)
			if err != nil {
				out[i].Err = fmt.Errorf("%w: %w", ErrUnknownToken, err)
				continue
			}
			out[i].Value = val
			resolved++
		}
	}
	entry := AuditEntry{Time: v.now().UTC(), Actor: actor, Action: action, Tokens: len(items), Resolved: resolved}
	if err := v.store.AppendAudit(ctx, entry); err != nil {
		return fmt.Errorf("writing the audit entry (no value released): %w", err)
	}
	return nil
}

// ForgetResult reports what a forget destroyed.
type ForgetResult struct {
	// KeysDestroyed is the number of (controller, subject) keys destroyed: 0 when the
	// vault held nothing for the subject, at most 1 for one controller.
	KeysDestroyed int `json:"keys_destroyed"`
	// TokensDestroyed is the number of stored token mappings deleted with the keys.
	TokensDestroyed int `json:"tokens_destroyed"`
	// Controller is the controller's pseudonym in the audit log, or "*" for all.
	Controller string `json:"controller"`
}

// Forget destroys the key of subject under controller, or under every controller when
// controller is "". Every token made under a destroyed key is dead from then on: it
// cannot be detokenized, and the same value gets a new, unlinkable token. The forget
// is effective in this process on return and in other processes sharing the store
// within the bound described in docs/vault.md. It is audited under actor.
func (v *Vault) Forget(ctx context.Context, actor, subject, controller string) (ForgetResult, error) {
	if actor == "" {
		return ForgetResult{}, ErrEmptyActor
	}
	if subject == "" {
		return ForgetResult{}, ErrEmptySubject
	}
	req := ForgetRequest{
		Subject: v.secrets.subjectID(subject),
		Audit:   AuditEntry{Time: v.now().UTC(), Actor: actor, Action: ActionForget, Controller: "*"},
	}
	if controller != "" {
		pair := v.secrets.pairID(controller, subject)
		req.Pair = &pair
		req.Audit.Controller = v.secrets.controllerRef(controller)
	}
	out, err := v.store.Forget(ctx, req)
	if err != nil {
		return ForgetResult{}, fmt.Errorf("forgetting a subject: %w", err)
	}
	v.cache.invalidate(out.Keys)
	return ForgetResult{KeysDestroyed: len(out.Keys), TokensDestroyed: out.Tokens, Controller: req.Audit.Controller}, nil
}

// ControllerRef returns the pseudonym under which the audit log names controller, so
// that an admin who knows a controller can find its entries.
func (v *Vault) ControllerRef(controller string) string {
	return v.secrets.controllerRef(controller)
}

// Audit returns up to limit audit entries after sequence number after, oldest first.
func (v *Vault) Audit(ctx context.Context, after uint64, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, errors.New("audit limit must be positive")
	}
	entries, err := v.store.Audit(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return entries, nil
}

// Stats describes a vault.
type Stats struct {
	StoreStats
	// CachedKeys is the number of pair keys in this process's cache.
	CachedKeys int `json:"cached_keys"`
}

// Stats counts what the vault holds.
func (v *Vault) Stats(ctx context.Context) (Stats, error) {
	st, err := v.store.Stats(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("reading the store's stats: %w", err)
	}
	return Stats{StoreStats: st, CachedKeys: v.cache.len()}, nil
}
