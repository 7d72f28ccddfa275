package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/app"
)

func TestCollectorURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":9090":          "http://127.0.0.1:9090",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:8443":      "http://127.0.0.1:8443",
		"[::1]:8080":     "http://[::1]:8080",
		"collector:8080": "http://collector:8080",
	} {
		cfg := app.Default()
		cfg.Server.Addr = addr
		if got := collectorURL(cfg); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	cfg := app.Default()
	cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile = "c.pem", "k.pem"
	if got := collectorURL(cfg); got != "https://127.0.0.1:8080" {
		t.Errorf("with TLS: %s", got)
	}
}

func TestBadCommandsRefuse(t *testing.T) {
	t.Setenv("ACCORD_ADMIN_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bad", "replay"}, "admin token"},
		{[]string{"bad", "replay", "--admin-token", "t0123456789abcdef", "--from", "monday"}, "YYYY-MM-DD"},
		{[]string{"bad", "replay", "--admin-token", "t0123456789abcdef", "--as", "iglu:a/b/jsonschema/1-0-0"}, "FROM=TO"},
		{[]string{"bad", "summary", "--data", t.TempDir(), "--to", "2026-13-01"}, "YYYY-MM-DD"},
	} {
		var out bytes.Buffer
		code := Run(context.Background(), tc.args, strings.NewReader(""), &out, &out)
		if code != ExitUsage || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"bad", "summary", "--data", t.TempDir()}, strings.NewReader(""), &out, &out); code != 0 || !strings.Contains(out.String(), "0 bad rows") {
		t.Errorf("summary of an empty folder: exit %d\n%s", code, out.String())
	}
}
