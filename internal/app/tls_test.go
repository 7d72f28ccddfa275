package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/app/certs/certstest"
)

// TestServeTLS: with server.tls, accord serve answers HTTPS (HTTP/2 for clients
// that offer it, as browsers do) with the certificate named, refuses plain HTTP
// on that port, and exports when the certificate expires.
func TestServeTLS(t *testing.T) {
	now := time.Now()
	certFile, keyFile, cert := certstest.WritePair(t, t.TempDir(), 7, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	data := t.TempDir()
	base, stop, logs := startAppLogged(t, data, func(c *app.Config) {
		c.Server.TLS = app.TLSConfig{CertFile: certFile, KeyFile: keyFile}
	})
	stop = sync.OnceFunc(stop)
	defer stop()
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base URL %s", base)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	httpsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}

	event := `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_3","email":"` + planted[0] + `"}}`
	resp, err := httpsClient.Post(base+"/v1/events", "application/json", strings.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"accepted":1`) {
		t.Fatalf("HTTPS: %d %s", resp.StatusCode, answer)
	}
	if resp.Proto != "HTTP/2.0" || resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 7 {
		t.Errorf("answered over %s with %v, want HTTP/2 and the configured certificate", resp.Proto, resp.TLS)
	}

	resp, err = httpsClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf("accord_server_certificate_expiry_timestamp_seconds %g", float64(cert.NotAfter.Unix()))
	if !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q", want)
	}

	// Plain HTTP to the HTTPS port: refused, nothing stored.
	plain := "http://" + strings.TrimPrefix(base, "https://")
	resp, err = http.Post(plain+"/v1/events", "application/json", strings.NewReader(event))
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "accepted") {
			t.Errorf("plain HTTP to the HTTPS port: %d %s", resp.StatusCode, body)
		}
	}

	// A client that is not TLS (a scanner): its handshake error is logged
	// without its address.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	client := conn.LocalAddr().String()
	_, _ = conn.Write([]byte("\x16\x03\x01\x00\x05hello-not-tls"))
	_, _ = io.ReadAll(conn)
	conn.Close()

	// The accepted event is in the lake.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if len(lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]) == 1 {
			break
		}
	}
	stop()
	if rows := lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]; len(rows) != 1 {
		t.Errorf("lake rows: %v", rows)
	}
	if l := logs.String(); !strings.Contains(l, "TLS handshake error from <redacted:ip>") || strings.Contains(l, client) {
		t.Errorf("the handshake error is not logged, or with the client's address:\n%s", l)
	}
}

// TestTLSConfigChecked: serve --check refuses half a TLS config, files that do
// not load, and an expired certificate, each saying what to do.
func TestTLSConfigChecked(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	certFile, keyFile, _ := certstest.WritePair(t, dir, 1, now.Add(-48*time.Hour), now.Add(-time.Hour))
	for _, c := range []struct {
		tls  app.TLSConfig
		want string
	}{
		{app.TLSConfig{CertFile: certFile}, "name both cert_file and key_file"},
		{app.TLSConfig{KeyFile: keyFile}, "name both cert_file and key_file"},
		{app.TLSConfig{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: keyFile}, "reading the TLS file " + filepath.Join(dir, "missing.pem")},
		{app.TLSConfig{CertFile: keyFile, KeyFile: keyFile}, "loading the TLS certificate"},
		{app.TLSConfig{CertFile: certFile, KeyFile: keyFile}, "expired on"},
	} {
		cfg := app.Default()
		cfg.Server.TLS = c.tls
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "server.tls: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.tls, err, c.want)
		}
	}
	cfg := app.Default()
	if err := cfg.ApplyEnv(func(k string) string {
		return map[string]string{"ACCORD_TLS_CERT_FILE": certFile, "ACCORD_TLS_KEY_FILE": keyFile}[k]
	}); err != nil || cfg.Server.TLS.CertFile != certFile || cfg.Server.TLS.KeyFile != keyFile {
		t.Errorf("ACCORD_TLS_*: %v %+v", err, cfg.Server.TLS)
	}
}
