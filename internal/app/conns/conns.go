// Package conns keeps the client connections of an HTTP server: it bounds how
// many are held open, so that many clients at once (slow ones, or a flood)
// cannot grow the collector's memory without bound (net/http gives every
// connection a goroutine and buffers, about 30 KiB for one that sends a request
// slowly, and nothing else limits how many it accepts), and it answers the
// requests that net/http closes unanswered.
//
// At the limit, a new connection first takes the place of the connection that
// has been idle the longest (a keep-alive connection waiting for its next
// request: closing it costs its client a reconnect, nothing more); when none is
// idle, it is refused: answered 503, Retry-After and a JSON body naming the
// limit once its request's header is in, then closed (a client that sends no
// header within a second, or one over TLS, where nothing can be said before
// the handshake, is only closed). Clients retry both as they retry any 503.
//
// A request whose header does not arrive within the server's header timeout
// (a slow client) is answered 408 request_timeout and closed, where net/http
// would close it without a word: when net/http closes a connection whose last
// read ended at its deadline and which has sent bytes since it was last
// written to, those bytes are a request that was not answered (net/http
// answers every request whose header it read, and reads what is left of a
// body before it answers). A connection that sent nothing, or nothing since
// its last answer (an idle keep-alive one), is closed as before; so is a
// request whose bytes came with the previous one's (pipelined), which this
// cannot tell from what net/http holds in its buffer. A header cut mid-line
// net/http answers itself, with a bare 400 Bad Request (it parses the part
// line as if whole): that answer, written right after a read that timed out,
// is replaced by the 408. Over TLS the connection sees only ciphertext and
// leaves both cases to net/http.
package conns

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limiter admits at most a fixed number of connections; see the package
// comment. Wrap the server's listener with Listener and set the server's
// ConnState to the Limiter's.
type Limiter struct {
	max       int
	plain     bool // the server speaks plain HTTP on the listener (no TLS)
	refusal   []byte
	timeout   []byte // the answer to a request whose header timed out
	mu        sync.Mutex
	conns     map[*conn]struct{} // the open connections
	refusers  chan struct{}      // bounds the goroutines answering refused connections
	openGauge prometheus.GaugeFunc
	idleGauge prometheus.GaugeFunc
	refused   prometheus.Counter
	reclaimed prometheus.Counter
	timeouts  prometheus.Counter
}

// Options configure a Limiter.
type Options struct {
	// Max is the most connections held open (server.max_connections; at least 1).
	Max int
	// Plain says that the server speaks plain HTTP on the listener, so that a
	// refused connection, or a request whose header timed out, can be
	// answered; over TLS they are only closed.
	Plain bool
	// HeaderTimeout is the server's ReadHeaderTimeout, named in the answer to a
	// request whose header did not arrive within it.
	HeaderTimeout time.Duration
}

// maxRefusers bounds the refused connections being answered at once; beyond
// it a refused connection is closed without an answer, so that a flood costs
// no more than that many goroutines.
const maxRefusers = 32

// New returns a Limiter whose metrics are registered with reg (nil registers
// none).
func New(o Options, reg prometheus.Registerer) (*Limiter, error) {
	if o.Max < 1 {
		return nil, fmt.Errorf("server.max_connections %d must be at least 1", o.Max)
	}
	l := &Limiter{max: o.Max, plain: o.Plain, conns: map[*conn]struct{}{}, refusers: make(chan struct{}, maxRefusers)}
	l.refusal = answer("503 Service Unavailable", "Retry-After: 1\r\n", fmt.Sprintf(
		"the collector holds its limit of %d connections (server.max_connections); retry", o.Max), "collector_busy")
	within := "the collector's header timeout (server.read_header_timeout)"
	if o.HeaderTimeout > 0 {
		within = fmt.Sprintf("%v (server.read_header_timeout)", o.HeaderTimeout)
	}
	l.timeout = answer("408 Request Timeout", "", "the request's header did not arrive within "+within+
		"; send the request again, all of it at once", "request_timeout")
	l.openGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_server_connections",
		Help: "Client connections open (at most server.max_connections)."}, func() float64 { return float64(l.Open()) })
	l.idleGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_server_connections_idle",
		Help: "Keep-alive client connections open and waiting for their next request."}, func() float64 { return float64(l.Idle()) })
	l.refused = prometheus.NewCounter(prometheus.CounterOpts{Name: "accord_server_connections_refused_total",
		Help: "Connections refused (503) because server.max_connections were open and none was idle."})
	l.reclaimed = prometheus.NewCounter(prometheus.CounterOpts{Name: "accord_server_connections_reclaimed_total",
		Help: "Idle keep-alive connections closed to make room for a new one at server.max_connections."})
	l.timeouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "accord_server_header_timeouts_total",
		Help: "Requests whose header did not arrive within server.read_header_timeout, answered 408 request_timeout (plain HTTP only)."})
	if reg != nil {
		for _, c := range []prometheus.Collector{l.openGauge, l.idleGauge, l.refused, l.reclaimed, l.timeouts} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// answer is a whole HTTP answer that closes its connection, with a JSON body
// of the collector's error shape.
func answer(status, headers, msg, reason string) []byte {
	body, _ := json.Marshal(struct { // two strings: cannot fail
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}{msg, reason})
	body = append(body, '\n')
	return []byte("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" + headers + "Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
}

// Open is the number of connections open.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Idle is the number of keep-alive connections waiting for their next request.
func (l *Limiter) Idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.conns {
		if c.idleSince.Load() != 0 {
			n++
		}
	}
	return n
}

// Listener returns ln admitting connections within l's limit.
func (l *Limiter) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

type listener struct {
	net.Listener
	l *Limiter
}

// Accept returns the next connection admitted; the refused ones are answered
// (or closed) on the way.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := ln.l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit returns c as a tracked connection, after closing the longest-idle
// connection when l is full; nil when c was refused.
func (l *Limiter) admit(c net.Conn) *conn {
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			tc := &conn{Conn: c, l: l}
			l.conns[tc] = struct{}{}
			l.mu.Unlock()
			return tc
		}
		// The scan is over every open connection, but only at the limit.
		var victim *conn
		var since int64
		for ic := range l.conns {
			if t := ic.idleSince.Load(); t != 0 && (victim == nil || t < since) {
				victim, since = ic, t
			}
		}
		// Claimed, so that no other admit picks it; one that became busy
		// meanwhile is not taken (scan again).
		claimed := victim != nil && victim.idleSince.CompareAndSwap(since, 0)
		l.mu.Unlock()
		if victim != nil && !claimed {
			continue
		}
		if victim == nil {
			l.refuse(c)
			return nil
		}
		l.reclaimed.Inc()
		victim.Close() // gives its place back; then try again
	}
}

