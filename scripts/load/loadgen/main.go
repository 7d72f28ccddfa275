// Command loadgen is scripts/load.sh's open-loop load generator: it POSTs bodies
// built from the reference event (every event with a fresh event id and an email
// from a pool of buyers, as scripts/load/events.lua does for wrk) at a fixed rate,
// and reports the latency distribution. Latency is measured from the time each
// request was due, not from when it was sent, so a server that falls behind shows
// it in the percentiles (no coordinated omission).
//
//	loadgen rate -url http://127.0.0.1:8080/v1/events -event event.json -batch 100 -rate 1000 -duration 10s
//	loadgen warm -url http://127.0.0.1:8080/v1/events -event event.json   # one event of every buyer
//	loadgen body -event event.json -batch 2        # print one body, for a sanity check
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-dev/accord/internal/collect/loadtest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen rate|warm|body [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rate":
		err = rate(os.Args[2:])
	case "warm":
		err = warm(os.Args[2:])
	case "body":
		err = body(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use rate, warm or body", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func loadTemplate(path string, users uint64, nonce string) (*loadtest.Template, error) {
	ev, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the reference event: %w", err)
	}
	return loadtest.New(ev, users, nonce)
}

type common struct {
	event, nonce string
	batch        int
	users        uint64
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.event, "event", "", "the reference event (event.json)")
	fs.StringVar(&c.nonce, "nonce", "0000cafe", "8 hex digits that start every event id (unique per run)")
	fs.IntVar(&c.batch, "batch", 1, "events per request (1 sends a bare event, more a JSON array)")
	fs.Uint64Var(&c.users, "users", 10000, "distinct buyer emails")
}

func body(args []string) error {
	var c common
	fs := flag.NewFlagSet("body", flag.ContinueOnError)
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := loadTemplate(c.event, c.users, c.nonce)
	if err != nil {
		return err
	}
	var n uint64
	_, err = os.Stdout.Write(append(t.AppendBody(nil, c.batch, 0xffff, &n), '\n'))
	return err
}

// warm sends one event of every buyer, in batches of 100 from 16 connections, so
// that the measurements find every buyer's vault key created (the steady state of
// a collector that has seen its buyers before).
func warm(args []string) error {
	var c common
	fs := flag.NewFlagSet("warm", flag.ContinueOnError)
	c.flags(fs)
	url := fs.String("url", "", "where to POST (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := loadTemplate(c.event, c.users, c.nonce)
	if err != nil {
		return err
	}
	bodies := t.WarmupBodies(100)
	client := &http.Client{Timeout: time.Minute}
	var next atomic.Int64
	errs := make([]error, 16)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(bodies) && errs[w] == nil; i = int(next.Add(1)) - 1 {
				ok, err := post(client, *url, bodies[i])
				switch {
				case err != nil:
					errs[w] = err
				case !ok:
					errs[w] = errors.New("a warm-up request was not answered 200 with every event accepted")
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func rate(args []string) error {
	var c common
	fs := flag.NewFlagSet("rate", flag.ContinueOnError)
	c.flags(fs)
	url := fs.String("url", "", "where to POST (loopback)")
	perSecond := fs.Float64("rate", 100, "requests per second")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	conns := fs.Int("conns", 32, "connections (and workers); requests queue when all are busy")
	clientKind := fs.String("client", "raw", "raw: a lean HTTP/1.1 client (raw.go); nethttp: Go's net/http client, which costs the shared cores several times more per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *perSecond <= 0 || *conns < 1 || *duration <= 0 || *duration > 10*time.Minute {
		return errors.New("-rate and -conns must be positive and -duration between 0 and 10m")
	}
	t, err := loadTemplate(c.event, c.users, c.nonce)
	if err != nil {
		return err
	}
	var send func(w int, body []byte) (bool, error)
	switch *clientKind {
	case "raw":
		raws := make([]*rawClient, *conns)
		for w := range raws {
			if raws[w], err = newRawClient(*url, 30*time.Second); err != nil {
				return err
			}
		}
		send = func(w int, body []byte) (bool, error) {
			status, answer, err := raws[w].post(body)
			return accepted(status, answer), err
		}
	case "nethttp":
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}}
		send = func(_ int, body []byte) (bool, error) { return post(client, *url, body) }
	default:
		return fmt.Errorf("-client %q: use raw or nethttp", *clientKind)
	}

	total := max(1, int(*perSecond*duration.Seconds()))
	due := make(chan time.Time, total) // never blocks the pacer: lateness is measured, not hidden
	lat := make([][]time.Duration, *conns)
	var bad, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range *conns {
		wg.Go(func() {
			var n uint64
			var buf []byte
			for at := range due {
				buf = t.AppendBody(buf[:0], c.batch, uint64(w), &n)
				ok, err := send(w, buf)
				lat[w] = append(lat[w], time.Since(at))
				switch {
				case err != nil:
					failed.Add(1)
				case !ok:
					bad.Add(1)
				}
			}
		})
	}
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(float64(i) / *perSecond * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	// One line for the script to parse, in wrk's units (microseconds).
	fmt.Printf("RESULT requests=%d seconds=%.3f bad=%d failed=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f\n",
		len(all), elapsed.Seconds(), bad.Load(), failed.Load(), pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
	return nil
}

// post sends one body; ok is false when the answer is not 200 with every event
// accepted.
func post(client *http.Client, url string, body []byte) (ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	return accepted(resp.StatusCode, answer), nil
}

// accepted reports whether an answer is 200 with every event accepted.
func accepted(status int, answer []byte) bool {
	return status == http.StatusOK && bytes.Contains(answer, []byte(`"rejected":0`))
}
