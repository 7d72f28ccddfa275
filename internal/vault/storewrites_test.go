package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/vault"
)

// TestStoreWrites: StoreWrites counts a key created and new mappings stored, the
// writes that wait for a commit, but not a key read again from the store when
// its cache entry expired (the collector spreads a request over workers only
// when writes are waited for: a read gains nothing from it).
func TestStoreWrites(t *testing.T) {
	ctx := context.Background()
	const ttl = 100 * time.Millisecond
	v, _ := boltVault(t, vault.Options{CacheTTL: ttl})
	step := func(what, value string, want uint64) {
		t.Helper()
		before := v.StoreWrites()
		if _, err := v.Tokenize(ctx, "shop-a", "kim@example.com", value); err != nil {
			t.Fatal(err)
		}
		if got := v.StoreWrites() - before; got != want {
			t.Fatalf("%s: StoreWrites grew by %d, want %d", what, got, want)
		}
	}
	step("a new subject", "kim@example.com", 1)
	step("the same value, cached", "kim@example.com", 0)
	step("a new value of a cached subject", "+447700900123", 1)
	time.Sleep(3 * ttl) // the cache entry expires (the vault's clock is coarse)
	before, err := v.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step("a stored value after the entry expired", "kim@example.com", 0)
	after, err := v.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Keys != before.Keys {
		t.Fatalf("the expired key was created again: %d keys, then %d", before.Keys, after.Keys)
	}
}
