package app_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/codegen"
	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/golang"
)

// sdkProgram uses the Go SDK generated from the example registry: a client with
// the write key sends one valid event of every example contract and a signup
// whose shop_id breaks the contract's pattern (which the SDK cannot check, so the
// collector must reject it); a client without the key sends one signup, which the
// collector refuses. It prints both clients' stats and, per client, the drop
// reasons and the collector's reasons as JSON.
const sdkProgram = `package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"example.com/roundtrip/events"
)

func main() {
	endpoint, key := os.Args[1], os.Args[2]
	var mu sync.Mutex
	drops := map[string][]string{}
	onDrop := func(client string) func(events.Drop) {
		return func(d events.Drop) {
			mu.Lock()
			defer mu.Unlock()
			why := string(d.Reason)
			if d.Rejection != nil {
				why += " " + d.Rejection.Reason
			}
			drops[client] = append(drops[client], why)
		}
	}
	// Batches of exactly 4 and 2 (the rest on Close): a flush timer that fired
	// between two Tracks on a loaded machine sent the invalid signup alone,
	// which the collector answers 400 rather than 200.
	good, err := events.New(events.Config{Endpoint: endpoint, BatchSize: 4, FlushInterval: time.Minute,
		Header: http.Header{"X-Accord-Write-Key": {key}}, OnDrop: onDrop("good")})
	if err != nil {
		panic(err)
	}
	ts := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	for _, e := range []events.Event{
		events.Signup{ShopID: "shop_1", Email: "sdk.buyer@example.com", ReferrerChannel: events.Ptr(events.SignupReferrerChannelPaidSearch)},
		events.CheckoutCompleted{
			EventID: "0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10", ShopID: "shop_1", Timestamp: ts, UserID: "u_abc",
			Platform: events.CheckoutCompletedPlatformWeb, SessionNumber: 3, OrderTotalCents: 12900,
			Currency: events.CheckoutCompletedCurrencyEur,
			Device:   events.CheckoutCompletedDevice{OS: events.CheckoutCompletedDeviceOSMacOS, Locale: events.Ptr("en-GB")},
			Items:    []events.CheckoutCompletedItemsItem{{Sku: "SKU-00001", Quantity: 1, PriceCents: 12900}},
		},
		events.ComAcmePageView{ShopID: "shop_1", AnonymousID: "anon-1", URL: "https://shop.example/p/1", ViewedAt: ts,
			Viewport: &events.ComAcmePageViewViewport{Width: 1280, Height: 720}},
		events.Search{ShopID: "shop_1", AnonymousID: "anon-1", Query: "red shoes", ResultCount: 12,
			Filters: []events.SearchFiltersItem{{Facet: events.SearchFiltersItemFacetColor, Value: "red"}}},
		events.DeliveryAddressUpdated{ShopID: "shop_1", CustomerID: "c_sdk", OrderID: "o_1", Phone: "+447700900456",
			Location: events.DeliveryAddressUpdatedLocation{Latitude: 48.85, Longitude: 2.35}, UpdatedAt: ts},
		events.Signup{ShopID: "not-a-shop", Email: "sdk.buyer@example.com"},
	} {
		if err := good.Track(e); err != nil {
			panic(fmt.Sprintf("Track(%s): %v", e.SchemaURI(), err))
		}
	}
	nokey, err := events.New(events.Config{Endpoint: endpoint, OnDrop: onDrop("nokey")})
	if err != nil {
		panic(err)
	}
	if err := nokey.TrackSignup(events.Signup{ShopID: "shop_2", Email: "sdk.buyer@example.com"}); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []*events.Client{good, nokey} {
		if err := c.Close(ctx); err != nil {
			panic(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out, err := json.Marshal(map[string]any{"good": good.Stats(), "nokey": nokey.Stats(), "drops": drops})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
}
`

// TestGeneratedGoClient is the SDK round trip of issue 5 against the real
// collector: the Go SDK generated from the example registry is compiled in a
// temporary module into a program that sends events to accord serve (app.New on a
// temporary data folder, served on 127.0.0.1 as accord serve serves it). The
// valid events must land in the lake, one table per contract; the one that
// breaks its contract must land as a bad row with the field and the rule; a
// client without the write key must be refused, counted and reported.
func TestGeneratedGoClient(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		codegentest.Missing(t, "the go command is not at "+goBin)
	}
	files, err := golang.Generate(codegentest.Load(t, registryDir), golang.Options{Package: "events"})
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	if err := codegen.Write(filepath.Join(mod, "events"), files); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"go.mod": "module example.com/roundtrip\n\ngo 1.24\n", "main.go": sdkProgram} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(mod, "roundtrip")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const key = "wk-sdk-roundtrip-0001"
	data := t.TempDir()
	base, serving := startApp(t, data, func(c *app.Config) {
		c.Access.WriteKeys = map[string]string{key: "sdk-roundtrip"}
		c.Access.RequireWriteKey = true
	})
	stop := sync.OnceFunc(serving)
	defer stop()
	out := codegentest.Output(t, exec.Command(bin, base, key))
	var res struct {
		Good, NoKey struct{ Queued, Sent, Invalid, Dropped, Rejected, Failed uint64 }
		Drops       map[string][]string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("the SDK program printed %q: %v", out, err)
	}
	if g := res.Good; g.Queued != 6 || g.Sent != 5 || g.Rejected != 1 || g.Invalid+g.Dropped+g.Failed != 0 || !slices.Equal(res.Drops["good"], []string{"rejected schema_violation"}) {
		t.Errorf("client with the write key: %+v, drops %v; want 6 queued, 5 sent, the signup that breaks the pattern rejected and reported", g, res.Drops["good"])
	}
	if n := res.NoKey; n.Queued != 1 || n.Rejected != 1 || n.Sent != 0 || !slices.Equal(res.Drops["nokey"], []string{"rejected unauthorized"}) {
		t.Errorf("client without the write key: %+v, drops %v; want its one event rejected and reported", n, res.Drops["nokey"])
	}

	tables := []string{"com.acme/signup", "com.acme/checkout_completed", "com.acme/page_view", "com.acme/search", "com.acme/delivery_address_updated"}
	var rows map[string][]string
	var bad []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows = lakeRows(t, filepath.Join(data, "lake"))
		bad, err = filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		landed := len(bad) > 0
		for _, table := range tables {
			landed = landed && len(rows[table]) > 0
		}
		if landed {
			break
		}
	}
	stop()
	for _, table := range tables {
		if len(rows[table]) != 1 || !strings.Contains(rows[table][0], `"source_app":"sdk-roundtrip"`) || !strings.Contains(rows[table][0], `"source_protocol":"native"`) {
			t.Errorf("lake table %s: %v, want the one event the SDK sent, from app sdk-roundtrip", table, rows[table])
		}
	}
	if s := rows["com.acme/signup"]; len(s) == 1 && strings.Contains(s[0], "sdk.buyer@example.com") {
		t.Errorf("the signup's email reached the lake untokenized: %s", s[0])
	}
	if len(bad) != 1 {
		t.Fatalf("bad-row files %v, want one", bad)
	}
	b, err := os.ReadFile(bad[0])
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(strings.TrimSpace(string(b)), "\n") + 1; lines != 1 || !strings.Contains(string(b), `"reason":"schema_violation"`) || !strings.Contains(string(b), `/shop_id`) || !strings.Contains(string(b), `pattern`) {
		t.Errorf("bad rows (want the one signup whose shop_id breaks the pattern): %s", b)
	}
}
