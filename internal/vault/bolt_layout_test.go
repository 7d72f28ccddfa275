package vault

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestMigrateV1 writes a file in the first embedded layout (keys sealed with AES-GCM in
// a keys bucket, every token in the tokens bucket, tombstones in a forgotten bucket)
// and checks that OpenBolt migrates it: the same tokens come back, they resolve, the
// forgotten key stays forgotten, and the old buckets are gone.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	master := randomMaster(t)
	sec, err := deriveSecrets(master)
	if err != nil {
		t.Fatal(err)
	}
	const subject, value = "alice@example.com", "alice@example.com"
	live, dead := KeyID{1, 1}, KeyID{2, 2}
	raw := []byte("0123456789abcdef0123456789abcdef")
	nonce := make([]byte, sec.legacyWrap.NonceSize())
	wrapped := sec.legacyWrap.Seal(nonce[:len(nonce):len(nonce)], nonce, raw, live[:])
	pk, err := newPairKey(live, raw)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := pk.token(value)
	sealed, err := pk.seal(tok, value)
	if err != nil {
		t.Fatal(err)
	}
	pair := sec.pairID("shop-a", subject)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		rows := map[string][][2][]byte{
			"meta":      {{metaFingerprint, sec.fingerprint}},
			"pairs":     {{pair[:], live[:]}},
			"keys":      {{live[:], wrapped}},
			"tokens":    {{tokenKey(live, tok.MAC), sealed}},
			"forgotten": {{dead[:], nil}},
			"audit":     nil,
		}
		for name, kvs := range rows {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if err := b.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for round := range 2 { // the second open finds the current layout
		v, s := openTestVault(t, path, master, time.Hour)
		ctx := context.Background()
		got, err := v.Tokenize(ctx, "shop-a", subject, value)
		if err != nil || got != tok.String() {
			t.Errorf("round %d: Tokenize = %q, %v; want the token made before the migration", round, got, err)
		}
		res, err := v.Detokenize(ctx, "test", []string{tok.String(), Token{Key: dead}.String()})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Value != value || res[0].Err != nil {
			t.Errorf("round %d: detokenize of the migrated token = %q, %v", round, res[0].Value, res[0].Err)
		}
		if !errors.Is(res[1].Err, ErrForgotten) {
			t.Errorf("round %d: detokenize under the migrated tombstone: %v, want ErrForgotten", round, res[1].Err)
		}
		st, err := v.Stats(ctx)
		if err != nil || st.Keys != 1 || st.Tokens != 1 || st.Forgotten != 1 {
			t.Errorf("round %d: Stats = %+v, %v; want 1 key, 1 token, 1 forgotten", round, st, err)
		}
		err = s.view(ctx, func(tx *bolt.Tx) error {
			if tx.Bucket(bucketV1Keys) != nil || tx.Bucket(bucketV1Forgotten) != nil {
				t.Errorf("round %d: the layout-1 buckets are still there", round)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
	}

	v, _ := openTestVault(t, path, master, time.Hour)
	defer v.Close()
	out, err := v.Forget(context.Background(), "test", subject, "")
	if err != nil || out.KeysDestroyed != 1 || out.TokensDestroyed != 1 {
		t.Errorf("Forget after the migration = %+v, %v; want 1 key and 1 token", out, err)
	}
}

// TestRecordEncoding checks the key record codec on good and damaged records.
func TestRecordEncoding(t *testing.T) {
	rec, err := newRecord([]byte("wrapped"))
	if err != nil {
		t.Fatal(err)
	}
	rec = append(rec, "12345678"...)
	rec = append(rec, 3, 'a', 'b', 'c')
	rec = append(rec, "abcdefgh"...)
	rec = append(rec, 0)
	wrapped, inline, err := splitRecord(rec)
	if err != nil || string(wrapped) != "wrapped" {
		t.Fatalf("splitRecord = %q, %v", wrapped, err)
	}
	var got []string
	if err := eachMapping(inline, func(prefix, sealed []byte) bool {
		got = append(got, string(prefix)+"="+string(sealed))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"12345678=abc", "abcdefgh="}; !slices.Equal(got, want) {
		t.Errorf("mappings = %q, want %q", got, want)
	}
	if n, err := countMappings(rec); n != 2 || err != nil {
		t.Errorf("countMappings = %d, %v; want 2", n, err)
	}
	if isTombstone(rec) || !isTombstone(tombstone) {
		t.Errorf("isTombstone is wrong")
	}
	for _, bad := range [][]byte{
		nil, {0}, {0, 1}, {9, 1, 2}, // no or a cut wrapped key
		append(bytes.Clone(rec[:8]), "1234567"...),        // a cut MAC prefix
		append(bytes.Clone(rec[:8]), "12345678\x05ab"...), // a cut value
		append(bytes.Clone(rec[:8]), "12345678\xff"...),   // a cut length
	} {
		if _, err := countMappings(bad); !errors.Is(err, errCorruptRecord) {
			t.Errorf("countMappings(%q) = %v, want errCorruptRecord", bad, err)
		}
	}
	if _, err := newRecord(nil); err == nil {
		t.Errorf("newRecord accepted an empty wrapped key")
	}
	if _, err := newRecord(make([]byte, 256)); err == nil {
		t.Errorf("newRecord accepted a 256-byte wrapped key")
	}
}
