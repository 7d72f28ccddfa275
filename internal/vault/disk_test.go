package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// diskSecrets is what must never be recoverable from the vault file once a subject is
// forgotten: its raw keys, the keys as stored (sealed under the master key, which an
// operator with the disk may hold too), the sealed values, and the index hashes that
// would let someone holding the master key confirm that the subject was ever there.
type diskSecrets struct {
	named map[string][]byte
}

func (d *diskSecrets) add(name string, b []byte) { d.named[name] = bytes.Clone(b) }

// present returns the names of the secrets found in the file at path.
func (d *diskSecrets) present(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for name, b := range d.named {
		if bytes.Contains(raw, b) {
			found = append(found, name)
		}
	}
	return found
}

func openTestVault(t *testing.T, path string, master []byte, scrubDelay time.Duration) (*Vault, *BoltStore) {
	t.Helper()
	s, err := OpenBolt(path, BoltOptions{ScrubDelay: scrubDelay})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(context.Background(), s, Options{MasterKey: master})
	if err != nil {
		t.Fatal(err)
	}
	return v, s
}

// fillVault tokenizes the victim's values under two shops amid other subjects, so
// that the victim's rows share pages with rows that stay.
func fillVault(t *testing.T, v *Vault, victim string, values []string) {
	t.Helper()
	ctx := context.Background()
	for i := range 100 {
		other := fmt.Sprintf("other-%d@example.com", i)
		if _, err := v.TokenizeAll(ctx, "shop-a", other, []string{other, fmt.Sprint("+1 555 ", i)}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 25 {
			for _, shop := range []string{"shop-a", "shop-b"} {
				if _, err := v.TokenizeAll(ctx, shop, victim, values); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// victimSecrets collects the victim's key material and index hashes from the store.
func victimSecrets(t *testing.T, v *Vault, s *BoltStore, victim string, values []string) *diskSecrets {
	t.Helper()
	ctx := context.Background()
	d := &diskSecrets{named: map[string][]byte{}}
	sid := v.secrets.subjectID(victim)
	d.add("subject index hash", sid[:indexSubjectLen])
	for _, shop := range []string{"shop-a", "shop-b"} {
		pair := v.secrets.pairID(shop, victim)
		d.add(shop+" pair index hash", indexKey(pair))
		rec, err := s.KeyByPair(ctx, pair)
		if err != nil {
			t.Fatal(err)
		}
		d.add(shop+" stored (sealed) key", rec.Wrapped)
		key, err := v.secrets.unwrapKey(rec.ID, rec.Wrapped)
		if err != nil {
			t.Fatal(err)
		}
		d.add(shop+" raw key", key)
		pk, err := v.pairKey(rec, key)
		if err != nil {
			t.Fatal(err)
		}
		macs := make([]MAC, len(values))
		for i, val := range values {
			_, macs[i], _ = pk.token(val)
		}
		_, sealed, err := s.Mappings(ctx, rec.ID, macs)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range sealed {
			if b == nil {
				t.Fatalf("%s: value %d is not stored", shop, i)
			}
			d.add(fmt.Sprintf("%s sealed value %d", shop, i), b)
		}
	}
	return d
}

func randomMaster(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, MasterKeyLen)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDiskHoldsNoPlaintext scans the raw bbolt file: no subject, controller or value
// is ever written in plain text.
func TestDiskHoldsNoPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	v, _ := openTestVault(t, path, randomMaster(t), time.Hour)
	const victim = "victim@example.com"
	values := []string{victim, "+1 555 0199", "Victoria Q. Nobody"}
	fillVault(t, v, victim, values)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	plain := &diskSecrets{named: map[string][]byte{}}
	for _, s := range append(values, "shop-a", "shop-b", "other-42@example.com", "+1 555 42") {
		plain.add(s, []byte(s))
	}
	if found := plain.present(t, path); len(found) > 0 {
		t.Errorf("the vault file holds in plain text: %q", found)
	}
}

// TestForgetLeavesNothingOnDisk proves "not re-derivable from disk": after a forget
// and the scrub that follows it, the vault file holds none of the forgotten subject's
// key material, sealed values or index hashes, not even in pages bbolt freed. The
// victim's values fit in its key records in one case and overflow into the tokens
// bucket in the other.
func TestForgetLeavesNothingOnDisk(t *testing.T) {
	const victim = "victim@example.com"
	many := []string{victim}
	for i := range 30 {
		many = append(many, fmt.Sprintf("+1 555 %04d, victim's value number %d", i, i))
	}
	for _, tc := range []struct {
		name     string
		values   []string
		overflow bool
	}{
		{"inline", []string{victim, "+1 555 0199"}, false},
		{"overflow", many, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testForgetLeavesNothingOnDisk(t, victim, tc.values, tc.overflow)
		})
	}
}

func testForgetLeavesNothingOnDisk(t *testing.T, victim string, values []string, overflow bool) {
	path := filepath.Join(t.TempDir(), "vault.db")
	master := randomMaster(t)
	v, s := openTestVault(t, path, master, time.Hour) // no scrub unless asked
	fillVault(t, v, victim, values)
	d := victimSecrets(t, v, s, victim, values)
	tokA, err := v.Tokenize(context.Background(), "shop-a", victim, victim)
	if err != nil {
		t.Fatal(err)
	}
	var overflowRows int
	err = s.view(context.Background(), func(tx *bolt.Tx) error {
		overflowRows = tx.Bucket(bucketTokens).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := overflowRows > 0; got != overflow {
		t.Fatalf("the tokens bucket holds %d rows; this case is meant to test overflow=%v", overflowRows, overflow)
	}

	if found := d.present(t, path); len(found) != len(d.named)-2 {
		t.Fatalf("before the forget the file holds %q; the scan should find every stored secret (all but the raw keys)", found)
	}
	res, err := v.Forget(context.Background(), "test", victim, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.KeysDestroyed != 2 || res.TokensDestroyed != 2*len(values) {
		t.Fatalf("forget destroyed %+v, want 2 keys and %d tokens", res, 2*len(values))
	}
	// bbolt copies pages on write, so the old copies still hold the rows: this is
	// what the scrub is for.
	if found := d.present(t, path); len(found) == 0 {
		t.Fatalf("before the scrub no residue is left; the test no longer shows what the scrub does")
	}
	if err := s.Scrub(context.Background()); err != nil {
		t.Fatal(err)
	}
	if found := d.present(t, path); len(found) > 0 {
		t.Errorf("after forget and scrub the vault file still holds: %q", found)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if found := d.present(t, path); len(found) > 0 {
		t.Errorf("after close the vault file holds: %q", found)
	}

	v2, _ := openTestVault(t, path, master, time.Hour)
	defer v2.Close()
	res2, err := v2.Detokenize(context.Background(), "test", []string{tokA})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res2[0].Err, ErrForgotten) {
		t.Errorf("after reopen the forgotten token gives %v, want ErrForgotten", res2[0].Err)
	}
}

// TestScrubRunsAfterForget checks that the store scrubs on its own after a forget.
func TestScrubRunsAfterForget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	v, s := openTestVault(t, path, randomMaster(t), 10*time.Millisecond)
	defer v.Close()
	const victim = "victim@example.com"
	values := []string{victim}
	fillVault(t, v, victim, values)
	d := victimSecrets(t, v, s, victim, values)
	if _, err := v.Forget(context.Background(), "test", victim, ""); err != nil {
		t.Fatal(err)
	}
	// Wait for the background scrub; the test's deadline bounds the wait.
	for len(d.present(t, path)) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseScrubs checks that closing right after a forget still scrubs.
func TestCloseScrubs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	v, s := openTestVault(t, path, randomMaster(t), time.Hour)
	const victim = "victim@example.com"
	values := []string{victim}
	fillVault(t, v, victim, values)
	d := victimSecrets(t, v, s, victim, values)
	if _, err := v.Forget(context.Background(), "test", victim, "shop-b"); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	for _, found := range d.present(t, path) {
		if !bytes.HasPrefix([]byte(found), []byte("shop-a")) && found != "subject index hash" {
			t.Errorf("after forget at shop-b and close the file holds %s", found)
		}
	}
}
