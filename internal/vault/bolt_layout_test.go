package vault

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// oldFile describes a vault file of an earlier layout holding one live subject, with
// one token, and one tombstone.
type oldFile struct {
	master  []byte
	sec     *secrets
	live    KeyID // a random key id, as layouts 1 and 2 drew them
	dead    KeyID
	raw     []byte // the live key
	tok     Token  // the token of value, as issued before the migration
	mac     MAC
	sealed  []byte
	pair    PairID
	subject string
	value   string
}

func newOldFile(t *testing.T) *oldFile {
	t.Helper()
	f := &oldFile{master: randomMaster(t), subject: "alice@example.com", value: "alice@example.com"}
	var err error
	if f.sec, err = deriveSecrets(f.master); err != nil {
		t.Fatal(err)
	}
	f.live, f.dead = KeyID{0xa1, 1}, KeyID{0xd2, 2}
	f.raw = []byte("0123456789abcdef0123456789abcdef")
	pk, err := newPairKey(f.live, f.raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.tok, f.mac, _ = pk.token(f.value)
	if f.tok.Version != tokenV1 {
		t.Fatalf("a key of an old layout made a version %d token", f.tok.Version)
	}
	if f.sealed, err = pk.seal(f.mac, f.value); err != nil {
		t.Fatal(err)
	}
	f.pair = f.sec.pairID("shop-a", f.subject)
	return f
}

// write creates the file at path with the given buckets and rows.
func (f *oldFile) write(t *testing.T, path string, rows map[string][][2][]byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
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
}

// checkMigrated opens the file at path twice (the second open finds layout 3) and
// checks that the token issued before the migration is still the token of its value
// and resolves, that the tombstone still says forgotten, that a new subject gets a
// version 2 token under key number 1, and that the old buckets are gone; then that a
// forget of the old subject works.
func (f *oldFile) checkMigrated(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	var fresh string
	for round := range 2 {
		v, s := openTestVault(t, path, f.master, time.Hour)
		got, err := v.Tokenize(ctx, "shop-a", f.subject, f.value)
		if err != nil || got != f.tok.String() {
			t.Errorf("round %d: Tokenize = %q, %v; want the token made before the migration", round, got, err)
		}
		newTok, err := v.Tokenize(ctx, "shop-a", "bob@example.com", "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 && newTok != fresh {
			t.Errorf("round %d: the new subject's token changed from %q to %q", round, fresh, newTok)
		}
		fresh = newTok
		parsed, err := ParseToken(newTok)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := openToken(v.secrets.hide, parsed); parsed.Version != tokenV2 || id != (KeyID{7: 1}) {
			t.Errorf("round %d: a new subject got a version %d token under key %s; want version 2, key 1", round, parsed.Version, id)
		}
		dead := makeToken(nil, f.dead, MAC{})
		res, err := v.Detokenize(ctx, "test", []string{f.tok.String(), dead.String(), newTok})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Value != f.value || res[0].Err != nil {
			t.Errorf("round %d: detokenize of the migrated token = %q, %v", round, res[0].Value, res[0].Err)
		}
		if !errors.Is(res[1].Err, ErrForgotten) {
			t.Errorf("round %d: detokenize under the migrated tombstone: %v, want ErrForgotten", round, res[1].Err)
		}
		if res[2].Value != "bob@example.com" {
			t.Errorf("round %d: detokenize of the new token = %q, %v", round, res[2].Value, res[2].Err)
		}
		st, err := v.Stats(ctx)
		if err != nil || st.Keys != 2 || st.Tokens != 2 || st.Forgotten != 1 {
			t.Errorf("round %d: Stats = %+v, %v; want 2 keys, 2 tokens, 1 forgotten", round, st, err)
		}
		err = s.view(ctx, func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketV1Keys, bucketV1Forgotten, bucketV2Pairs} {
				if tx.Bucket(b) != nil {
					t.Errorf("round %d: the old bucket %s is still there", round, b)
				}
			}
			if got := tx.Bucket(bucketMeta).Get(metaLayout); string(got) != boltLayout {
				t.Errorf("round %d: layout %q, want %q", round, got, boltLayout)
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

	v, _ := openTestVault(t, path, f.master, time.Hour)
	defer v.Close()
	out, err := v.Forget(ctx, "test", f.subject, "")
	if err != nil || out.KeysDestroyed != 1 || out.TokensDestroyed != 1 {
		t.Errorf("Forget after the migration = %+v, %v; want 1 key and 1 token", out, err)
	}
}

// TestMigrateV1 writes a file in the first embedded layout (keys sealed with AES-GCM in
// a keys bucket, every token in the tokens bucket, tombstones in a forgotten bucket)
// and checks that OpenBolt migrates it to layout 3.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	f := newOldFile(t)
	nonce := make([]byte, f.sec.legacyWrap.NonceSize())
	wrapped := f.sec.legacyWrap.Seal(nonce[:len(nonce):len(nonce)], nonce, f.raw, f.live[:])
	f.write(t, path, map[string][][2][]byte{
		"meta":      {{metaFingerprint, f.sec.fingerprint}},
		"pairs":     {{f.pair[:], f.live[:]}},
		"keys":      {{f.live[:], wrapped}},
		"tokens":    {{tokenKey(f.live, f.mac), f.sealed}},
		"forgotten": {{f.dead[:], nil}},
		"audit":     nil,
	})
	f.checkMigrated(t, path)
}

// TestMigrateV2 writes a file in the second embedded layout (a 24-byte pair index,
// records keyed by random ids whose header is the wrapped key's length, tokens inside
// the records) and checks that OpenBolt migrates it to layout 3.
func TestMigrateV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	f := newOldFile(t)
	wrapped, err := f.sec.wrapKey(f.live, f.raw)
	if err != nil {
		t.Fatal(err)
	}
	rec := append([]byte{byte(len(wrapped))}, wrapped...)
	rec = append(rec, f.mac[:tokenMACPrefix]...)
	rec = append(append(rec, byte(len(f.sealed))), f.sealed...)
	f.write(t, path, map[string][][2][]byte{
		"meta":    {{metaFingerprint, f.sec.fingerprint}},
		"pairs":   {{f.pair[:], f.live[:]}},
		"records": {{f.live[:], rec}, {f.dead[:], tombstone}},
		"tokens":  nil,
		"audit":   nil,
	})
	f.checkMigrated(t, path)
}

// TestRefusesLaterLayout checks that a file of a layout this version does not know is
// refused with a message that says so, and left as it was.
func TestRefusesLaterLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	f := newOldFile(t)
	f.write(t, path, map[string][][2][]byte{"meta": {{metaLayout, []byte("4")}}})
	_, err := OpenBolt(path, BoltOptions{})
	if err == nil || !strings.Contains(err.Error(), `layout "4"`) {
		t.Fatalf("OpenBolt of a layout-4 file: %v, want a refusal naming the layout", err)
	}
}

