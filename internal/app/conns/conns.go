// Package conns bounds the connections an HTTP server holds open, so that many
// clients at once (slow ones, or a flood) cannot grow the collector's memory
// without bound: net/http gives every connection a goroutine and buffers
// (about 30 KiB for one that sends a request slowly), and nothing else limits
// how many it accepts.
//
// At the limit, a new connection first takes the place of the connection that
// has been idle the longest (a keep-alive connection waiting for its next
// request: closing it costs its client a reconnect, nothing more); when none is
// idle, it is refused: answered 503, Retry-After and a JSON body naming the
// limit once its request's header is in, then closed (a client that sends no
// header within a second, or one over TLS, where nothing can be said before
// the handshake, is only closed). Clients retry both as they retry any 503.
package conns

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
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
	mu        sync.Mutex
	open      int
	idle      map[*conn]time.Time // idle keep-alive connections, since when
	refusers  chan struct{}       // bounds the goroutines answering refused connections
	openGauge prometheus.GaugeFunc
	idleGauge prometheus.GaugeFunc
	refused   prometheus.Counter
	reclaimed prometheus.Counter
}

// maxRefusers bounds the refused connections being answered at once; beyond
// it a refused connection is closed without an answer, so that a flood costs
// no more than that many goroutines.
const maxRefusers = 32

// New returns a Limiter of max connections (at least 1) whose metrics are
// registered with reg (nil registers none). plain says that the server speaks
// plain HTTP, so that a refused connection can be answered.
func New(max int, plain bool, reg prometheus.Registerer) (*Limiter, error) {
	if max < 1 {
		return nil, fmt.Errorf("server.max_connections %d must be at least 1", max)
	}
	l := &Limiter{max: max, plain: plain, idle: map[*conn]time.Time{}, refusers: make(chan struct{}, maxRefusers)}
	body := fmt.Sprintf(`{"error":"the collector holds its limit of %d connections (server.max_connections); retry","reason":"collector_busy"}`+"\n", max)
	l.refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	l.openGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_server_connections",
		Help: "Client connections open (at most server.max_connections)."}, func() float64 { return float64(l.Open()) })
	l.idleGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_server_connections_idle",
		Help: "Keep-alive client connections open and waiting for their next request."}, func() float64 { return float64(l.Idle()) })
	l.refused = prometheus.NewCounter(prometheus.CounterOpts{Name: "accord_server_connections_refused_total",
		Help: "Connections refused (503) because server.max_connections were open and none was idle."})
	l.reclaimed = prometheus.NewCounter(prometheus.CounterOpts{Name: "accord_server_connections_reclaimed_total",
		Help: "Idle keep-alive connections closed to make room for a new one at server.max_connections."})
	if reg != nil {
		for _, c := range []prometheus.Collector{l.openGauge, l.idleGauge, l.refused, l.reclaimed} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// Open is the number of connections open.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Idle is the number of keep-alive connections waiting for their next request.
func (l *Limiter) Idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.idle)
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
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return &conn{Conn: c, l: l}
		}
		var victim *conn
		var since time.Time
		for ic, t := range l.idle {
			if victim == nil || t.Before(since) {
				victim, since = ic, t
			}
		}
		if victim != nil {
			delete(l.idle, victim)
		}
		l.mu.Unlock()
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
		if _, err := c.Write(l.refusal); err != nil {
			return
		}
		// Read what else the client sent before closing, so that the close
		// does not reset the connection before the client has read the answer.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
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
// keep-alive connections that a new one may take the place of.
func (l *Limiter) ConnState(c net.Conn, state http.ConnState) {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*conn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if state == http.StateIdle && !tc.closed {
		l.idle[tc] = time.Now()
	} else {
		delete(l.idle, tc)
	}
}

// conn is an admitted connection: closing it gives its place back.
type conn struct {
	net.Conn
	l      *Limiter
	closed bool // under l.mu
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	if !c.closed {
		c.closed = true
		c.l.open--
		delete(c.l.idle, c)
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
