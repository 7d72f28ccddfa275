package collect_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/collect"
)

// TestReadBody reads bodies whose Content-Length is right, missing, or larger
// than the up-front allocation, and refuses bodies over the limit, compressed or
// not.
func TestReadBody(t *testing.T) {
	gz := func(s string) string {
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write([]byte(s))
		zw.Close()
		return zipped.String()
	}
	zipped := gz(strings.Repeat("a", 5000))
	big := strings.Repeat("b", 3<<20) // above the 1 MiB size hint
	cases := []struct {
		name     string
		body     string
		length   int64 // Content-Length as the server sees it; -1 unknown
		encoding string
		max      int64
		want     string
		status   int
		msg      string // in the refusal's message
	}{
		{name: "length given", body: `{"a":1}`, length: 7, max: 100, want: `{"a":1}`},
		{name: "length unknown (chunked)", body: strings.Repeat("x", 10000), length: -1, max: 1 << 20, want: strings.Repeat("x", 10000)},
		{name: "length above the size hint", body: big, length: int64(len(big)), max: 4 << 20, want: big},
		{name: "exactly the limit", body: strings.Repeat("y", 100), length: 100, max: 100, want: strings.Repeat("y", 100)},
		{name: "one byte over the limit", body: strings.Repeat("y", 101), length: 101, max: 100, status: http.StatusRequestEntityTooLarge},
		{name: "over the limit, length unknown", body: strings.Repeat("y", 5000), length: -1, max: 100, status: http.StatusRequestEntityTooLarge},
		{name: "gzip", body: zipped, length: int64(len(zipped)), encoding: "gzip", max: 10000, want: strings.Repeat("a", 5000)},
		{name: "gzip over the limit once inflated", body: zipped, length: int64(len(zipped)), encoding: "gzip", max: 4000, status: http.StatusRequestEntityTooLarge},
		{name: "a UTF-8 byte order mark is left out", body: "\uFEFF{\"a\":1}", length: 10, max: 100, want: `{"a":1}`},
		{name: "so is a gzipped one", body: gz("\uFEFF{\"a\":1}"), length: -1, max: 100, want: `{"a":1}`},
		{name: "a mark within the body stays", body: "[\uFEFF]", length: 5, max: 100, want: "[\uFEFF]"},
		{name: "said gzip, is not", body: `{"a":1,"b":"some plain JSON"}`, length: -1, encoding: "gzip", max: 100, status: http.StatusBadRequest,
			msg: "it is not a gzip stream; send the whole gzip stream with Content-Encoding: gzip, or the body uncompressed without it"},
		{name: "gzip cut short", body: zipped[:len(zipped)-12], length: -1, encoding: "gzip", max: 10000, status: http.StatusBadRequest,
			msg: "the gzip stream ends early (the body was cut short)"},
		{name: "gzip and then garbage", body: zipped + "GARBAGE AFTER THE STREAM", length: -1, encoding: "gzip", max: 10000, status: http.StatusBadRequest,
			msg: "its gzip stream is followed by bytes that are not gzip"},
		{name: "gzip altered", body: zipped[:len(zipped)-8] + "\x00\x00\x00\x00" + zipped[len(zipped)-4:], length: -1, encoding: "gzip", max: 10000,
			status: http.StatusBadRequest, msg: "its gzip checksum does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(c.body))
			r.ContentLength = c.length
			if c.encoding != "" {
				r.Header.Set("Content-Encoding", c.encoding)
			}
			lim := collect.DefaultLimits
			lim.MaxBodyBytes = c.max
			got, err := collect.NewBodies(lim, nil).Read(r)
			if c.status != 0 {
				var re *collect.RequestError
				if !errors.As(err, &re) || re.Status != c.status {
					t.Fatalf("got %v, error %v; want a request error with status %d", got, err, c.status)
				}
				if !strings.Contains(re.Msg, c.msg) || strings.Contains(re.Msg, "gzip: ") {
					t.Errorf("the refusal says %q; want it to say %q, in its own words", re.Msg, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Bytes) != c.want {
				t.Fatalf("got %d bytes, want %d", len(got.Bytes), len(c.want))
			}
			got.Release()
		})
	}
}

// TestBodiesBudget: bodies share limits.max_inflight_bytes. A body that does not
// fit waits for room, and gets it when another is released; a body that grows
// past what it could take (gzip) is refused at once with 503 instead of waiting
// while it holds room; a request that ends while waiting is refused; every byte
// taken is given back.
func TestBodiesBudget(t *testing.T) {
	m, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	lim := collect.DefaultLimits
	lim.MaxBodyBytes, lim.MaxInflightBytes = 64<<10, 100<<10
	bodies := collect.NewBodies(lim, m)
	req := func(ctx context.Context, body []byte, encoding string) *http.Request {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/events", bytes.NewReader(body))
		if encoding != "" {
			r.Header.Set("Content-Encoding", encoding)
		}
		return r
	}
	busy := func(t *testing.T, err error, reason string) {
		t.Helper()
		var re *collect.RequestError
		if !errors.As(err, &re) || re.Status != http.StatusServiceUnavailable || string(re.Reason) != reason {
			t.Fatalf("error %v, want 503 %s", err, reason)
		}
	}
	ctx := context.Background()
	a, err := bodies.Read(req(ctx, bytes.Repeat([]byte("a"), 60<<10), ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.BodyBytes(); got != 60<<10 {
		t.Fatalf("body bytes %v with one 60 KiB body, want %d", got, 60<<10)
	}

	// A gzip body of 1 KiB on the wire fits beside it, but it inflates to 50
	// KiB: it cannot grow, and is refused without waiting.
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat([]byte("z"), 50<<10))
	zw.Close()
	start := time.Now()
	_, err = bodies.Read(req(ctx, zipped.Bytes(), "gzip"))
	busy(t, err, "collector_busy")
	if d := time.Since(start); d > time.Second {
		t.Errorf("the gzip body was refused after %v: it waited", d)
	}
	// A request that ends while it waits for room is refused as cancelled.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = bodies.Read(req(cctx, bytes.Repeat([]byte("c"), 60<<10), ""))
	busy(t, err, "cancelled")
	if got := m.BodyBytes(); got != 60<<10 {
		t.Fatalf("body bytes %v after the refusals, want the first body's %d", got, 60<<10)
	}

	// A second 60 KiB body waits until the first is released.
	done := make(chan error, 1)
	var b *collect.Body
	go func() {
		var err error
		b, err = bodies.Read(req(ctx, bytes.Repeat([]byte("b"), 60<<10), ""))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second body was read while the first held the room (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	a.Release()
	a.Release() // a second release gives nothing back twice
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(b.Bytes) != strings.Repeat("b", 60<<10) {
		t.Fatalf("the second body read %d bytes", len(b.Bytes))
	}
	b.Release()
	// With the room free again the gzip body is read, inflated.
	z, err := bodies.Read(req(ctx, zipped.Bytes(), "gzip"))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Bytes) != 50<<10 {
		t.Fatalf("inflated %d bytes, want %d", len(z.Bytes), 50<<10)
	}
	z.Release()
	if got := m.BodyBytes(); got != 0 {
		t.Fatalf("body bytes %v after every body was released, want 0", got)
	}
	// All the room is free: a body of the largest size fits at once.
	full, err := bodies.Read(req(ctx, bytes.Repeat([]byte("f"), 64<<10), ""))
	if err != nil {
		t.Fatal(err)
	}
	full.Release()
}

// FuzzBodies reads arbitrary bodies, plain or declared gzip, with a right,
// wrong or missing Content-Length: a body is never over the limit, a refusal is
// a request error, and once every body is released all the room is free again.
func FuzzBodies(f *testing.F) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat([]byte("z"), 3000))
	zw.Close()
	f.Add([]byte(`{"a":1}`), false, int64(7))
	f.Add(zipped.Bytes(), true, int64(zipped.Len()))
	f.Add(zipped.Bytes(), false, int64(-1))
	f.Add(bytes.Repeat([]byte("x"), 5000), false, int64(10))
	f.Fuzz(func(t *testing.T, body []byte, gz bool, length int64) {
		m, err := collect.NewMetrics(prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		lim := collect.DefaultLimits
		lim.MaxBodyBytes, lim.MaxInflightBytes = 2048, 4096
		bodies := collect.NewBodies(lim, m)
		r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		r.ContentLength = max(length, -1)
		if gz {
			r.Header.Set("Content-Encoding", "gzip")
		}
		got, err := bodies.Read(r)
		if err != nil {
			var re *collect.RequestError
			if !errors.As(err, &re) || re.Status < 400 {
				t.Fatalf("error %v is not a request error", err)
			}
		} else {
			if int64(len(got.Bytes)) > lim.MaxBodyBytes {
				t.Fatalf("a body of %d bytes, over the limit %d", len(got.Bytes), lim.MaxBodyBytes)
			}
			got.Release()
		}
		if held := m.BodyBytes(); held != 0 {
			t.Fatalf("%v bytes held after the body was released", held)
		}
		full, err := bodies.Read(httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(make([]byte, lim.MaxBodyBytes))))
		if err != nil {
			t.Fatalf("a body of the largest size after the first: %v", err)
		}
		full.Release()
	})
}

// TestBodiesGzipAtTheLimit: with the smallest budget Limits.Validate accepts
// (twice the largest body), a gzip body that inflates to exactly the largest
// body is read, and one byte more is refused as too large, never as busy.
func TestBodiesGzipAtTheLimit(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxBodyBytes, lim.MaxInflightBytes = 4096, 8192
	if err := lim.Validate(); err != nil {
		t.Fatal(err)
	}
	lim.MaxInflightBytes--
	if err := lim.Validate(); err == nil || !strings.Contains(err.Error(), "limits.max_inflight_bytes") {
		t.Fatalf("a budget below twice the largest body: %v, want an error naming limits.max_inflight_bytes", err)
	}
	lim.MaxInflightBytes++
	bodies := collect.NewBodies(lim, nil)
	for _, n := range []int{4096, 4097} {
		// Half random bytes: the compressed body is about half the inflated one.
		plain := make([]byte, n)
		rnd := rand.New(rand.NewPCG(1, uint64(n)))
		for i := range n / 2 {
			plain[i] = byte(rnd.Uint32())
		}
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write(plain)
		zw.Close()
		r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(zipped.Bytes()))
		r.Header.Set("Content-Encoding", "gzip")
		got, err := bodies.Read(r)
		if n == 4096 {
			if err != nil || !bytes.Equal(got.Bytes, plain) {
				t.Fatalf("%d bytes inflated from %d: err %v", n, zipped.Len(), err)
			}
			got.Release()
			continue
		}
		var re *collect.RequestError
		if !errors.As(err, &re) || re.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d bytes inflated from %d: err %v, want 413", n, zipped.Len(), err)
		}
		if zipped.Len() < 1500 {
			t.Fatalf("the compressed body is %d bytes: the test wants one of about half the largest body", zipped.Len())
		}
	}
}