// TestRecordEncoding checks the key record codec on good and damaged records.
func TestRecordEncoding(t *testing.T) {
	rec, err := newRecord([]byte("wrapped"), false)
	if err != nil {
		t.Fatal(err)
	}
	rec = append(rec, "12345678"...)
	rec = append(rec, 3, 'a', 'b', 'c')
	rec = append(rec, "abcdefgh"...)
	rec = append(rec, 0)
	wrapped, inline, tokenV1, err := splitRecord(rec)
	if err != nil || string(wrapped) != "wrapped" || tokenV1 {
		t.Fatalf("splitRecord = %q, %v, %v; want the wrapped key of a version 2 key", wrapped, tokenV1, err)
	}
	old, err := newRecord([]byte("wrapped"), true)
	if err != nil {
		t.Fatal(err)
	}
	if w, _, tokenV1, err := splitRecord(old); err != nil || string(w) != "wrapped" || !tokenV1 {
		t.Errorf("splitRecord of a layout-2 record = %q, %v, %v; want a version 1 key", w, tokenV1, err)
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
		nil, {0}, {0, 1}, {9, 1, 2}, {0x89, 1, 2}, {0x80, 1}, // no or a cut wrapped key
		append(bytes.Clone(rec[:8]), "1234567"...),        // a cut MAC prefix
		append(bytes.Clone(rec[:8]), "12345678\x05ab"...), // a cut value
		append(bytes.Clone(rec[:8]), "12345678\xff"...),   // a cut length
	} {
		if _, err := countMappings(bad); !errors.Is(err, errCorruptRecord) {
			t.Errorf("countMappings(%q) = %v, want errCorruptRecord", bad, err)
		}
	}
	if _, err := newRecord(nil, false); err == nil {
		t.Errorf("newRecord accepted an empty wrapped key")
	}
	if _, err := newRecord(make([]byte, 128), false); err == nil {
		t.Errorf("newRecord accepted a 128-byte wrapped key")
	}
}

