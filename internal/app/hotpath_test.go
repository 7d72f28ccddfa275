package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/registry"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// rig is the collector's pipeline on the real registry, embedded vault, scrubber
// and disk buffer, in every validation path, all sharing one vault and scrubber
// (so tokens and hashes agree) and one buffer.
type rig struct {
	buf   *buffer.Disk
	paths map[string]*collect.Pipeline
	waits func() uint64 // the vault's StoreWrites
	// metrics of the byte path, the one that spreads requests of new buyers
	metrics *collect.Metrics
}

// The validation paths of the collector.
const (
	pathBytes     = "bytes"     // validator fast: validated and scrubbed on the bytes
	pathDecoded   = "decoded"   // validator fast, decoded, scrubbed as a tree, encoded (before the byte path)
	pathReference = "reference" // validator reference: santhosh's tree
	pathRedact    = "redact"    // the byte path with bad rows redacted, not sealed (no vault to seal with)
)

// mapOnly hides the byte path of a scrubber: the collector as it was before.
type mapOnly struct{ s collect.Scrubber }

func (m mapOnly) Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error) {
	return m.s.Scrub(ctx, c, data)
}

func (m mapOnly) Seal(ctx context.Context, c *contract.Contract, data any) (any, []string, []string) {
	return m.s.Seal(ctx, c, data)
}

var _ collect.SpanScrubber = scrubAdapter{}

func newRig(tb testing.TB, registryDir string) *rig {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := Default()
	cfg.Registry, cfg.Data = registryDir, tb.TempDir()
	reg, err := registry.New(registry.Config{Dir: registryDir}, log)
	if err != nil {
		tb.Fatal(err)
	}
	priv, err := openPrivacy(ctx, cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := priv.close(ctx); err != nil {
			tb.Error(err)
		}
	})
	buf, err := buffer.Open(filepath.Join(cfg.Data, "buffer"), buffer.Options{MaxBytes: 8 << 30, Consumers: []string{"test"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := buf.Close(); err != nil {
			tb.Error(err)
		}
	})
	r := &rig{buf: buf, paths: map[string]*collect.Pipeline{}, waits: priv.vault.StoreWrites}
	for _, path := range []string{pathBytes, pathDecoded, pathReference, pathRedact} {
		var v collect.Validator = collect.NewFastValidator()
		var s collect.Scrubber = priv.scrubber
		switch path {
		case pathDecoded:
			s = mapOnly{priv.scrubber}
		case pathRedact:
			// A scrubber without a sealer: bad rows redacted, on their bytes.
			s = scrubAdapter{noSealer(tb, cfg, priv)}
		case pathReference:
			v = collect.ReferenceValidator{}
		}
		m, err := collect.NewMetrics(prometheus.NewRegistry())
		if err != nil {
			tb.Fatal(err)
		}
		deps := collect.Deps{Contracts: reg, Validator: v, Scrubber: s, Buffer: buf,
			Metrics: m, Log: log, Instance: "test", Limits: cfg.Limits}
		if path == pathBytes {
			deps.StoreWrites = priv.vault.StoreWrites // as accord serve wires it
			r.metrics = m
		}
		p, err := collect.NewPipeline(deps)
		if err != nil {
			tb.Fatal(err)
		}
		r.paths[path] = p
	}
	return r
}

