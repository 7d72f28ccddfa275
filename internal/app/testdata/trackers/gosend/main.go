// Command gosend drives accord serve with the Go libraries producers use, as
// published on the Go module proxy: Snowplow's Go tracker by POST and by GET,
// Segment's analytics-go and RudderStack's analytics-go. TestGoTrackers
// (trackers_test.go) builds and runs it:
//
//	gosend <collector URL> <write key> <email> <ip>
//
// It prints one JSON report on stdout in the shape send.cjs prints: every
// request a library made (its route, status, the event ids it sent in order,
// the collector's answer, read through the http.RoundTripper each library takes
// as an option) and every error a library reported. The Go test checks the
// answers and the stored rows. It is a module of its own, so that the libraries
// stay out of accord's go.mod.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	rudder "github.com/rudderlabs/analytics-go/v4"
	segment "github.com/segmentio/analytics-go/v3"
	"github.com/snowplow/snowplow-golang-tracker/v3/pkg/storage/memory"
	sp "github.com/snowplow/snowplow-golang-tracker/v3/tracker"
)

type request struct {
	Lib    string          `json:"lib"`
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Status int             `json:"status"`
	IDs    []string        `json:"ids"`
	Answer json.RawMessage `json:"answer"`
}

type failure struct {
	Lib    string `json:"lib"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

var report struct {
	mu       sync.Mutex
	Requests []*request `json:"requests"`
	Errors   []failure  `json:"errors"`
}

func fail(lib string, err error) {
	report.mu.Lock()
	defer report.mu.Unlock()
	status := 0
	// analytics-go reports a refused batch as "... 400 Bad Request ...".
	for _, code := range []int{400, 401, 403, 413, 415, 429, 500, 503} {
		if strings.Contains(err.Error(), fmt.Sprintf("%d %s", code, http.StatusText(code))) {
			status = code
		}
	}
	report.Errors = append(report.Errors, failure{lib, status, err.Error()})
}

// recorder is the transport every library is given: it records each request
// as sent and the collector's answer.
type recorder struct{ lib string }

func (rt recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	entry := &request{Lib: rt.lib, Method: req.Method, Path: req.URL.Path, IDs: ids(req, body)}
	report.mu.Lock()
	report.Requests = append(report.Requests, entry)
	report.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	report.mu.Lock()
	entry.Status = resp.StatusCode
	if json.Valid(answer) {
		entry.Answer = answer
	}
	report.mu.Unlock()
	return resp, nil
}

// ids lists the event ids a request carries, read as the collector will: a
// pixel's query (eid), tp2 payload_data (eid), a Segment or RudderStack batch
// (messageId), gzipped or not.
func ids(req *http.Request, body []byte) []string {
	if req.URL.Path == "/i" {
		return []string{req.URL.Query().Get("eid")}
	}
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	var doc struct {
		Data []struct {
			EID string `json:"eid"`
		} `json:"data"`
		Batch []struct {
			MessageID string `json:"messageId"`
		} `json:"batch"`
	}
	_ = json.Unmarshal(body, &doc)
	var out []string
	for _, e := range doc.Data {
		out = append(out, e.EID)
	}
	for _, m := range doc.Batch {
		out = append(out, m.MessageID)
	}
	return out
}

const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"

func ptr[T any](v T) *T { return &v }

// snowplow tracks five events: a signup with the web_page entity, a page view
// whose URL carries the email in its query, a structured event, a signup that
// breaks its contract and a screen view, for which the registry has no
// contract. The subject carries the email as user id, the planted IP and a user
// agent: tracker parameters that Accord does not store.
func snowplow(lib, base, method, writeKey, email, ip string) {
	opts := []func(*sp.Emitter){
		sp.RequireCollectorUri(strings.TrimPrefix(base, "http://")),
		sp.RequireStorage(*memory.Init()),
		sp.OptionProtocol("http"),
		sp.OptionRequestType(method),
		sp.OptionCallback(func(ok, failed []sp.CallbackResult) {
			for _, f := range failed {
				fail(lib, fmt.Errorf("request failed: %d", f.Status))
			}
		}),
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: recorder{lib}}
	if writeKey != "" {
		client.Transport = keyed{writeKey, recorder{lib}}
	}
	opts = append(opts, sp.OptionHttpClient(client))
	subject := sp.InitSubject()
	subject.SetUserId(email)
	subject.SetIpAddress(ip)
	subject.SetUseragent(ua)
	t := sp.InitTracker(sp.RequireEmitter(sp.InitEmitter(opts...)), sp.OptionSubject(subject),
		sp.OptionNamespace("accord-test"), sp.OptionAppId("shop-go"), sp.OptionBase64Encode(method == "POST"))
	// GET sends each event in a request of its own, concurrently: one at a time
	// here, so that the report lists them in the order they were tracked.
	then := func() {
		if method == "GET" {
			t.BlockingFlush(5, 10)
		}
	}
	webPage := *sp.InitSelfDescribingJson("iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
		map[string]any{"id": "0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10"})
	t.TrackSelfDescribingEvent(sp.SelfDescribingEvent{
		Event: sp.InitSelfDescribingJson("iglu:com.acme/signup/jsonschema/1-0-0",
			map[string]any{"shop_id": "shop_7", "email": email, "ip": ip, "user_agent": ua}),
		Contexts: []sp.SelfDescribingJson{webPage},
	})
	then()
	t.TrackPageView(sp.PageViewEvent{PageUrl: ptr("https://shop.example/cart?email=" + strings.ReplaceAll(email, "@", "%40")),
		PageTitle: ptr("Cart"), Contexts: []sp.SelfDescribingJson{webPage}})
	then()
	t.TrackStructEvent(sp.StructuredEvent{Category: ptr("cart"), Action: ptr("add"), Label: ptr("sku-1"), Property: ptr("size"), Value: ptr(3.0)})
	then()
	t.TrackSelfDescribingEvent(sp.SelfDescribingEvent{
		Event: sp.InitSelfDescribingJson("iglu:com.acme/signup/jsonschema/1-0-0", map[string]any{"shop_id": "not-a-shop", "email": email}),
	})
	then()
	t.TrackScreenView(sp.ScreenViewEvent{Name: ptr("home"), Id: ptr("5e2da0c7-7ec5-4a11-8fa0-6a22bb19bd77")})
	then()
	t.TrackSelfDescribingEvent(sp.SelfDescribingEvent{
		Event: sp.InitSelfDescribingJson("iglu:com.acme/wishlist_added/jsonschema/1-0-0", map[string]any{"sku": "sku-1"}),
	})
	then()
	t.Emitter.Stop()
	t.BlockingFlush(5, 100)
}

// keyed adds the write key the collector requires (the tracker has no option
// for headers; its HTTP client is the place, as in a producer's code).
type keyed struct {
	key  string
	next http.RoundTripper
}

func (k keyed) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Accord-Write-Key", k.key)
	return k.next.RoundTrip(req)
}

type segmentCallback struct{ lib string }

func (segmentCallback) Success(segment.Message)                {}
func (c segmentCallback) Failure(_ segment.Message, err error) { fail(c.lib, err) }

type rudderCallback struct{ lib string }

func (rudderCallback) Success(rudder.Message)                {}
func (c rudderCallback) Failure(_ rudder.Message, err error) { fail(c.lib, err) }

// The calls both libraries make: one of each type, and a track of an event
// name that no contract declares.

func segmentCalls(base, writeKey, email, ip string) {
	const lib = "segment-go"
	c, err := segment.NewWithConfig(writeKey, segment.Config{Endpoint: base, Interval: 100 * time.Millisecond, BatchSize: 20,
		Transport: recorder{lib}, Callback: segmentCallback{lib}, RetryAfter: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		fail(lib, err)
		return
	}
	ctx := &segment.Context{IP: net.ParseIP(ip), UserAgent: ua}
	for _, m := range []segment.Message{
		segment.Track{UserId: "u_1001", Event: "Signed Up", Properties: segment.Properties{"shop_id": "shop_7", "email": email}, Context: ctx},
		segment.Identify{UserId: "u_1001", Traits: segment.Traits{"email": email, "plan": "pro"}, Context: ctx},
		segment.Page{UserId: "u_1001", AnonymousId: "anon-1", Name: "Cart",
			Properties: segment.Properties{"category": "Shop", "url": "https://shop.example/cart?email=" + email, "title": "Cart"}, Context: ctx},
		segment.Screen{UserId: "u_1001", Name: "Home", Properties: segment.Properties{"shop_id": "shop_7"}},
		segment.Group{UserId: "u_1001", GroupId: "g_42", Traits: segment.Traits{"employees": 12}},
		segment.Alias{UserId: "u_1001", PreviousId: "anon-1"},
		segment.Track{AnonymousId: "anon-2", Event: "Wishlist Shared", Properties: segment.Properties{"email": email}},
	} {
		if err := c.Enqueue(m); err != nil {
			fail(lib, err)
		}
	}
	if err := c.Close(); err != nil {
		fail(lib, err)
	}
}

func rudderCalls(base, writeKey, email, ip string) {
	const lib = "rudderstack-go"
	c, err := rudder.NewWithConfig(writeKey, rudder.Config{DataPlaneUrl: base, Interval: 100 * time.Millisecond, BatchSize: 20,
		Transport: recorder{lib}, Callback: rudderCallback{lib}, RetryAfter: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		fail(lib, err)
		return
	}
	ctx := &rudder.Context{IP: net.ParseIP(ip), UserAgent: ua}
	for _, m := range []rudder.Message{
		rudder.Track{UserId: "u_1001", Event: "Signed Up", Properties: rudder.Properties{"shop_id": "shop_7", "email": email}, Context: ctx},
		rudder.Identify{UserId: "u_1001", Traits: rudder.Traits{"email": email, "plan": "pro"}, Context: ctx},
		rudder.Page{UserId: "u_1001", AnonymousId: "anon-1", Name: "Cart",
			Properties: rudder.Properties{"category": "Shop", "url": "https://shop.example/cart?email=" + email, "title": "Cart"}, Context: ctx},
		rudder.Screen{UserId: "u_1001", Name: "Home", Properties: rudder.Properties{"shop_id": "shop_7"}},
		rudder.Group{UserId: "u_1001", GroupId: "g_42", Traits: rudder.Traits{"employees": 12}},
		rudder.Alias{UserId: "u_1001", PreviousId: "anon-1"},
		rudder.Track{AnonymousId: "anon-2", Event: "Wishlist Shared", Properties: rudder.Properties{"email": email}},
	} {
		if err := c.Enqueue(m); err != nil {
			fail(lib, err)
		}
	}
	if err := c.Close(); err != nil {
		fail(lib, err)
	}
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: gosend <collector URL> <write key> <email> <ip>")
		os.Exit(2)
	}
	base, writeKey, email, ip := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	snowplow("snowplow-go-post", base, "POST", writeKey, email, ip)
	snowplow("snowplow-go-get", base, "GET", "", email, ip)
	segmentCalls(base, writeKey, email, ip)
	rudderCalls(base, writeKey, email, ip)
	report.mu.Lock()
	defer report.mu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(&report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
