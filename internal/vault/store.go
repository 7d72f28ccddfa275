package vault

import (
	"context"
	"errors"
	"time"
)

// Store errors. Stores return them (possibly wrapped) so that the vault can tell the
// outcomes apart; any other error is a failure of the storage itself.
var (
	// ErrNotFound means the store holds no live key for the pair or id asked for, and
	// (for an id) never destroyed one with that id either.
	ErrNotFound = errors.New("not found")
	// ErrForgotten means the key was destroyed by a forget: its tokens can never be
	// detokenized again.
	ErrForgotten = errors.New("the subject of this token was forgotten; it can never be detokenized")
	// ErrKeyIDTaken means CreateKey was given an id that is, or once was, in use. The
	// caller draws another random id and tries again.
	ErrKeyIDTaken = errors.New("key id already used")
	// ErrClosed is returned by a store after Close.
	ErrClosed = errors.New("vault store is closed")
)

// KeyRecord is one (controller, subject) key as a store holds it: the key itself is
// sealed under the master key, and the pair appears only as keyed hashes.
type KeyRecord struct {
	ID      KeyID
	Pair    PairID
	Wrapped []byte
	// TokenV1 marks a key created before token version 2 existed: its tokens carry
	// its id in clear (version 1), as they always did, so that its values keep their
	// tokens. The vault creates every new key without it.
	TokenV1 bool
}

// Mapping is one stored token: its MAC and its value sealed under the pair key. A
// store may index mappings by a prefix of the MAC of at least 8 bytes.
type Mapping struct {
	MAC    MAC
	Sealed []byte
}

// ForgetRequest names the keys to destroy: the key of one pair when Pair is set (its
// Subject() is then Subject), or every key of Subject otherwise. Audit is appended in
// the same transaction, with Keys and Tokens filled in by the store.
type ForgetRequest struct {
	Subject SubjectID
	Pair    *PairID
	Audit   AuditEntry
}

// ForgetOutcome reports what a forget destroyed.
type ForgetOutcome struct {
	Keys   []KeyID
	Tokens int
}

// Audit actions.
const (
	ActionDetokenize = "detokenize"
	ActionForget     = "forget"
)

// AuditEntry is one line of the append-only audit log. It never holds a subject or a
// value: the controller appears as its pseudonym (Vault.ControllerRef) or "*" for all.
type AuditEntry struct {
	// Seq orders the log; the store assigns it.
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Controller string    `json:"controller,omitempty"`
	// Tokens is the number of tokens asked for (detokenize) or destroyed (forget).
	Tokens int `json:"tokens"`
	// Resolved is the number of tokens that were detokenized.
	Resolved int `json:"resolved,omitempty"`
	// Keys is the number of keys destroyed by a forget.
	Keys int `json:"keys,omitempty"`
}

// StoreStats counts what a store holds.
type StoreStats struct {
	Keys      int64 `json:"keys"`
	Tokens    int64 `json:"tokens"`
	Forgotten int64 `json:"forgotten"`
	Audit     int64 `json:"audit_entries"`
	// Bytes is the size of the store on disk, when the store can tell (0 otherwise).
	Bytes int64 `json:"bytes"`
}

// Store keeps the vault's keys, sealed values, tombstones and audit log. Every method
// may be called concurrently from many goroutines, and (for a shared store such as
// Postgres) from many processes at once; each method is atomic on its own. A method
// returns only once its writes are durable.
type Store interface {
	// BindMasterKey is called once when a vault opens the store. The first call on an
	// empty store records fingerprint (a one-way function of the master key); every
	// later call returns ErrWrongMasterKey if fingerprint differs, so that a vault
	// opened with the wrong key fails at once instead of issuing inconsistent tokens.
	BindMasterKey(ctx context.Context, fingerprint []byte) error

	// KeyByPair returns the live key of pair, or ErrNotFound. It is called when a
	// tokenize misses the vault's key cache.
	KeyByPair(ctx context.Context, pair PairID) (KeyRecord, error)

	// CreateKey stores rec as the key of rec.Pair, with mappings under it, unless that
	// pair already has a live key, and returns the key that is live for the pair
	// afterwards: rec, or the key that another caller created first (and then stores
	// none of mappings). Concurrent calls for one pair therefore converge on one key.
	// It returns ErrKeyIDTaken when rec.ID is or was in use. Storing the first
	// mappings with the key makes a new subject cost one transaction, not two.
	CreateKey(ctx context.Context, rec KeyRecord, mappings []Mapping) (KeyRecord, error)

	// PutMappings stores mappings under key id, keeping any mapping already stored. It
	// returns ErrForgotten or ErrNotFound when the key is not live (a forget won a race
	// with this tokenize), and then stores nothing.
	PutMappings(ctx context.Context, id KeyID, mappings []Mapping) error

	// Mappings returns key id and the sealed value of each MAC in macs (nil where the
	// store holds none), read in one consistent snapshot. It returns ErrForgotten
	// when the key was destroyed and ErrNotFound when it never existed.
	Mappings(ctx context.Context, id KeyID, macs []MAC) (KeyRecord, [][]byte, error)

	// Forget destroys the keys named by req, their mappings and their pair index
	// entries, leaves a tombstone per key id, and appends req.Audit, all in one
	// transaction. Forgetting a subject that has no key is not an error.
	Forget(ctx context.Context, req ForgetRequest) (ForgetOutcome, error)

	// AppendAudit appends e to the audit log and assigns its Seq.
	AppendAudit(ctx context.Context, e AuditEntry) error

	// Audit returns up to limit audit entries with Seq > after, oldest first.
	Audit(ctx context.Context, after uint64, limit int) ([]AuditEntry, error)

	// Stats counts what the store holds.
	Stats(ctx context.Context) (StoreStats, error)

	// Close releases the store. No other method is called after it.
	Close() error
}

// KeyIDAllocator is implemented by stores that number keys themselves, so that key
// records are written in the order of their ids (the embedded store appends them to
// its B+tree, whose pages then fill up). The vault calls NextKeyID, from any number
// of goroutines at once, for the id of a key it is about to create; the store never
// returns one id twice, though an id may end up unused. CreateKey may still return
// ErrKeyIDTaken for it (an id of another layout), and the vault then asks again.
// Without it, the vault draws random ids.
type KeyIDAllocator interface {
	NextKeyID() (KeyID, error)
}

// ForgetWatcher is implemented by stores that several processes share. A vault calls
// WatchForgets once, when it opens; it returns once it is listening, and from then on
// calls fn, from its own goroutine, with the ids of keys that any process destroyed,
// or with all set when it may have missed some (after a lost connection), in which
// case the vault drops its whole key cache. It stops when ctx ends, and then closes
// done.
type ForgetWatcher interface {
	WatchForgets(ctx context.Context, fn func(ids []KeyID, all bool)) (done <-chan struct{}, err error)
}
