package certs

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app/certs/certstest"
)

func writePair(t *testing.T, dir string, serial int64, from, until time.Time) (string, string) {
	t.Helper()
	c, k, _ := certstest.WritePair(t, dir, serial, from, until)
	return c, k
}

func serial(t *testing.T, f *Files) int64 {
	t.Helper()
	c, err := f.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber.Int64()
}

// TestReload: a renewed pair is served after the next check, not before; a
// renewal caught half written or a key that does not match keeps the current
// certificate until a good pair arrives.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	certFile, keyFile := writePair(t, dir, 1, now.Add(-time.Hour), now.Add(24*time.Hour))
	f, err := Load(certFile, keyFile, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	f.now = func() time.Time { return clock }
	f.checked = clock
	if s := serial(t, f); s != 1 {
		t.Fatalf("serving serial %d", s)
	}

	writePair(t, dir, 2, now.Add(-time.Hour), now.Add(48*time.Hour))
	if s := serial(t, f); s != 1 {
		t.Fatalf("reloaded before the interval: serial %d", s)
	}
	clock = clock.Add(61 * time.Second)
	if s := serial(t, f); s != 2 {
		t.Fatalf("not reloaded after the interval: serial %d", s)
	}
	if got := f.NotAfter(); !got.Equal(now.Add(48 * time.Hour).Truncate(time.Second)) {
		t.Errorf("NotAfter %s", got)
	}

	// Half written: the certificate file cut short.
	b, _ := os.ReadFile(certFile)
	if err := os.WriteFile(certFile, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(61 * time.Second)
	if s := serial(t, f); s != 2 {
		t.Fatalf("a half-written renewal replaced the certificate: serial %d", s)
	}
	// A key of another pair.
	other := t.TempDir()
	c3, _ := writePair(t, other, 3, now.Add(-time.Hour), now.Add(72*time.Hour))
	b3, _ := os.ReadFile(c3)
	if err := os.WriteFile(certFile, b3, 0o644); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(61 * time.Second)
	if s := serial(t, f); s != 2 {
		t.Fatalf("a certificate without its key replaced the certificate: serial %d", s)
	}
	// The renewal completed.
	writePair(t, dir, 4, now.Add(-time.Hour), now.Add(96*time.Hour))
	clock = clock.Add(61 * time.Second)
	if s := serial(t, f); s != 4 {
		t.Fatalf("the completed renewal was not picked up: serial %d", s)
	}
}

func TestLoadRefuses(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	c, k := writePair(t, dir, 1, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if _, err := Load(c, k, 0, nil); err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "renew it") {
		t.Errorf("expired certificate: %v", err)
	}
	c, k = writePair(t, dir, 1, now.Add(time.Hour), now.Add(48*time.Hour))
	if _, err := Load(c, k, 0, nil); err == nil || !strings.Contains(err.Error(), "not valid before") {
		t.Errorf("future certificate: %v", err)
	}
	c, _ = writePair(t, dir, 1, now.Add(-time.Hour), now.Add(48*time.Hour))
	_, k2 := writePair(t, t.TempDir(), 2, now.Add(-time.Hour), now.Add(48*time.Hour))
	if _, err := Load(c, k2, 0, nil); err == nil || !strings.Contains(err.Error(), "PEM") {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.pem"), k2, 0, nil); err == nil {
		t.Error("a missing file was accepted")
	}
	// A device named by mistake is refused without being read.
	if _, err := Load("/dev/zero", k2, 0, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, maxPEMBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, k2, 0, nil); err == nil || !strings.Contains(err.Error(), "a few KiB") {
		t.Errorf("an oversized file: %v", err)
	}
}
