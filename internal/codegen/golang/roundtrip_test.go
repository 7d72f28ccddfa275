package golang_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/golang/internal/acmeevents"
	"github.com/accord-dev/accord/internal/collect"
)

func newCollector(t *testing.T) (*codegentest.Collector, *httptest.Server) {
	t.Helper()
	c, url := codegentest.NewCollector(t, codegentest.Snapshot(t, "../testdata/examples/contracts"))
	return c, &httptest.Server{URL: url}
}

func examples() []acmeevents.Event {
	ts := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	return []acmeevents.Event{
		acmeevents.Signup{ShopID: "shop_1", Email: "a@example.com", MarketingOptIn: acmeevents.Ptr(true),
			ReferrerChannel: acmeevents.Ptr(acmeevents.SignupReferrerChannelPaidSearch)},
		acmeevents.Signup{ShopID: "shop_2", Email: "b@example.com"},
		acmeevents.CheckoutCompleted{
			EventID: "0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10", ShopID: "shop_1", Timestamp: ts, UserID: "u_abc",
			Email: acmeevents.Ptr("a@example.com"), IP: acmeevents.Ptr("81.2.69.160"),
			Platform: acmeevents.CheckoutCompletedPlatformWeb, SessionNumber: 3, OrderTotalCents: 12900,
			Currency: acmeevents.CheckoutCompletedCurrencyEur, CouponCode: nil,
			Device: acmeevents.CheckoutCompletedDevice{OS: acmeevents.CheckoutCompletedDeviceOSMacOS, Locale: acmeevents.Ptr("en-GB")},
			Items: []acmeevents.CheckoutCompletedItemsItem{
				{Sku: "SKU-00001", Quantity: 1, PriceCents: 12900, Category: acmeevents.Ptr(acmeevents.CheckoutCompletedItemsItemCategoryShoes)},
			},
		},
		acmeevents.PageView{ShopID: "shop_1", AnonymousID: "anon-1", URL: "https://shop.example/p/1", ViewedAt: ts,
			Viewport: &acmeevents.PageViewViewport{Width: 1280, Height: 720}, PageType: acmeevents.Ptr(acmeevents.PageViewPageTypeProduct)},
		acmeevents.Search{ShopID: "shop_1", AnonymousID: "anon-1", Query: "red shoes", ResultCount: 12,
			Filters: []acmeevents.SearchFiltersItem{{Facet: acmeevents.SearchFiltersItemFacetColor, Value: "red"}},
			Sort:    acmeevents.Ptr(acmeevents.SearchSortPriceAsc)},
		acmeevents.DeliveryAddressUpdated{ShopID: "shop_1", CustomerID: "c_abc", OrderID: "o_1", Phone: "+447700900123",
			Location: acmeevents.DeliveryAddressUpdatedLocation{Latitude: 51.5, Longitude: -0.12}, UpdatedAt: ts},
	}
}

