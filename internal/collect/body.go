package collect

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/semaphore"

	"github.com/accord-dev/accord/internal/event"
)

// RequestError is a request the collector refuses as a whole, with the HTTP status
// and the fixed reason to answer with.
type RequestError struct {
	Status int
	Reason event.Reason
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

// Bodies reads the request bodies of the ingest handlers: each at most
// Limits.MaxBodyBytes after decompression, so that a gzip bomb costs at most
// that, and all of them together at most Limits.MaxInflightBytes, so that many
// large requests at once cannot exhaust memory either. A request first waits
// (at most bodyWait) for room for its declared Content-Length (64 KiB when it
// declares none), then takes more as its bytes arrive, inflated ones included;
// when there is no room for those it is refused with 503 and Retry-After
// rather than waiting while it holds room others may need. Its room is given
// back with the body (Body.Release), which the handlers do as soon as Process
// no longer reads it, before the durable wait.
type Bodies struct {
	max, budget int64
	sem         *semaphore.Weighted
	metrics     *Metrics // nil in tests of the reader alone
}

// NewBodies returns the body reader for lim, which Limits.Validate accepts;
// m may be nil.
func NewBodies(lim Limits, m *Metrics) *Bodies {
	return &Bodies{max: lim.MaxBodyBytes, budget: lim.MaxInflightBytes, sem: semaphore.NewWeighted(lim.MaxInflightBytes), metrics: m}
}

// bodyWait bounds how long a request waits for room for its body before it
// is answered 503 (the server's read timeout, 30 s by default, runs meanwhile).
const bodyWait = 10 * time.Second

// minBodyRoom is the room taken up front for a body of unknown length, and
// the least taken at a time as a body grows.
const minBodyRoom = 64 << 10

// Body is a request body read by Bodies.Read. Release gives its memory and
// its room back; the caller must hold no slice of Bytes afterwards.
type Body struct {
	Bytes []byte
	held  int64
	from  *Bodies
	raw   []byte // the compressed bytes while a gzip body is inflated
}

// Release gives the body back, once; later calls do nothing.
func (b *Body) Release() {
	if b == nil || b.from == nil {
		return
	}
	releaseBuf(b.Bytes)
	releaseBuf(b.raw)
	b.from.give(b.held)
	b.Bytes, b.raw, b.held, b.from = nil, nil, 0, nil
}

// give gives n bytes of room back. The gauge goes down before the room is
// free, as it goes up after the room is taken (took), so that it never shows
// more than the budget: the other way round, a request taking the room in
// between counted it while the gauge still held it
// (TestServeBoundsBodiesInFlight saw 2.6 MiB of a 2 MiB budget once).
func (bs *Bodies) give(n int64) {
	if n > 0 {
		if bs.metrics != nil {
			bs.metrics.bodyBytes.Sub(float64(n))
		}
		bs.sem.Release(n)
	}
}

// took counts n bytes of room just taken.
func (bs *Bodies) took(n int64) {
	if bs.metrics != nil {
		bs.metrics.bodyBytes.Add(float64(n))
	}
}

// busy is the answer to a request that found no room for its body.
func (bs *Bodies) busy() error {
	return &RequestError{Status: http.StatusServiceUnavailable, Reason: "collector_busy",
		Msg: fmt.Sprintf("the collector holds its limit of request bodies in progress (limits.max_inflight_bytes, %d bytes); retry after the Retry-After delay", bs.budget)}
}

// errNoRoom stops a body read that found no room to grow.
var errNoRoom = errors.New("no room for the request body")

// grow takes room for the body to reach need bytes without waiting: at least a
// quarter more than it holds (as a growing buffer's capacity goes up; a
// doubling step held up to twice a body's bytes, and refused concurrent gzip
// bodies far under the budget), never past the most a body holds (the largest
// body, and its compressed bytes while it is inflated: at most twice the
// largest body, which Limits.Validate asks the budget to cover).
func (b *Body) grow(need int64) error {
	most := b.from.max + int64(len(b.raw))
	if b.held >= most {
		return nil // the byte past the largest body, which the size check refuses
	}
	step := min(max(need-b.held, b.held/4, minBodyRoom), most-b.held)
	if !b.from.sem.TryAcquire(step) {
		return errNoRoom
	}
	b.from.took(step)
	b.held += step
	return nil
}

// counted reads r on behalf of b, taking room for every byte past what b holds.
type counted struct {
	r    io.Reader
	b    *Body
	base int64 // bytes b already counts (the compressed body while inflating)
	n    int64
}

func (c *counted) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	if need := c.base + c.n; need > c.b.held {
		if e := c.b.grow(need); e != nil {
			return k, e
		}
	}
	return k, err
}

