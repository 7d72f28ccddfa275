// Package certs serves the collector's TLS certificate from a certificate and a
// key file, and picks up renewed files (Let's Encrypt, cert-manager and the like
// replace them every few weeks) without a restart: each handshake's
// GetCertificate checks, at most once per interval, whether either file
// changed, and loads the pair again when one did. A pair that does not load (a
// renewal caught half written, a key that does not match) leaves the current
// certificate in place and is tried again at the next check.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultInterval is how often the files are checked for a renewal.
const DefaultInterval = time.Minute

// maxPEMBytes bounds each file: certificate chains and keys are a few KiB.
const maxPEMBytes = 1 << 20

// Files serves the certificate of a certificate and key file pair.
type Files struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the files' sizes and modification times when cert was loaded
	checked time.Time // the last check of the files
}

// Load reads the pair (PEM: the certificate chain, leaf first, and its private
// key) and returns Files serving it, checking the files for a renewal at most
// once per interval (DefaultInterval when 0). It fails when the pair does not
// load or the certificate has expired.
func Load(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*Files, error) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Files{certFile: certFile, keyFile: keyFile, interval: interval, log: log, now: time.Now}
	cert, err := Check(certFile, keyFile, f.now())
	if err != nil {
		return nil, err
	}
	stamp, err := f.stampFiles()
	if err != nil {
		return nil, err
	}
	f.cert, f.stamp, f.checked = cert, stamp, f.now()
	return f, nil
}

// Check loads a certificate and key file pair and refuses one that is not
// valid at now (expired, or not yet valid), saying what to do.
func Check(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	// Regular files of PEM size only: a device (/dev/stdin, /dev/zero) named by
	// mistake would block or never end.
	for _, name := range []string{certFile, keyFile} {
		st, err := os.Stat(name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("reading the TLS file %s: %w (name the PEM files of the certificate chain and of its key)", name, err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("the TLS file %s is not a regular file: name the PEM file itself", name)
		case st.Size() > maxPEMBytes:
			return nil, fmt.Errorf("the TLS file %s has %d bytes, more than %d: a PEM certificate chain or key is a few KiB", name, st.Size(), maxPEMBytes)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s and key %s: %w (both PEM: the certificate chain, leaf first, and its private key)", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil { // older Go versions leave it to the caller
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("reading the TLS certificate %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("the TLS certificate %s expired on %s; renew it", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("the TLS certificate %s is not valid before %s; check the machine's clock or the certificate", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// stampFiles summarises both files' sizes and modification times.
func (f *Files) stampFiles() (string, error) {
	var stamp string
	for _, name := range []string{f.certFile, f.keyFile} {
		st, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("reading the TLS files: %w", err)
		}
		stamp += fmt.Sprintf("%s %d %d;", name, st.Size(), st.ModTime().UnixNano())
	}
	return stamp, nil
}

// GetCertificate is tls.Config's GetCertificate: the current certificate,
// loaded again first when the files changed since the last load (checked at
// most once per interval).
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Sub(f.checked) < f.interval {
		return f.cert, nil
	}
	f.checked = now
	stamp, err := f.stampFiles()
	if err != nil {
		f.log.Warn("the TLS files cannot be read; serving the certificate loaded before", "err", err)
		return f.cert, nil
	}
	if stamp == f.stamp {
		return f.cert, nil
	}
	cert, err := Check(f.certFile, f.keyFile, now)
	if err != nil {
		// Half written, mismatched, or expired: keep serving what works and look
		// again at the next check.
		f.log.Warn("the TLS files changed but do not load; serving the certificate loaded before", "err", err)
		return f.cert, nil
	}
	f.cert, f.stamp = cert, stamp
	f.log.Info("TLS certificate reloaded", "file", f.certFile, "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return f.cert, nil
}

// NotAfter is when the current certificate expires.
func (f *Files) NotAfter() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert.Leaf.NotAfter
}

// Config returns a server TLS config serving f: TLS 1.2 or later.
func (f *Files) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: f.GetCertificate}
}