// process runs one event through a path and returns its result and record.
func (r *rig) process(tb testing.TB, path string, in collect.Incoming) (collect.Result, *event.Envelope, *event.BadRow) {
	tb.Helper()
	ctx := context.Background()
	res, err := r.paths[path].Process(ctx, "native", []collect.Incoming{in}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	env, row, err := event.DecodeRecord(r.records(tb, 1)[0])
	if err != nil {
		tb.Fatal(err)
	}
	return res[0], env, row
}

// records reads the next n records from the buffer and acknowledges them.
func (r *rig) records(tb testing.TB, n int) [][]byte {
	tb.Helper()
	ctx := context.Background()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var recs [][]byte
	for len(recs) < n {
		b, err := r.buf.Read(rctx, "test", n-len(recs))
		if err != nil {
			tb.Fatal(err)
		}
		for _, rec := range b.Records {
			if !utf8.Valid(rec) {
				tb.Errorf("a stored record is not valid UTF-8: %q", rec)
			}
		}
		recs = append(recs, b.Records...)
		if err := r.buf.Ack(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	return recs
}

const examplesRegistry = "../../examples/contracts"

// plantedValue returns the first planted personal value (as e2e_test.go plants
// them) found in b.
func plantedValue(b []byte) string {
	for _, p := range []string{"planted.person.7f3a@example.com", "planted.person.7f3a\\u0040example.com", "81.2.69.142",
		"+447700900123", "Plantedname Surname", "planted delivery note 9c1e", "51.507351", "c_plantedsubject"} {
		if bytes.Contains(b, []byte(p)) {
			return p
		}
	}
	return ""
}

// hotEvent is one event for the path comparison.
type hotEvent struct {
	name, schema, data string
	contexts           []event.Entity
	eventID            string
	accepted           bool
}

// The example contracts' events: valid ones as sent, with escapes, whitespace
// and nulls, and ones that the byte path hands to the decoded path (repeated
// keys) or rejects (invalid UTF-8, invalid, malformed, contexts).
var hotEvents = []hotEvent{
	{name: "checkout", schema: "iglu:com.acme/checkout_completed/jsonschema/1-0-0", accepted: true,
		data: `{"event_id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","shop_id":"shop_1042","timestamp":"2026-11-01T12:34:56.789Z","user_id":"u_8f3a2c91","email":"planted.person.7f3a@example.com","ip":"81.2.69.142","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)","platform":"ios","app_version":"5.12.3","session_number":42,"order_total_cents":12999,"currency":"EUR","is_first_purchase":false,"coupon_code":null,"device":{"os":"iOS","os_version":"17.4.1","model":"iPhone15,2","locale":"de-DE"},"items":[{"sku":"SKU-10023","quantity":2,"price_cents":4999,"category":"shoes"}]}`},
	{name: "checkout escaped and spaced", schema: "iglu:com.acme/checkout_completed/jsonschema/1-0-0", accepted: true,
		data: "{ \"event_id\" : \"7a1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2b\",\n \"shop_id\":\"shop_\\u0037\", \"timestamp\":\"2026-11-01T12:34:56Z\",\"user_id\":\"u_1\",\"platform\":\"web\",\"session_number\":1,\"order_total_cents\":0,\"currency\":\"GBP\",\"coupon_code\":\"<b>&\",\"device\":{\"os\":\"Windows\"},\"items\":[{\"sku\":\"SKU-00001\",\"quantity\":1,\"price_cents\":0}],\"email\":\"planted.person.7f3a\\u0040example.com\",\"ip\":\"81.2.69.142\" }"},
	{name: "checkout producer id", schema: "iglu:com.acme/checkout_completed/jsonschema/1-0-0", accepted: true, eventID: "producer-id-1",
		data: `{"event_id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","shop_id":"shop_1042","timestamp":"2026-11-01T12:34:56.789Z","user_id":"u_8f3a2c91","platform":"ios","session_number":42,"order_total_cents":12999,"currency":"EUR","device":{"os":"iOS"},"items":[{"sku":"SKU-10023","quantity":2,"price_cents":4999}]}`},
	{name: "delivery", schema: "iglu:com.acme/delivery_address_updated/jsonschema/1-0-0", accepted: true,
		data: `{"shop_id":"shop_1042","customer_id":"c_plantedsubject","order_id":"o_123","phone":"+447700900123","recipient_name":"Plantedname Surname","delivery_note":"planted delivery note 9c1e","postal_code":"SW1A 1AA","country":"GB","location":{"latitude":51.507351,"longitude":-0.12776,"accuracy_m":12.5},"updated_at":"2026-11-01T12:34:56Z"}`},
	{name: "page view", schema: "iglu:com.acme/page_view/jsonschema/1-0-0", accepted: true,
		data: `{"shop_id":"shop_1042","anonymous_id":"a1b2c3d4-e5f6","url":"https://shop.example/products/runner?utm_source=newsletter&email=planted.person.7f3a%40example.com#reviews","referrer":null,"title":"Runner","page_type":"product","viewed_at":"2026-11-01T12:34:56Z","viewport":{"width":390,"height":844},"ip":"2a02:8108:1140:5e00:1c2d:3e4f:5a6b:7c8d","user_agent":"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"}`},
	{name: "search", schema: "iglu:com.acme/search/jsonschema/1-0-0", accepted: true,
		data: `{"shop_id":"shop_1042","anonymous_id":"a1b2c3d4","query":"Plantedname Surname 12 high street","result_count":3,"filters":[{"facet":"size","value":"42"},{"facet":"color","value":"red"}],"sort":"price_asc","latency_ms":12.7}`},
	{name: "signup with context", schema: "iglu:com.acme/signup/jsonschema/1-0-0", accepted: true,
		data: `{"shop_id":"shop_1042","email":"planted.person.7f3a@example.com","ip":"81.2.69.142","marketing_opt_in":true}`,
		contexts: []event.Entity{{Schema: "iglu:com.acme/page_view/jsonschema/1-0-0",
			Data: json.RawMessage(`{"shop_id":"shop_1","anonymous_id":"x","url":"https://shop.example/?email=planted.person.7f3a@example.com","viewed_at":"2026-11-01T12:34:56Z","ip":"81.2.69.142"}`)}}},
	// The first email would survive a rewrite of the last one: the decoded path.
	{name: "repeated key", schema: "iglu:com.acme/signup/jsonschema/1-0-0", accepted: true,
		data: `{"shop_id":"shop_1042","email":"planted.person.7f3a@example.com","email":"bob@example.org"}`},
	{name: "invalid utf-8", schema: "iglu:com.acme/page_view/jsonschema/1-0-0",
		data: "{\"shop_id\":\"shop_1\",\"anonymous_id\":\"x\",\"url\":\"https://shop.example/\",\"title\":\"Run\xffner\",\"viewed_at\":\"2026-11-01T12:34:56Z\",\"ip\":\"81.2.69.142\"}"},
	{name: "invalid utf-8 in a context", schema: "iglu:com.acme/signup/jsonschema/1-0-0",
		data: `{"shop_id":"shop_1042","email":"planted.person.7f3a@example.com","ip":"81.2.69.142","marketing_opt_in":true}`,
		contexts: []event.Entity{{Schema: "iglu:com.acme/page_view/jsonschema/1-0-0",
			Data: json.RawMessage("{\"shop_id\":\"shop_1\",\"anonymous_id\":\"x\",\"url\":\"https://shop.example/?email=planted.person.7f3a@example.com\",\"title\":\"\xc3\",\"viewed_at\":\"2026-11-01T12:34:56Z\",\"ip\":\"81.2.69.142\"}")}}},
	{name: "invalid", schema: "iglu:com.acme/signup/jsonschema/1-0-0",
		data: `{"shop_id":42,"email":"planted.person.7f3a@example.com","ip":"81.2.69.142"}`},
	{name: "malformed", schema: "iglu:com.acme/signup/jsonschema/1-0-0",
		data: `{"shop_id":"shop_1","email":"planted.person.7f3a@example.com",`},
	{name: "bad context", schema: "iglu:com.acme/signup/jsonschema/1-0-0",
		data:     `{"shop_id":"shop_1042","email":"planted.person.7f3a@example.com"}`,
		contexts: []event.Entity{{Schema: "iglu:com.acme/page_view/jsonschema/1-0-0", Data: json.RawMessage(`{"ip":"81.2.69.142"}`)}}},
}

// TestBytePathMatchesDecodedPaths sends each event through the byte path, the
// decoded path and the reference validator: the stored envelopes (or bad rows)
// are the same but for ids and clocks, and none holds a planted value.
func TestBytePathMatchesDecodedPaths(t *testing.T) {
	r := newRig(t, examplesRegistry)
	for _, ev := range hotEvents {
		t.Run(ev.name, func(t *testing.T) {
			in := collect.Incoming{Schema: ev.schema, Data: json.RawMessage(ev.data), Contexts: ev.contexts, EventID: ev.eventID}
			type out struct {
				res collect.Result
				env *event.Envelope
				row *event.BadRow
			}
			outs := map[string]out{}
			for _, path := range []string{pathBytes, pathDecoded, pathReference} {
				res, env, row := r.process(t, path, in)
				if res.Accepted() != ev.accepted || (env != nil) != ev.accepted {
					t.Fatalf("%s: accepted %v, want %v (%+v)", path, res.Accepted(), ev.accepted, res)
				}
				rec, err := json.Marshal(struct {
					E *event.Envelope
					B *event.BadRow
				}{env, row})
				if err != nil {
					t.Fatal(err)
				}
				// A malformed payload whose contract has personal data is not kept.
				if p := plantedValue(rec); p != "" {
					t.Errorf("%s: the record holds planted PII %q: %s", path, p, rec)
				}
				if env != nil {
					// The envelope embeds data as is: it must be compact JSON.
					var compact bytes.Buffer
					if err := json.Compact(&compact, env.Data); err != nil || !bytes.Equal(compact.Bytes(), env.Data) {
						t.Errorf("%s: data is not compact JSON (%v): %q", path, err, env.Data)
					}
				}
				outs[path] = out{res, env, row}
			}
			want := outs[pathDecoded]
			for _, path := range []string{pathBytes, pathReference} {
				got := outs[path]
				if !strings.Contains(ev.data, `"event_id"`) && ev.eventID == "" {
					got.res.EventID = want.res.EventID // a fresh id on each path
				}
				if diff := cmp.Diff(want.res, got.res); diff != "" {
					t.Errorf("%s: result (-decoded +%s):\n%s", path, path, diff)
				}
				if want.env != nil {
					if want.env.EventID != got.env.EventID && (ev.eventID != "" || strings.Contains(ev.data, `"event_id"`)) {
						t.Errorf("%s: event id %s, want %s", path, got.env.EventID, want.env.EventID)
					}
					if diff := cmp.Diff(envelopeView(t, want.env), envelopeView(t, got.env)); diff != "" {
						t.Errorf("%s: envelope (-decoded +%s):\n%s", path, path, diff)
					}
				}
				if want.row != nil {
					w, g := *want.row, *got.row
					w.ID, g.ID, w.ReceivedAt, g.ReceivedAt = "", "", time.Time{}, time.Time{}
					if w.EventID != g.EventID && strings.Contains(ev.data, `"event_id"`) {
						t.Errorf("%s: bad row event id %s, want %s", path, g.EventID, w.EventID)
					}
					w.EventID, g.EventID = "", ""
					// The byte path keeps the payload's members in the order they
					// were sent; the decoded path writes them sorted.
					w.Payload, g.Payload = normalJSON(t, w.Payload), normalJSON(t, g.Payload)
					if diff := cmp.Diff(w, g); diff != "" {
						t.Errorf("%s: bad row (-decoded +%s):\n%s", path, path, diff)
					}
				}
			}
		})
	}
}

// TestBatchMatchesSingles sends every hot event in one request, twice (the
// second time with every buyer's key cached, so that one worker processes the
// events one after the other with the same buffers), and checks that each
// stored envelope or bad row is the one the event gets when sent alone: nothing
// of one event's envelope (contexts, scrubbed fields, data) is carried over to
// the next.
func TestBatchMatchesSingles(t *testing.T) {
	r := newRig(t, examplesRegistry)
	ctx := context.Background()
	for _, path := range []string{pathBytes, pathDecoded} {
		t.Run(path, func(t *testing.T) {
			var evs []collect.Incoming
			for _, ev := range append(append([]hotEvent{}, hotEvents...), hotEvents...) {
				evs = append(evs, collect.Incoming{Schema: ev.schema, Data: json.RawMessage(ev.data), Contexts: ev.contexts, EventID: ev.eventID})
			}
			var recs [][]byte
			for round := range 2 {
				spread := r.metrics.SpreadRequests()
				if _, err := r.paths[path].Process(ctx, "native", evs, nil); err != nil {
					t.Fatal(err)
				}
				if round == 1 && r.metrics.SpreadRequests() != spread {
					t.Fatal("the second request was spread over workers: its buyers' keys were not cached")
				}
				recs = r.records(t, len(evs))
			}
			for i, rec := range recs {
				env, row, err := event.DecodeRecord(rec)
				if err != nil {
					t.Fatal(err)
				}
				_, wantEnv, wantRow := r.process(t, path, evs[i])
				switch {
				case (env == nil) != (wantEnv == nil):
					t.Fatalf("event %d (%s): accepted %v in the batch, %v alone", i, hotEvents[i%len(hotEvents)].name, env != nil, wantEnv != nil)
				case env != nil:
					if diff := cmp.Diff(envelopeView(t, wantEnv), envelopeView(t, env)); diff != "" {
						t.Errorf("event %d (%s): envelope (-alone +batch):\n%s", i, hotEvents[i%len(hotEvents)].name, diff)
					}
				default:
					if row.Reason != wantRow.Reason || !cmp.Equal(row.Failures, wantRow.Failures) {
						t.Errorf("event %d (%s): bad row %s %v, alone %s %v", i, hotEvents[i%len(hotEvents)].name, row.Reason, row.Failures, wantRow.Reason, wantRow.Failures)
					}
				}
			}
		})
	}
}

// TestReleaseBeforeDurableWait: Process hands the request's bytes back (release)
// before it waits for the durable append, and the records it appends are its
// own: every event's data and contexts are slices of one request body, which
// release overwrites, and each stored envelope or bad row must still be the one
// the event gets alone.
func TestReleaseBeforeDurableWait(t *testing.T) {
	r := newRig(t, examplesRegistry)
	ctx := context.Background()
	for _, path := range []string{pathBytes, pathDecoded, pathReference} {
		t.Run(path, func(t *testing.T) {
			var body []byte
			type span struct{ start, end int }
			var data []span
			var ctxs [][]span
			for _, ev := range hotEvents {
				data = append(data, span{len(body), len(body) + len(ev.data)})
				body = append(body, ev.data...)
				var cs []span
				for _, c := range ev.contexts {
					cs = append(cs, span{len(body), len(body) + len(c.Data)})
					body = append(body, c.Data...)
				}
				ctxs = append(ctxs, cs)
			}
			evs := make([]collect.Incoming, len(hotEvents))
			for i, ev := range hotEvents {
				evs[i] = collect.Incoming{Schema: ev.schema, Data: body[data[i].start:data[i].end:data[i].end], EventID: ev.eventID}
				for k, c := range ev.contexts {
					evs[i].Contexts = append(evs[i].Contexts, event.Entity{Schema: c.Schema, Data: body[ctxs[i][k].start:ctxs[i][k].end:ctxs[i][k].end]})
				}
			}
			st, err := r.buf.Stats()
			if err != nil {
				t.Fatal(err)
			}
			releases := 0
			res, err := r.paths[path].Process(ctx, "native", evs, func() {
				releases++
				now, err := r.buf.Stats()
				if err != nil {
					t.Error(err)
				} else if now.Appended != st.Appended {
					t.Errorf("release came after %d records were appended: the request's bytes were held through the durable wait", now.Appended-st.Appended)
				}
				for i := range body {
					body[i] = 'x'
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if releases != 1 {
				t.Fatalf("release was called %d times, want once", releases)
			}
			recs := r.records(t, len(evs))
			for i, rec := range recs {
				ev := hotEvents[i]
				if res[i].Accepted() != ev.accepted {
					t.Errorf("%s: accepted %v, want %v", ev.name, res[i].Accepted(), ev.accepted)
				}
				env, row, err := event.DecodeRecord(rec)
				if err != nil {
					t.Fatalf("%s: %v", ev.name, err)
				}
				_, wantEnv, wantRow := r.process(t, path, collect.Incoming{Schema: ev.schema, Data: json.RawMessage(ev.data), Contexts: ev.contexts, EventID: ev.eventID})
				switch {
				case (env == nil) != (wantEnv == nil):
					t.Fatalf("%s: accepted %v after release, %v alone", ev.name, env != nil, wantEnv != nil)
				case env != nil:
					if diff := cmp.Diff(envelopeView(t, wantEnv), envelopeView(t, env)); diff != "" {
						t.Errorf("%s: envelope (-alone +released):\n%s", ev.name, diff)
					}
				default:
					if row.Reason != wantRow.Reason || !cmp.Equal(row.Failures, wantRow.Failures) || !bytes.Equal(row.Payload, wantRow.Payload) {
						t.Errorf("%s: bad row %s %v %s, alone %s %v %s", ev.name, row.Reason, row.Failures, row.Payload, wantRow.Reason, wantRow.Failures, wantRow.Payload)
					}
				}
			}
		})
	}
}

// envelopeView is what must agree between paths: data and contexts decoded, the
// summary, the schema; not ids, clocks or the validator's name.
func envelopeView(tb testing.TB, e *event.Envelope) map[string]any {
	tb.Helper()
	dec := func(raw json.RawMessage) any {
		v, err := contract.DecodeJSON(raw)
		if err != nil {
			tb.Fatalf("decoding %s: %v", raw, err)
		}
		return v
	}
	ctxs := make([]any, len(e.Contexts))
	for i, c := range e.Contexts {
		ctxs[i] = map[string]any{"schema": c.Schema, "data": dec(c.Data)}
	}
	return map[string]any{"schema": e.Schema, "data": dec(e.Data), "contexts": ctxs, "scrubbed": e.Scrubbed, "source": e.Source}
}

// TestBytePathTaken checks which events take the byte path (a regression to
// the decoded path would still pass the comparison above). The byte path keeps
// the producer's member order, the decoded path sorts keys when it encodes.
func TestBytePathTaken(t *testing.T) {
	r := newRig(t, examplesRegistry)
	for _, ev := range hotEvents {
		if !ev.accepted {
			continue
		}
		t.Run(ev.name, func(t *testing.T) {
			in := collect.Incoming{Schema: ev.schema, Data: json.RawMessage(ev.data), Contexts: ev.contexts, EventID: ev.eventID}
			res, env, _ := r.process(t, pathBytes, in)
			if env == nil {
				t.Fatalf("rejected: %+v", res)
			}
			first := firstKey(t, env.Data)
			wantBytes := ev.name != "repeated key"
			sent := firstKey(t, []byte(ev.data))
			if wantBytes && first != sent {
				t.Errorf("stored data starts with %q, sent with %q: the event was re-encoded", first, sent)
			}
			if !wantBytes && first == sent {
				t.Errorf("stored data starts with %q as sent: the event was not re-encoded", first)
			}
		})
	}
}

// firstKey returns the first member name of a JSON object.
func firstKey(tb testing.TB, b []byte) string {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		tb.Fatal(err)
	}
	tok, err := dec.Token()
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprint(tok)
}

// TestNewBuyersSpread sends batches whose buyers the vault has never seen, so
// that Process spreads them over workers: every result stays with its event,
// the records keep the request's order, and a buyer's token is the same
// wherever in the batch (or in which batch) the buyer appears.
func TestNewBuyersSpread(t *testing.T) {
	r := newRig(t, examplesRegistry)
	ctx := context.Background()
	const n = 64
	tokens := map[string]string{} // email -> token, across batches
	for batch := range 3 {
		evs := make([]collect.Incoming, n)
		for i := range evs {
			email := fmt.Sprintf("buyer%d@example.com", batch*n/2+i) // half the buyers are the last batch's
			shop := `"shop_1042"`
			if i%9 == 4 {
				shop = `42` // invalid: a bad row in the middle
			}
			evs[i] = collect.Incoming{Schema: "iglu:com.acme/signup/jsonschema/1-0-0", EventID: fmt.Sprintf("b%d-e%02d", batch, i),
				Data: []byte(fmt.Sprintf(`{"shop_id":%s,"email":%q,"ip":"81.2.69.142"}`, shop, email))}
		}
		before := r.waits()
		res, err := r.paths[pathBytes].Process(ctx, "native", evs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if grew := r.waits() - before; grew < n/2 {
			t.Fatalf("batch %d: the vault's store was asked %d times for %d new buyers", batch, grew, n/2)
		}
		if got := r.metrics.SpreadRequests(); got != float64(batch+1) {
			t.Fatalf("after batch %d, %v requests were spread over workers, want %d", batch, got, batch+1)
		}
		recs := r.records(t, n)
		for i, rec := range recs {
			env, row, err := event.DecodeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			invalid := i%9 == 4
			if res[i].EventID != evs[i].EventID || res[i].Accepted() == invalid {
				t.Fatalf("batch %d, event %d: result %+v for event %s (invalid: %v)", batch, i, res[i], evs[i].EventID, invalid)
			}
			if invalid {
				if row == nil || row.EventID != evs[i].EventID {
					t.Fatalf("batch %d, record %d: want the bad row of %s, got %s", batch, i, evs[i].EventID, rec)
				}
				continue
			}
			if env == nil || env.EventID != evs[i].EventID {
				t.Fatalf("batch %d, record %d: want the envelope of %s, got %s", batch, i, evs[i].EventID, rec)
			}
			var data struct{ Email string }
			if err := json.Unmarshal(env.Data, &data); err != nil {
				t.Fatal(err)
			}
			email := fmt.Sprintf("buyer%d@example.com", batch*n/2+i)
			if tok, seen := tokens[email]; seen && tok != data.Email {
				t.Fatalf("%s got token %s, and %s before", email, data.Email, tok)
			}
			if !strings.HasPrefix(data.Email, "tok_") {
				t.Fatalf("%s stored as %q", email, data.Email)
			}
			tokens[email] = data.Email
		}
	}
}

// normalJSON is raw decoded and encoded again: members sorted, same spacing.
func normalJSON(tb testing.TB, raw json.RawMessage) json.RawMessage {
	tb.Helper()
	if len(raw) == 0 {
		return raw
	}
	v, err := contract.DecodeJSON(raw)
	if err != nil {
		tb.Fatalf("not JSON: %s", raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// noSealer is the privacy's scrubber without a sealer: it redacts bad rows.
func noSealer(tb testing.TB, cfg Config, priv *privacy) *scrub.Scrubber {
	tb.Helper()
	secret, err := scrub.EnsureHashSecretFile(cfg.Data)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := scrub.New(scrub.Config{HashSecretFile: secret}, scrub.Deps{Tokenizer: priv.vault})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