// TestRecordsDoNotGrow checks that a key record is written once: the tokens of the
// event that creates a key go inside its record, and tokens of later events go to the
// tokens bucket, so the full page the record sits in never splits.
func TestRecordsDoNotGrow(t *testing.T) {
	v, s := openTestVault(t, filepath.Join(t.TempDir(), "vault.db"), randomMaster(t), time.Hour)
	defer v.Close()
	ctx := context.Background()
	first := []string{"erin@example.com", "+1 555 0100"}
	toks, err := v.TokenizeAll(ctx, "shop-a", "erin", first)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseToken(toks[0])
	if err != nil {
		t.Fatal(err)
	}
	id, _ := openToken(v.secrets.hide, parsed)
	record := func() (rec []byte, overflow int) {
		t.Helper()
		err := s.view(ctx, func(tx *bolt.Tx) error {
			rec = bytes.Clone(tx.Bucket(bucketRecords).Get(id[:]))
			overflow = tx.Bucket(bucketTokens).Stats().KeyN
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rec, overflow
	}
	before, overflow := record()
	if n, err := countMappings(before); n != 2 || err != nil || overflow != 0 {
		t.Fatalf("after the first event the record holds %d tokens (%v) and the tokens bucket %d; want 2 and 0", n, err, overflow)
	}
	later, err := v.TokenizeAll(ctx, "shop-a", "erin", []string{"Erin", first[0]})
	if err != nil {
		t.Fatal(err)
	}
	after, overflow := record()
	if !bytes.Equal(before, after) || overflow != 1 {
		t.Errorf("a later event rewrote the record (%v) or left %d tokens in the tokens bucket, want it unchanged and 1", !bytes.Equal(before, after), overflow)
	}
	res, err := v.Detokenize(ctx, "test", append(toks, later...))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{first[0], first[1], "Erin", first[0]} {
		if res[i].Value != want || res[i].Err != nil {
			t.Errorf("token %d: %q, %v; want %q", i, res[i].Value, res[i].Err, want)
		}
	}
}

// TestKeyNumbersResume checks that the embedded store numbers keys 1, 2, 3, ... and
// resumes after the highest number stored when the file is opened again, so that
// records are appended in key order and no number is used twice.
func TestKeyNumbersResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	master := randomMaster(t)
	ctx := context.Background()
	keyOf := func(v *Vault, subject string) uint64 {
		t.Helper()
		tok, err := v.Tokenize(ctx, "shop-a", subject, subject)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := openToken(v.secrets.hide, parsed)
		n, ok := keyNumber(id)
		if !ok {
			t.Fatalf("key id %s is not a key number", id)
		}
		return n
	}
	var got []uint64
	v, _ := openTestVault(t, path, master, time.Hour)
	got = append(got, keyOf(v, "a"), keyOf(v, "b"))
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v, _ = openTestVault(t, path, master, time.Hour)
	defer v.Close()
	got = append(got, keyOf(v, "c"), keyOf(v, "a"))
	if want := []uint64{1, 2, 3, 1}; !slices.Equal(got, want) {
		t.Errorf("key numbers %v, want %v", got, want)
	}
}
