package conns_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/app/certs/certstest"
	"github.com/accord-dev/accord/internal/app/conns"
)

// serve runs an HTTP server on 127.0.0.1 behind a Limiter of max connections.
// Requests to /hold wait until release is closed.
func serve(t *testing.T, max int, tlsConfig *tls.Config) (addr string, l *conns.Limiter, reg *prometheus.Registry, release chan struct{}) {
	t.Helper()
	reg = prometheus.NewRegistry()
	l, err := conns.New(max, tlsConfig == nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	release = make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ConnState: l.ConnState, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
		io.WriteString(w, "ok")
	})}
	limited := l.Listener(ln)
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		go srv.ServeTLS(limited, "", "")
	} else {
		go srv.Serve(limited)
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return ln.Addr().String(), l, reg, release
}

// request sends one GET on c and reads its answer.
func request(t *testing.T, c net.Conn, r *bufio.Reader, path string) (*http.Response, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: accord\r\n\r\n", path)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// eventually waits for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestRefusedWhenNoneIdle: with every connection busy, the next is answered
// 503 collector_busy with Retry-After and closed; once their requests are
// answered (the connections idle), a new one is served.
func TestRefusedWhenNoneIdle(t *testing.T) {
	addr, l, reg, release := serve(t, 2, nil)
	for range 2 {
		c, _ := dial(t, addr)
		fmt.Fprint(c, "GET /hold HTTP/1.1\r\nHost: accord\r\n\r\n")
	}
	eventually(t, "two connections", func() bool { return l.Open() == 2 })
	c, r := dial(t, addr)
	resp, body := request(t, c, r, "/")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, `"reason":"collector_busy"`) || !strings.Contains(body, "server.max_connections") {
		t.Fatalf("third connection: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("the refused connection stays open: %v", err)
	}
	// Go's client reads an answer that comes before its request as a broken
	// connection: the answer waits for the request's header.
	gresp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("Go's client: %v", err)
	}
	gresp.Body.Close()
	if gresp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Go's client: %d", gresp.StatusCode)
	}
	// A client that sends nothing is closed, unanswered, within a second.
	silent, silentR := dial(t, addr)
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if b, err := io.ReadAll(silentR); err != nil || len(b) != 0 || time.Since(start) > 3*time.Second {
		t.Errorf("silent client: %q %v after %v", b, err, time.Since(start))
	}
	if got := metric(t, reg, "accord_server_connections_refused_total"); got != 3 {
		t.Errorf("refused %v, want 3", got)
	}
	close(release)
	eventually(t, "the held connections to be answered and idle", func() bool { return l.Idle() == 2 })
	c, r = dial(t, addr)
	if resp, body := request(t, c, r, "/"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("after room was made: %d %s", resp.StatusCode, body)
	}
}

// TestIdleReclaimed: at the limit, a new connection takes the place of the
// keep-alive connection idle the longest; the other stays served.
func TestIdleReclaimed(t *testing.T) {
	addr, l, reg, _ := serve(t, 2, nil)
	old, oldR := dial(t, addr)
	request(t, old, oldR, "/")
	time.Sleep(20 * time.Millisecond)
	recent, recentR := dial(t, addr)
	request(t, recent, recentR, "/")
	eventually(t, "two idle connections", func() bool { return l.Idle() == 2 })

	c, r := dial(t, addr)
	if resp, body := request(t, c, r, "/"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("new connection: %d %s", resp.StatusCode, body)
	}
	old.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := oldR.ReadByte(); err == nil {
		t.Error("the longest-idle connection was not closed")
	}
	if resp, body := request(t, recent, recentR, "/"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("the more recent idle connection: %d %s", resp.StatusCode, body)
	}
	if got := metric(t, reg, "accord_server_connections_reclaimed_total"); got != 1 {
		t.Errorf("reclaimed %v, want 1", got)
	}
	if got := metric(t, reg, "accord_server_connections"); got != 2 {
		t.Errorf("open %v, want 2", got)
	}
}

// TestTLSRefusalCloses: over TLS a refused connection cannot be answered
// before its handshake: it is closed, and the handshake fails.
func TestTLSRefusalCloses(t *testing.T) {
	certFile, keyFile, _ := certstest.WritePair(t, t.TempDir(), 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, l, _, _ := serve(t, 1, &tls.Config{Certificates: []tls.Certificate{cert}})
	held, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	fmt.Fprint(held, "GET /hold HTTP/1.1\r\nHost: accord\r\n\r\n")
	eventually(t, "one connection", func() bool { return l.Open() == 1 })
	d := &net.Dialer{Timeout: 5 * time.Second}
	if c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}); err == nil {
		c.Close()
		t.Fatal("a second TLS connection was admitted over the limit of one")
	}
}

func TestNewRefusesZero(t *testing.T) {
	if _, err := conns.New(0, true, nil); err == nil || !strings.Contains(err.Error(), "server.max_connections") {
		t.Fatalf("New(0): %v", err)
	}
}

// metric is the value of the counter or gauge name in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
