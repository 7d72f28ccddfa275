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

// headerTimeout is the test servers' ReadHeaderTimeout.
const headerTimeout = 300 * time.Millisecond

// serve runs an HTTP server on 127.0.0.1 behind a Limiter of max connections,
// with a ReadHeaderTimeout of headerTimeout and what configure sets.
// Requests to /hold wait until release is closed; /read reads the body and
// answers 408 "handler" when that fails; every other request is answered "ok",
// its body unread.
func serve(t *testing.T, max int, tlsConfig *tls.Config, configure ...func(*http.Server)) (addr string, l *conns.Limiter, reg *prometheus.Registry, release chan struct{}) {
	t.Helper()
	reg = prometheus.NewRegistry()
	l, err := conns.New(conns.Options{Max: max, Plain: tlsConfig == nil, HeaderTimeout: headerTimeout}, reg)
	if err != nil {
		t.Fatal(err)
	}
	release = make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ConnState: l.ConnState, ReadHeaderTimeout: headerTimeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			<-release
		case "/read":
			if _, err := io.ReadAll(r.Body); err != nil {
				w.WriteHeader(http.StatusRequestTimeout)
				io.WriteString(w, "handler")
				return
			}
		}
		io.WriteString(w, "ok")
	})}
	for _, f := range configure {
		f(srv)
	}
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
	addr, l, _, _ := serve(t, 1, serverTLS(t))
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

// TestHeaderTimeoutAnswered: a request whose header stops coming is answered
// 408 request_timeout and closed, on a new connection and on a keep-alive one
// after an answered request; a connection that sent nothing, or nothing since
// its last answer, is closed without a word; a request the handler answered
// gets that answer alone, also when reading its body timed out.
func TestHeaderTimeoutAnswered(t *testing.T) {
	addr, _, reg, _ := serve(t, 10, nil, func(s *http.Server) {
		s.ReadTimeout = 2 * headerTimeout
		s.IdleTimeout = headerTimeout
	})
	// answers reads everything c sends until it closes, as HTTP answers.
	answers := func(c net.Conn, r *bufio.Reader) []string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var got []string
		for {
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				if rest, _ := io.ReadAll(r); len(rest) != 0 || err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Errorf("after %d answers: %v, then %q", len(got), err, rest)
				}
				return got
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, fmt.Sprintf("%d %v %s", resp.StatusCode, resp.Close, strings.TrimSpace(string(b))))
		}
	}
	want408 := `408 true {"error":"the request's header did not arrive within 300ms (server.read_header_timeout); ` +
		`send the request again, all of it at once","reason":"request_timeout"}`

	// The header stops at a line's end (net/http would close the connection
	// without a word), or mid-line (net/http would answer 400 Bad Request).
	for _, cut := range []string{"POST /v1/events HTTP/1.1\r\nHost: accord\r\n", "POST /v1/events HTTP/1.1\r\nHost: accord\r\nContent-Ty", "POST /v1/ev"} {
		c, r := dial(t, addr)
		fmt.Fprint(c, cut)
		if got := answers(c, r); len(got) != 1 || got[0] != want408 {
			t.Errorf("header cut short at %q: %q", cut, got)
		}
	}

	c, r := dial(t, addr)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: accord\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v", err)
	} else {
		io.ReadAll(resp.Body)
	}
	fmt.Fprint(c, "GET / HTTP/1.1\r\n")
	if got := answers(c, r); len(got) != 1 || got[0] != want408 {
		t.Errorf("second request cut short: %q", got)
	}

	for name, send := range map[string]string{
		"nothing sent":         "",
		"idle after an answer": "GET / HTTP/1.1\r\nHost: accord\r\n\r\n",
		// The handler reads the body, fails at the read timeout and answers.
		"slow body read": "POST /read HTTP/1.1\r\nHost: accord\r\nContent-Length: 100\r\n\r\n{",
		// net/http reads the body the handler left, times out, then answers.
		"slow body unread": "POST / HTTP/1.1\r\nHost: accord\r\nContent-Length: 100\r\n\r\n{",
	} {
		want := map[string][]string{"nothing sent": nil, "idle after an answer": {"200 false ok"},
			"slow body read": {"408 true handler"}, "slow body unread": {"200 true ok"}}[name]
		c, r := dial(t, addr)
		fmt.Fprint(c, send)
		if got := answers(c, r); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := metric(t, reg, "accord_server_header_timeouts_total"); got != 4 {
		t.Errorf("header timeouts %v, want 4", got)
	}
}

// TestHeaderTimeoutTLS: over TLS the connection sees only ciphertext, so a
// request whose header timed out gets net/http's own answer (nothing at a
// line's end, 400 mid-line) and no clear text breaks the TLS stream.
func TestHeaderTimeoutTLS(t *testing.T) {
	addr, _, _, _ := serve(t, 10, serverTLS(t))
	for cut, want := range map[string]string{"GET / HTTP/1.1\r\n": "", "GET / HTTP/1.1\r\nHo": "HTTP/1.1 400 Bad Request"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, cut)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), want) || want == "" && len(b) != 0 {
			t.Errorf("over TLS, cut at %q: %q %v", cut, b, err)
		}
		c.Close()
	}
}

// serverTLS is a server's TLS configuration with a fresh certificate,
// speaking HTTP/1.1.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	certFile, keyFile, _ := certstest.WritePair(t, t.TempDir(), 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
}

func TestNewRefusesZero(t *testing.T) {
	if _, err := conns.New(conns.Options{Max: 0, Plain: true}, nil); err == nil || !strings.Contains(err.Error(), "server.max_connections") {
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

// BenchmarkConnState is the hook's cost per request (net/http calls it twice a
// request: active, then idle), with connections held by parallel goroutines.
func BenchmarkConnState(b *testing.B) {
	l, err := conns.New(conns.Options{Max: 1024, Plain: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	limited := l.Listener(ln)
	accepted := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := limited.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer client.Close()
		c := <-accepted
		defer c.Close()
		for pb.Next() {
			l.ConnState(c, http.StateActive)
			l.ConnState(c, http.StateIdle)
		}
	})
}
