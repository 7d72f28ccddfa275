package segment

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/accord-dev/accord/internal/vault"
)

// registryDir is the test registry: a contract per reserved name, several versions
// of Order Completed, a retired contract and an ambiguous name.
const registryDir = "testdata/contracts"

func loadSnapshot(t testing.TB) *contract.Snapshot {
	t.Helper()
	snap, err := contract.LoadSnapshot(registryDir)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// staticContracts serves one snapshot, as the registry does between reloads.
type staticContracts struct{ snap *contract.Snapshot }

func (s staticContracts) Snapshot() *contract.Snapshot { return s.snap }

// scrubber fits scrub.Scrubber to collect.Scrubber the way the app does.
type scrubber struct{ s *scrub.Scrubber }

func (a scrubber) Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error) {
	applied, err := a.s.Scrub(ctx, c, data)
	if err != nil {
		return nil, nil, err
	}
	return data, applied, nil
}

func (a scrubber) Seal(ctx context.Context, c *contract.Contract, data any) (any, []string, []string) {
	sealed, redacted, err := a.s.Seal(ctx, c, data)
	if err != nil {
		return "<withheld>", nil, []string{""}
	}
	return data, sealed, redacted
}

// harness is a collector with the real pipeline, buffer, fast validator,
// scrubber and vault, serving the Segment routes on 127.0.0.1.
type harness struct {
	t       testing.TB
	buf     *buffer.Disk
	snap    *contract.Snapshot
	srv     *httptest.Server
	handler *Handler
}

func newHarness(t testing.TB, access collect.Access) *harness {
	t.Helper()
	return newHarnessLimits(t, access, collect.DefaultLimits)
}

// newHarnessLimits is newHarness with the pipeline's limits lim.
func newHarnessLimits(t testing.TB, access collect.Access, lim collect.Limits) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	buf, err := buffer.Open(dir+"/buffer", buffer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := buf.Close(); err != nil {
			t.Error(err)
		}
	})
	v, err := vault.Open(ctx, vault.Config{}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := scrub.New(scrub.Config{HashSecret: strings.Repeat("segment-test-secret!", 2)}, scrub.Deps{Tokenizer: v})
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	snap := loadSnapshot(t)
	p, err := collect.NewPipeline(collect.Deps{
		Contracts: staticContracts{snap}, Validator: collect.NewFastValidator(), Scrubber: scrubber{s},
		Buffer: buf, Metrics: metrics, Instance: "test-collector", Limits: lim,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	handler := New(p, access, "")
	handler.Routes(mux)
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &harness{t: t, buf: buf, snap: snap, srv: srv, handler: handler}
}

// post sends body to path with key as Basic auth username ("" sends no auth) and
// returns the status and the decoded answer.
func (h *harness) post(path, key, body string) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, map[string]any) {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("answer %d is not JSON: %v: %s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

// records reads exactly n records from the buffer, failing if they do not
// arrive, and returns the raw records with their decoded forms.
func (h *harness) records(n int) ([][]byte, []*event.Envelope, []*event.BadRow) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var raws [][]byte
	for len(raws) < n {
		b, err := h.buf.Read(ctx, buffer.DefaultConsumer, n-len(raws))
		if err != nil {
			h.t.Fatalf("reading the buffer after %d of %d records: %v", len(raws), n, err)
		}
		raws = append(raws, b.Records...)
		if err := h.buf.Ack(ctx, b); err != nil {
			h.t.Fatal(err)
		}
	}
	st, err := h.buf.Stats()
	if err != nil {
		h.t.Fatal(err)
	}
	if st.Records != 0 {
		h.t.Fatalf("the buffer holds %d more records than the %d expected", st.Records, n)
	}
	var envs []*event.Envelope
	var bad []*event.BadRow
	for _, r := range raws {
		env, row, err := event.DecodeRecord(r)
		if err != nil {
			h.t.Fatalf("decoding a buffer record: %v", err)
		}
		if env != nil {
			envs = append(envs, env)
		}
		if row != nil {
			bad = append(bad, row)
		}
	}
	return raws, envs, bad
}

// assertEmpty checks that nothing was appended to the buffer.
func (h *harness) assertEmpty() {
	h.t.Helper()
	st, err := h.buf.Stats()
	if err != nil {
		h.t.Fatal(err)
	}
	if st.Records != 0 {
		h.t.Fatalf("the buffer holds %d records, want none", st.Records)
	}
}

// containsAny reports which of the secrets appear in any record.
func containsAny(raws [][]byte, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		for _, r := range raws {
			if bytes.Contains(r, []byte(s)) {
				found = append(found, s)
				break
			}
		}
	}
	return found
}