// TestRoundTrip sends events of every contract through the generated client to a
// collector on 127.0.0.1 that validates them against the registry.
func TestRoundTrip(t *testing.T) {
	col, srv := newCollector(t)
	var drops atomic.Int64
	client, err := acmeevents.New(acmeevents.Config{Endpoint: srv.URL, BatchSize: 4, FlushInterval: 20 * time.Millisecond,
		OnDrop: func(acmeevents.Drop) { drops.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	events := examples()
	const rounds = 5
	for range rounds {
		for _, e := range events {
			if err := client.Track(e); err != nil {
				t.Fatalf("Track(%s): %v", e.SchemaURI(), err)
			}
		}
	}
	if err := client.TrackSignup(acmeevents.Signup{ShopID: "shop_3", Email: "c@example.com"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := uint64(rounds*len(events) + 1)
	st := client.Stats()
	if st.Sent != want || st.Queued != want || st.Dropped+st.Failed+st.Rejected+st.Invalid != 0 || drops.Load() != 0 {
		t.Errorf("stats %+v, want %d sent and nothing lost", st, want)
	}
	if total := col.Total(); uint64(total) != want {
		t.Errorf("collector accepted %d valid events, want %d: %v", total, want, col.Valid())
	}
	if len(col.Valid()) != 5 || col.Gzipped() == 0 {
		t.Errorf("events of %d contracts arrived (%d requests gzipped), want 5 and gzip: %v", len(col.Valid()), col.Gzipped(), col.Valid())
	}
	if err := client.Track(events[0]); !errors.Is(err, acmeevents.ErrClosed) {
		t.Errorf("Track after Close: %v, want ErrClosed", err)
	}
}

// TestValidate checks the client-side checks that Go's types cannot express.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		event    acmeevents.Event
		pointers []string
	}{
		{"valid", examples()[2], nil},
		{"unknown enum", acmeevents.Signup{ShopID: "s", Email: "e", ReferrerChannel: acmeevents.Ptr(acmeevents.SignupReferrerChannel("tv"))}, []string{"/referrer_channel"}},
		{"zero enum is missing", acmeevents.CheckoutCompleted{Timestamp: time.Now(), Items: []acmeevents.CheckoutCompletedItemsItem{}, Device: acmeevents.CheckoutCompletedDevice{OS: "iOS"}}, []string{"/platform", "/currency"}},
		{"required slice and time", acmeevents.CheckoutCompleted{Platform: "web", Currency: "EUR", Device: acmeevents.CheckoutCompletedDevice{OS: "iOS"}}, []string{"/timestamp", "/items"}},
		{"nested enum in array", acmeevents.Search{Filters: []acmeevents.SearchFiltersItem{{Facet: "colour"}}}, []string{"/filters/0/facet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.event.Validate()
			var got []string
			var ve *acmeevents.ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					got = append(got, p.Pointer)
				}
			} else if err != nil {
				t.Fatalf("Validate: %v, want a *ValidationError", err)
			}
			if len(got) != len(tc.pointers) {
				t.Fatalf("problems at %v, want %v (%v)", got, tc.pointers, err)
			}
			for i := range got {
				if got[i] != tc.pointers[i] {
					t.Fatalf("problems at %v, want %v", got, tc.pointers)
				}
			}
		})
	}
}

// TestNeverBlocks fills the queue of a client whose collector hangs: Track returns
// ErrQueueFull at once, and the drops are counted and reported.
func TestNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	var reported atomic.Int64
	client, err := acmeevents.New(acmeevents.Config{Endpoint: srv.URL, QueueSize: 3, BatchSize: 1, FlushInterval: time.Millisecond,
		OnDrop: func(d acmeevents.Drop) {
			if d.Reason == acmeevents.DropQueueFull && d.Event != nil && errors.Is(d.Err, acmeevents.ErrQueueFull) {
				reported.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	full := 0
	for range 50 {
		if err := client.Track(examples()[1]); errors.Is(err, acmeevents.ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full == 0 || client.Stats().Dropped != uint64(full) || reported.Load() != int64(full) {
		t.Errorf("%d ErrQueueFull, stats %+v, %d reported: want them equal and non-zero", full, client.Stats(), reported.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := client.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a hung collector: %v, want DeadlineExceeded", err)
	}
	st := client.Stats()
	if st.Queued != st.Failed+st.Sent {
		t.Errorf("stats %+v: every queued event must end sent or failed after Close", st)
	}
}

// TestRetries checks that 503s are retried and a request refused whole (401) is
// not: its event is rejected, with the collector's reason and message.
func TestRetries(t *testing.T) {
	col, srv := newCollector(t)
	col.Refuse = func(n int64) *collect.RequestError {
		if n <= 2 {
			return &collect.RequestError{Status: http.StatusServiceUnavailable, Reason: "collector_busy", Msg: "busy"}
		}
		return nil
	}
	client, err := acmeevents.New(acmeevents.Config{Endpoint: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Track(examples()[0]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := client.Stats(); st.Sent != 1 || st.Retries != 2 {
		t.Errorf("stats %+v, want 1 sent after 2 retries", st)
	}

	col2, srv2 := newCollector(t)
	col2.Refuse = func(int64) *collect.RequestError {
		return &collect.RequestError{Status: http.StatusUnauthorized, Reason: "unauthorized", Msg: "a valid write key is required"}
	}
	var rejected atomic.Int64
	client2, err := acmeevents.New(acmeevents.Config{Endpoint: srv2.URL, OnDrop: func(d acmeevents.Drop) {
		want := acmeevents.Rejection{Status: http.StatusUnauthorized, Reason: "unauthorized", Message: "a valid write key is required"}
		if d.Reason == acmeevents.DropRejected && d.Rejection != nil && cmp.Equal(*d.Rejection, want) && d.Err == error(d.Rejection) {
			rejected.Add(1)
		} else {
			t.Errorf("OnDrop(%+v), want a rejection %+v", d, want)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := client2.Track(examples()[0]); err != nil {
		t.Fatal(err)
	}
	if err := client2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := client2.Stats(); st.Rejected != 1 || st.Retries != 0 || rejected.Load() != 1 || col2.Requests() != 1 {
		t.Errorf("stats %+v, %d reported, %d requests: want 1 rejected, no retry", st, rejected.Load(), col2.Requests())
	}
}

// TestRetryAfter sends one event per case of codegentest.RetryAfterServer, whose
// first answer to each is a 503 or 429 with a Retry-After header: in seconds, as
// an HTTP date, and an hour that the client must cap at MaxBackoff.
func TestRetryAfter(t *testing.T) {
	srv, url := codegentest.NewRetryAfterServer(t)
	cases := map[string]time.Duration{codegentest.RetryAfterSeconds: 5 * time.Second, codegentest.RetryAfterDate: 5 * time.Second, codegentest.RetryAfterCapped: 100 * time.Millisecond}
	clients := map[string]*acmeevents.Client{}
	for name, maxBackoff := range cases {
		c, err := acmeevents.New(acmeevents.Config{Endpoint: url, MinBackoff: time.Millisecond, MaxBackoff: maxBackoff,
			FlushInterval: 10 * time.Millisecond, Header: http.Header{codegentest.RetryAfterCaseHeader: {name}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Track(examples()[1]); err != nil {
			t.Fatal(err)
		}
		clients[name] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats := map[string]map[string]int{}
	for name, c := range clients {
		if err := c.Close(ctx); err != nil {
			t.Fatalf("%s: Close: %v (a Retry-After of an hour not capped?)", name, err)
		}
		st := c.Stats()
		stats[name] = map[string]int{"sent": int(st.Sent), "retries": int(st.Retries), "failed": int(st.Failed), "rejected": int(st.Rejected), "dropped": int(st.Dropped)}
	}
	out, err := json.Marshal(stats)
	if err != nil {
		t.Fatal(err)
	}
	codegentest.CheckRetryStats(t, out)
	srv.Check(t)
}
