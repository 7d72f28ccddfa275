package scrub

import (
	"context"
	"testing"

	"github.com/accord-dev/accord/internal/vault"
)

// openVault opens an embedded vault under a temporary data directory.
func openVault(tb testing.TB) *vault.Vault {
	tb.Helper()
	v, err := vault.Open(context.Background(), vault.Config{}, tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Error(err)
		}
	})
	return v
}

// TestVaultIntegration scrubs with the real vault: the same email gives the same
// token for one shop, another token for another shop, the token detokenizes to
// the raw email, and forgetting the subject makes it meaningless.
func TestVaultIntegration(t *testing.T) {
	ctx := context.Background()
	v := openVault(t)
	c := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", signupSrc)
	s := newScrubber(t, Config{}, v)
	scrub := func(shop string) string {
		t.Helper()
		data := decode(t, []byte(`{"shop_id": "`+shop+`", "email": "jane@example.com"}`)).(map[string]any)
		if _, err := s.Scrub(ctx, c, data); err != nil {
			t.Fatal(err)
		}
		assertStored(t, c, data)
		return data["email"].(string)
	}
	t1, t2, other := scrub("shop_1"), scrub("shop_1"), scrub("shop_2")
	if t1 != t2 {
		t.Errorf("the same email under one shop gave two tokens: %s, %s", t1, t2)
	}
	if t1 == other {
		t.Error("two shops got the same token for one email")
	}
	got, err := v.Detokenize(ctx, "test", []string{t1})
	if err != nil || len(got) != 1 || got[0].Err != nil || got[0].Value != "jane@example.com" {
		t.Fatalf("Detokenize = %+v, %v", got, err)
	}
	if _, err := v.Forget(ctx, "test", "jane@example.com", "shop_1"); err != nil {
		t.Fatal(err)
	}
	got, err = v.Detokenize(ctx, "test", []string{t1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Err == nil {
		t.Errorf("after forget, Detokenize = %+v, want an error", got)
	}
	if t3 := scrub("shop_1"); t3 == t1 {
		t.Error("after forget, the email got its old token back")
	}
}

// TestMaxSealLen: SealAll seals exactly the values the vault accepts.
func TestMaxSealLen(t *testing.T) {
	if MaxSealLen != vault.MaxValueLen {
		t.Fatalf("MaxSealLen %d, vault.MaxValueLen %d", MaxSealLen, vault.MaxValueLen)
	}
}