// Read reads r's body, gunzipping it when Content-Encoding (or the gzip magic
// bytes) says so, without the UTF-8 byte order mark some producers start it
// with (.NET's UTF-8 encoders write one by default; RFC 8259 lets a parser
// ignore it). The caller gives the body back with Release.
func (bs *Bodies) Read(r *http.Request) (*Body, error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		return nil, &RequestError{Status: http.StatusUnsupportedMediaType, Reason: event.ReasonUnsupportedEncoding,
			Msg: fmt.Sprintf("Content-Encoding %q is not supported; send identity or gzip", Clip(enc, 80))}
	}
	if r.ContentLength > bs.max {
		return nil, tooLarge(bs.max) // refused before anything is read or waited for
	}
	want := int64(minBodyRoom)
	if r.ContentLength >= 0 {
		want = r.ContentLength
	}
	want = max(min(want, bs.max, bs.budget), 1)
	if !bs.sem.TryAcquire(want) {
		if bs.metrics != nil {
			bs.metrics.bodyWaits.Inc()
		}
		ctx, cancel := context.WithTimeout(r.Context(), bodyWait)
		err := bs.sem.Acquire(ctx, want)
		cancel()
		if err != nil {
			if r.Context().Err() != nil {
				return nil, &RequestError{Status: http.StatusServiceUnavailable, Reason: "cancelled", Msg: "the request ended while it waited for room for its body; retry"}
			}
			return nil, bs.busy()
		}
	}
	bs.took(want)
	b := &Body{held: want, from: bs}
	if err := bs.read(b, r, enc); err != nil {
		b.Release()
		return nil, err
	}
	// Read, the body keeps its buffer only: the room taken beyond it while it
	// grew (and for the compressed bytes, given back) goes back now.
	if keep := int64(cap(b.Bytes)); b.held > keep {
		bs.give(b.held - keep)
		b.held = keep
	}
	b.Bytes = bytes.TrimPrefix(b.Bytes, utf8BOM)
	return b, nil
}

// notGzip answers a body sent as gzip (by its Content-Encoding or its first
// bytes) that does not inflate; inflated says that some of it did.
func notGzip(err error, inflated bool) error {
	what := "it is not a gzip stream"
	switch {
	case inflated && errors.Is(err, gzip.ErrHeader):
		what = "its gzip stream is followed by bytes that are not gzip (send the stream alone)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = "the gzip stream ends early (the body was cut short)"
	case errors.Is(err, gzip.ErrChecksum):
		what = "its gzip checksum does not match (the body was altered)"
	}
	return &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonUnsupportedEncoding,
		Msg: "the body does not inflate: " + what + "; send the whole gzip stream with Content-Encoding: gzip, or the body uncompressed without it"}
}

// read fills b from r: the body as sent, then, if it is gzip, inflated.
func (bs *Bodies) read(b *Body, r *http.Request, enc string) error {
	src := io.LimitReader(http.MaxBytesReader(nil, r.Body, bs.max+1), bs.max+1)
	raw, err := readAll(&counted{r: src, b: b}, r.ContentLength)
	b.Bytes = raw
	switch {
	case errors.Is(err, errNoRoom):
		return bs.busy()
	case err != nil:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(bs.max)
		}
		return bodyReadError(err)
	case int64(len(raw)) > bs.max:
		return tooLarge(bs.max)
	}
	if !(enc == "gzip" || enc == "x-gzip" || bytes.HasPrefix(raw, []byte{0x1f, 0x8b})) {
		return nil
	}
	b.raw, b.Bytes = raw, nil // the inflated copy is what the caller gets
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return notGzip(err, false)
	}
	out, err := io.ReadAll(&counted{r: io.LimitReader(zr, bs.max+1), b: b, base: int64(len(raw))})
	b.Bytes = out
	switch {
	case errors.Is(err, errNoRoom):
		return bs.busy()
	case err != nil:
		return notGzip(err, len(out) > 0)
	case int64(len(out)) > bs.max:
		return tooLarge(bs.max)
	}
	// The compressed bytes go back now, and with them their room (Read).
	releaseBuf(b.raw)
	b.raw = nil
	return nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// maxSizeHint bounds the memory taken up front for a body on the word of its
// Content-Length, so that a client announcing a large body and sending it slowly
// (or never) holds at most this much until its bytes arrive.
const maxSizeHint = 1 << 20

// readAll reads r to the end into a buffer from the pool of request bodies,
// grown once to sizeHint (the request's Content-Length, -1 when unknown) when
// it is right, where io.ReadAll would grow its buffer by doubling.
func readAll(r io.Reader, sizeHint int64) ([]byte, error) {
	b := bytes.NewBuffer(getBody())
	if sizeHint > 0 {
		b.Grow(int(min(sizeHint, maxSizeHint)) + bytes.MinRead)
	}
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// Request bodies are pooled: a handler gives its body back with Body.Release
// once Process no longer reads it. Everything the collector keeps of a request is copied
// out of the body before then (envelopes, bad rows, results, vault subjects); a
// body that grew past maxPooledBody is left to the GC.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBody = 1 << 20

func getBody() []byte {
	p := bodies.Get().(*[]byte)
	b := (*p)[:0]
	*p = nil
	bodyHolders.Put(p)
	return b
}

// bodyHolders recycles the pointers the pool of bodies stores them in.
var bodyHolders = sync.Pool{New: func() any { return new([]byte) }}

// releaseBuf gives a body's buffer back for the next request.
func releaseBuf(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledBody {
		return
	}
	p := bodyHolders.Get().(*[]byte)
	*p = b[:0]
	bodies.Put(p)
}

// bodyReadError is the answer to a body that could not be read to its end:
// one that did not arrive within the server's read timeout (a slow client)
// is told so with 408; one whose connection ended early gets 400. The
// messages leave out the network error's text, which names the client's
// address.
func bodyReadError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return &RequestError{Status: http.StatusRequestTimeout, Reason: "request_timeout",
			Msg: "the request body did not arrive within the collector's read timeout (server.read_timeout); send it again, faster"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent,
			Msg: "the request body ended before the length its Content-Length gave"}
	}
	return &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent,
		Msg: "reading the request body failed (the connection broke); send it again"}
}

func tooLarge(max int64) error {
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonPayloadTooLarge,
		Msg: fmt.Sprintf("the request body is larger than %d bytes (after decompression); send fewer events per request", max)}
}

// Clip shortens outside input to at most n bytes (and "...") before it goes into
// a message or the envelope, cutting at a character boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
