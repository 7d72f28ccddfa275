package scrub

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(strings.Repeat("k", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error, all reported at once
	}{
		{"empty is the embedded default", Config{}, nil},
		{"secret", Config{HashSecret: testSecret}, nil},
		{"secret file", Config{HashSecretFile: good, UACacheSize: 5}, nil},
		{"both", Config{HashSecret: testSecret, HashSecretFile: good}, []string{"not both"}},
		{"all problems at once", Config{HashSecret: "short", MMDBPath: filepath.Join(dir, "missing.mmdb"), UACacheSize: -1},
			[]string{"scrub.hash_secret is 5 bytes", "scrub.mmdb_path", "scrub.ua_cache_size -1"}},
		{"short file", Config{HashSecretFile: short}, []string{"shorter than the minimum"}},
		{"missing file", Config{HashSecretFile: filepath.Join(dir, "nope")}, []string{"scrub.hash_secret_file"}},
		{"mmdb is a folder", Config{MMDBPath: dir}, []string{"not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("the error repeats the secret")
			}
		})
	}
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("New without a hash secret succeeded")
	}
}

func TestApplyEnv(t *testing.T) {
	cfg := Config{HashSecretFile: "/etc/accord/secret"}
	cfg.ApplyEnv(func(k string) string {
		if k == EnvHashSecret {
			return testSecret
		}
		return ""
	})
	if cfg.HashSecret != testSecret || cfg.HashSecretFile != "" {
		t.Errorf("after ApplyEnv: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestEnsureHashSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = EnsureHashSecretFile(dir) })
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	first, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if len(strings.TrimSpace(string(first))) != 64 {
		t.Errorf("secret %d characters, want 64 hex", len(strings.TrimSpace(string(first))))
	}
	// Every concurrent first run and any later run agree on one secret.
	again, err := EnsureHashSecretFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Error("a second run replaced the secret")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the data dir holds %d files, want only the secret (temporary files left behind?)", len(entries))
	}
	s := newScrubber(t, Config{HashSecretFile: again}, nil)
	if len(s.hmacHex("x")) != 64 {
		t.Error("the generated secret does not key the hash")
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[int](3) // one shard of 3
	c.put(1, 1)
	c.put(2, 2)
	c.put(3, 3)
	if _, ok := c.get(1); !ok { // 1 becomes the most recent
		t.Fatal("1 missing")
	}
	c.put(4, 4) // evicts 2, the least recent
	if _, ok := c.get(2); ok {
		t.Error("2 was not evicted")
	}
	for _, k := range []uint64{1, 3, 4} {
		if v, ok := c.get(k); !ok || v != int(k) {
			t.Errorf("get(%d) = %d, %v", k, v, ok)
		}
	}
	if n := c.len(); n != 3 {
		t.Errorf("len = %d, want 3", n)
	}
	c.put(4, 40) // update in place
	if v, _ := c.get(4); v != 40 || c.len() != 3 {
		t.Errorf("after update: %d, len %d", v, c.len())
	}
	big := newLRU[int](100000)
	for i := range uint64(300000) {
		big.put(i, 0)
	}
	if n := big.len(); n > 100000+len(big.shards) {
		t.Errorf("len %d exceeds the bound", n)
	}
}
