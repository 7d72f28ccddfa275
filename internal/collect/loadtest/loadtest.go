// Package loadtest builds request bodies from the reference workload
// (ACCORD_BENCH_DIR: contracts/ and event.json) for the collector's benchmarks and
// for scripts/load: every event gets a fresh event id and an email from a pool of
// buyers, so that no stage sees the same event twice (the lake drops repeated ids,
// the vault caches repeated subjects). scripts/load/events.lua does the same for wrk.
package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// Template is the reference event cut around the two values every event varies.
// It is immutable and safe for concurrent use.
type Template struct {
	head, mid, tail []byte // head "<event id>" mid "<email>" tail
	users           uint64
	nonce           string
}

// New cuts event (one self-describing event naming data.event_id before
// data.email) into a template. Emails cycle over users distinct buyers; nonce (8
// hex digits) starts every event id, so that runs do not repeat each other's ids.
func New(event []byte, users uint64, nonce string) (*Template, error) {
	ev := bytes.TrimSpace(event)
	id, err := valueSpan(ev, `"event_id":"`)
	if err != nil {
		return nil, err
	}
	email, err := valueSpan(ev, `"email":"`)
	if err != nil {
		return nil, err
	}
	if id[1] > email[0] {
		return nil, errors.New("the reference event must name event_id before email")
	}
	if len(nonce) != 8 {
		return nil, fmt.Errorf("nonce %q must be 8 hex digits", nonce)
	}
	if _, err := strconv.ParseUint(nonce, 16, 32); err != nil {
		return nil, fmt.Errorf("nonce %q must be 8 hex digits", nonce)
	}
	return &Template{head: ev[:id[0]], mid: ev[id[1]:email[0]], tail: ev[email[1]:], users: max(users, 1), nonce: nonce}, nil
}

// valueSpan returns where the string value after key starts and ends.
func valueSpan(ev []byte, key string) ([2]int, error) {
	i := bytes.Index(ev, []byte(key))
	if i < 0 {
		return [2]int{}, fmt.Errorf("the reference event has no %s", key)
	}
	start := i + len(key)
	end := bytes.IndexByte(ev[start:], '"')
	if end < 0 {
		return [2]int{}, fmt.Errorf("the reference event's %s is not closed", key)
	}
	return [2]int{start, start + end}, nil
}

// EventID is the id of event n of stream (a connection, worker or goroutine): a
// UUID that no other (stream, n) of the same nonce has.
func (t *Template) EventID(stream, n uint64) string {
	return string(t.appendID(nil, stream, n))
}

func (t *Template) appendID(b []byte, stream, n uint64) []byte {
	return fmt.Appendf(b, "%s-%04x-4000-8000-%012x", t.nonce, stream&0xffff, n&0xffffffffffff)
}

// Users is the number of distinct buyer emails.
func (t *Template) Users() uint64 { return t.users }

// AppendEvent appends event n of stream. Over any Users() consecutive n, a
// stream's events name every buyer once.
func (t *Template) AppendEvent(b []byte, stream, n uint64) []byte {
	return t.AppendEventOf(b, stream, n, (n*65537+stream+4096)%t.users)
}

// AppendEventOf appends event n of stream sent by buyer user.
func (t *Template) AppendEventOf(b []byte, stream, n, user uint64) []byte {
	b = append(b, t.head...)
	b = t.appendID(b, stream, n)
	b = append(b, t.mid...)
	b = append(b, "buyer"...)
	b = strconv.AppendUint(b, user%t.users, 10)
	b = append(b, "@example.com"...)
	return append(b, t.tail...)
}

// WarmupStream is the stream of the warm-up bodies.
const WarmupStream = 0xfffe

// WarmupBodies returns bodies of up to batch events that name every buyer once,
// for a warm-up that tokenizes each buyer before a measurement: the first event
// of a buyer creates the buyer's key in the vault (a durable write), later ones
// find it cached.
func (t *Template) WarmupBodies(batch int) [][]byte {
	batch = max(batch, 1)
	var bodies [][]byte
	for first := uint64(0); first < t.users; first += uint64(batch) {
		b := []byte{'['}
		for u := first; u < min(first+uint64(batch), t.users); u++ {
			if u > first {
				b = append(b, ',')
			}
			b = t.AppendEventOf(b, WarmupStream, u+1, u)
		}
		bodies = append(bodies, append(b, ']'))
	}
	return bodies
}

// AppendBody appends a request body for the native protocol: the next event of
// stream when batch is 1, else a JSON array of the next batch events. *n counts the
// stream's events.
func (t *Template) AppendBody(b []byte, batch int, stream uint64, n *uint64) []byte {
	if batch <= 1 {
		*n++
		return t.AppendEvent(b, stream, *n)
	}
	b = append(b, '[')
	for i := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		*n++
		b = t.AppendEvent(b, stream, *n)
	}
	return append(b, ']')
}

// Dir is the reference workload's folder: ACCORD_BENCH_DIR, else ../shared/bench
// beside the repository. Without either, the caller is skipped with a message
// saying so; with ACCORD_BENCH_DIR set to a folder that does not hold the
// workload it fails, so that CI (which sets it) cannot skip silently.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, set := os.LookupEnv("ACCORD_BENCH_DIR")
	if !set || dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			tb.Skip("ACCORD_BENCH_DIR is not set and the repository's folder is unknown: set it to the reference workload (shared/bench)")
		}
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "bench")
	}
	if _, err := os.Stat(filepath.Join(dir, "event.json")); err != nil {
		if set {
			tb.Fatalf("ACCORD_BENCH_DIR=%s does not hold the reference workload: %v", dir, err)
		}
		tb.Skipf("SKIPPED: no reference workload at %s; set ACCORD_BENCH_DIR to shared/bench", dir)
	}
	return dir
}

// Load reads the reference event of dir into a template with 10,000 buyers and a
// random nonce.
func Load(tb testing.TB, dir string) *Template {
	tb.Helper()
	ev, err := os.ReadFile(filepath.Join(dir, "event.json"))
	if err != nil {
		tb.Fatal(err)
	}
	t, err := New(ev, 10000, fmt.Sprintf("%08x", rand.Uint32()))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
