package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestServerErrorLogRedactsAddresses(t *testing.T) {
	var buf bytes.Buffer
	l := serverErrorLog(slog.NewTextHandler(&buf, nil))
	l.Printf("http: TLS handshake error from %s: %v", "81.2.69.142:51234", "EOF")
	l.Printf("http2: server connection error from %v: %v", "[2a02:8108:1140:5e00::7c8d]:443", "PROTOCOL_ERROR")
	l.Printf("http: panic serving %v: %v", "[::ffff:81.2.69.142]:9", "boom")
	l.Printf("http: TLS handshake error from %s: read tcp 127.0.0.1:8443->%s: read: connection reset by peer", "81.2.69.142:5", "81.2.69.142:5")
	out := buf.String()
	for _, leak := range []string{"81.2.69.142", "2a02:8108", "127.0.0.1"} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds %s:\n%s", leak, out)
		}
	}
	if strings.Count(out, "level=WARN") != 4 || strings.Count(out, "<redacted:ip>") != 6 || !strings.Contains(out, "TLS handshake error from <redacted:ip>: EOF") {
		t.Errorf("log:\n%s", out)
	}
}