// refuse answers c with the refusal (plain HTTP only) and closes it, on a
// goroutine of its own while fewer than maxRefusers are at it.
func (l *Limiter) refuse(c net.Conn) {
	l.refused.Inc()
	if !l.plain {
		c.Close()
		return
	}
	select {
	case l.refusers <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusers }()
		defer c.Close()
		// The answer follows the request's header: a client that has not
		// written its request yet would take an answer before it for a broken
		// connection (Go's Transport does). A client that sends none in time
		// is closed without one.
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if !readHeader(c) {
			return
		}
		writeLingering(c, l.refusal)
	}()
}

// writeLingering writes a closing answer to c, then reads what else the
// client sent, briefly, so that closing c does not reset the connection
// before the client has read the answer. The caller closes c.
func writeLingering(c net.Conn, answer []byte) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(answer); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// readHeader reads from c up to the end of a request's header (a blank
// line), at most maxHeader bytes; false when c ends or times out first.
func readHeader(c net.Conn) bool {
	const maxHeader = 64 << 10
	buf := make([]byte, 0, 4<<10)
	for len(buf) < maxHeader {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		from := max(len(buf)-3, 0)
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf[from:], []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return true // a header this long gets its answer too
}

// ConnState is the http.Server's ConnState hook: it keeps track of the idle
// keep-alive connections that a new one may take the place of. It runs twice a
// request, so it takes no lock: each connection holds when it went idle.
func (l *Limiter) ConnState(c net.Conn, state http.ConnState) {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*conn)
	if !ok {
		return
	}
	var since int64
	if state == http.StateIdle {
		since = time.Now().UnixNano()
	}
	tc.idleSince.Store(since)
}

// conn is an admitted connection: closing it gives its place back.
type conn struct {
	net.Conn
	l      *Limiter
	closed bool // under l.mu
	// idleSince is when the connection went idle (a keep-alive connection
	// waiting for its next request), in Unix nanoseconds; 0 while it is not.
	idleSince atomic.Int64
	// unanswered: bytes were read since the last write. timedOut: the last
	// read ended at its deadline. Atomics: net/http reads in the background
	// while a handler writes.
	unanswered atomic.Bool
	timedOut   atomic.Bool
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.unanswered.Store(true)
	}
	// A connection's own read errors are *net.OpError, unwrapped (net/http
	// tests them the same way); net/http's abort of its background read ends
	// in one at every request, so no errors.As here.
	ne, isNet := err.(net.Error)
	c.timedOut.Store(isNet && ne.Timeout())
	return n, err
}

// netHTTPBadRequest is what net/http writes, in one write, when it cannot
// parse a request's header: also when the header stopped mid-line at the
// deadline (it parses the part line as if whole).
var netHTTPBadRequest = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")

func (c *conn) Write(p []byte) (int, error) {
	if c.unanswered.Swap(false) && c.timedOut.Load() && c.l.plain && bytes.Equal(p, netHTTPBadRequest) {
		// Bytes came and the read for more timed out: the header was cut
		// short by the deadline, not malformed by the client.
		c.l.timeouts.Inc()
		if _, err := c.Conn.Write(c.l.timeout); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Close answers a request whose header timed out at a line's end (see the
// package comment) before it closes the connection.
func (c *conn) Close() error {
	if c.unanswered.Swap(false) && c.timedOut.Load() && c.l.plain {
		c.l.timeouts.Inc()
		writeLingering(c.Conn, c.l.timeout)
	}
	err := c.Conn.Close()
	c.l.mu.Lock()
	if !c.closed {
		c.closed = true
		delete(c.l.conns, c)
	}
	c.l.mu.Unlock()
	if errors.Is(err, net.ErrClosed) {
		return nil // closed twice: by the server and to make room
	}
	return err
}

// CloseWrite passes a half-close through to TCP connections.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