// TestBodiesHoldWhatTheyKeep: a body read without a known size (gzip,
// chunked) holds, once read, the room of the buffer it keeps, not of the steps
// it grew by; so two gzip bodies of 600 KB inflated and a chunked one of 200
// KB fit a budget of 2 MiB at once (the audit's case: the second gzip body was
// refused with 503 when each held up to twice its bytes).
func TestBodiesHoldWhatTheyKeep(t *testing.T) {
	m, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	lim := collect.DefaultLimits
	lim.MaxBodyBytes, lim.MaxInflightBytes = 1<<20, 2<<20
	bodies := collect.NewBodies(lim, m)
	line := []byte(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"someone@example.com"}}` + "\n")
	plain := bytes.Repeat(line, 600_000/len(line))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain)
	zw.Close()
	var held []*collect.Body
	var caps float64
	for i, tc := range []struct {
		body     []byte
		encoding string
	}{{zipped.Bytes(), "gzip"}, {zipped.Bytes(), "gzip"}, {plain[:200_000], ""}} {
		r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(tc.body))
		r.ContentLength = -1 // chunked: the size is known only at the end
		if tc.encoding != "" {
			r.Header.Set("Content-Encoding", tc.encoding)
		}
		b, err := bodies.Read(r)
		if err != nil {
			t.Fatalf("body %d: %v (body bytes held %v)", i+1, err, m.BodyBytes())
		}
		held = append(held, b)
		caps += float64(cap(b.Bytes))
		// At most its buffer: a buffer from the pool may be larger than the
		// room the body took.
		if got := m.BodyBytes(); got > caps {
			t.Errorf("after body %d (%d bytes), %v bytes of room held for buffers of %v bytes", i+1, len(b.Bytes), got, caps)
		}
	}
	for _, b := range held {
		b.Release()
	}
	if got := m.BodyBytes(); got != 0 {
		t.Errorf("%v bytes of room still held after every body was released", got)
	}
}
