package collect

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

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

// ReadBody reads a request body, gunzipping it when Content-Encoding (or the gzip
// magic bytes) says so, and refusing more than max bytes after decompression, so
// that a gzip bomb costs at most max bytes of memory.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	var src io.Reader = http.MaxBytesReader(nil, r.Body, max+1)
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		return nil, &RequestError{Status: http.StatusUnsupportedMediaType, Reason: event.ReasonUnsupportedEncoding,
			Msg: fmt.Sprintf("Content-Encoding %q is not supported; send identity or gzip", Clip(enc, 80))}
	}
	raw, err := readAll(io.LimitReader(src, max+1), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		ReleaseBody(raw)
		if errors.As(err, &mbe) {
			return nil, tooLarge(max)
		}
		return nil, &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent, Msg: "reading the request body failed: " + err.Error()}
	}
	if int64(len(raw)) > max {
		ReleaseBody(raw)
		return nil, tooLarge(max)
	}
	if enc == "gzip" || enc == "x-gzip" || bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		defer ReleaseBody(raw) // the inflated copy is what the caller gets
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonUnsupportedEncoding, Msg: "the body is not valid gzip: " + err.Error()}
		}
		out, err := io.ReadAll(io.LimitReader(zr, max+1))
		if err != nil {
			return nil, &RequestError{Status: http.StatusBadRequest, Reason: event.ReasonUnsupportedEncoding, Msg: "the body is not valid gzip: " + err.Error()}
		}
		if int64(len(out)) > max {
			return nil, tooLarge(max)
		}
		return out, nil
	}
	return raw, nil
}

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

// Request bodies are pooled: a handler gives its body back with ReleaseBody once
// its answer is written. Everything the collector keeps of a request is copied
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

// ReleaseBody gives a body read by ReadBody back for the next request. The
// caller must hold no slice of it afterwards.
func ReleaseBody(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledBody {
		return
	}
	p := bodyHolders.Get().(*[]byte)
	*p = b[:0]
	bodies.Put(p)
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
