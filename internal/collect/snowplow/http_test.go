package snowplow

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"image/gif"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// do sends one request and returns the answer with its body read.
func do(tb testing.TB, method, target string, body []byte, header map[string]string) (*http.Response, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, b
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func TestHTTP(t *testing.T) {
	const origin = "https://shop.example"
	r := newRig(t, rigOptions{access: collect.Access{CORSOrigins: []string{origin}}, paths: []string{"/com.acme/track"}})
	pv := tp2Body([]byte(`{"e":"pv","url":"https://shop.example/","tv":"js-3.24.0","p":"web"}`))
	allBad := tp2Body([]byte(`{"e":"tr","tv":"js-3.24.0","p":"web"}`), []byte(`{"tv":"js-3.24.0","p":"web"}`))
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		body     []byte
		header   map[string]string
		status   int
		accepted int // for 200 answers to POST
		rejected int
		reason   event.Reason // for error answers
		check    func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "the JavaScript tracker's POST", method: "POST", path: TP2Path, body: pv,
			header: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Origin": origin},
			status: 200, accepted: 1,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
					t.Errorf("Access-Control-Allow-Origin %q, want the origin echoed (the tracker sends credentials)", got)
				}
				if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
					t.Errorf("Access-Control-Allow-Credentials %q, want true", got)
				}
			}},
		{name: "sendBeacon's text/plain", method: "POST", path: TP2Path, body: pv,
			header: map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": origin}, status: 200, accepted: 1},
		{name: "no content type", method: "POST", path: TP2Path, body: pv, status: 200, accepted: 1},
		{name: "gzip", method: "POST", path: TP2Path, body: gzipped(t, pv),
			header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, status: 200, accepted: 1},
		{name: "a custom post path", method: "POST", path: "/com.acme/track", body: pv,
			header: map[string]string{"Content-Type": "application/json; charset=UTF-8"}, status: 200, accepted: 1},
		{name: "every event rejected is still 200, so the tracker does not retry", method: "POST", path: TP2Path, body: allBad,
			status: 200, rejected: 2},
		{name: "a body that is not a payload_data", method: "POST", path: TP2Path, body: []byte(`{"e":"pv"}`),
			status: 400, reason: event.ReasonMalformedEvent},
		{name: "an unsupported content encoding", method: "POST", path: TP2Path, body: pv,
			header: map[string]string{"Content-Encoding": "br"}, status: 415, reason: event.ReasonUnsupportedEncoding},
		{name: "preflight from an allowed origin, in anonymous tracking mode", method: "OPTIONS", path: TP2Path,
			header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, sp-anonymous"},
			status: 204,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"content-type", "sp-anonymous"} {
					if !strings.Contains(allowed, h) {
						t.Errorf("Access-Control-Allow-Headers %q does not allow %s", allowed, h)
					}
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
					t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
				}
			}},
		{name: "preflight on a custom path", method: "OPTIONS", path: "/com.acme/track",
			header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"}, status: 204},
		{name: "preflight from another origin", method: "OPTIONS", path: TP2Path,
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, status: 403},
		{name: "a pixel request", method: "GET", path: PixelPath + "?e=pv&url=https%3A%2F%2Fshop.example%2F&tv=js-3.24.0&p=web", status: 200,
			check: checkPixel},
		{name: "a pixel request whose event is rejected still gets its pixel", method: "GET", path: PixelPath + "?e=zz", status: 200,
			check: checkPixel},
		{name: "a pixel request without parameters", method: "GET", path: PixelPath, status: 200, check: checkPixel},
		{name: "HEAD on the pixel stores nothing", method: "HEAD", path: PixelPath + "?e=pv&url=https%3A%2F%2Fshop.example%2F", status: 200,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if resp.Header.Get("Content-Type") != "image/gif" {
					t.Errorf("content type %q", resp.Header.Get("Content-Type"))
				}
			}},
		// As the Snowplow collector does, a GET of tp2 is a pixel: without a
		// query, its event is empty (a bad row) and the GIF is served.
		{name: "GET on tp2", method: "GET", path: TP2Path, status: 200, check: checkPixel},
		{name: "POST on the pixel", method: "POST", path: PixelPath, body: pv, status: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, r.url+tc.path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			switch {
			case tc.method == "POST" && tc.status == 200:
				var got collect.Response
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if got.Accepted != tc.accepted || got.Rejected != tc.rejected || len(got.Events) != tc.accepted+tc.rejected {
					t.Errorf("answer %s; want %d accepted, %d rejected", body, tc.accepted, tc.rejected)
				}
			case tc.reason != "":
				var got collect.ErrorBody
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if got.Reason != tc.reason || got.Error == "" {
					t.Errorf("answer %s; want reason %s and a message", body, tc.reason)
				}
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
		})
	}
	// What the table sent: 6 accepted page views (5 POSTs, 1 pixel); 2 + 3 rejected
	// events (a POST and three pixels, the GET of tp2 one); nothing from HEAD,
	// refusals or preflights.
	envs, bad, _ := r.records(t)
	if len(envs) != 6 || len(bad) != 5 {
		t.Errorf("%d envelopes and %d bad rows stored, want 6 and 5", len(envs), len(bad))
	}
}

// checkPixel checks that the answer is a 1x1 transparent GIF that browsers and
// proxies do not cache (each load is an event).
func checkPixel(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "image/gif" {
		t.Errorf("content type %q, want image/gif", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	img, err := gif.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the pixel is not a GIF: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("the pixel is %dx%d, want 1x1", b.Dx(), b.Dy())
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("the pixel's alpha is %d, want transparent", a)
	}
}

// TestBufferFull checks that a full buffer answers 503 with Retry-After, which
// makes trackers keep the events and send them again, on both routes.
func TestBufferFull(t *testing.T) {
	r := newRig(t, rigOptions{bufferBytes: 1024})
	pv := tp2Body([]byte(`{"e":"pv","url":"https://shop.example/","tv":"js-3.24.0","p":"web"}`))
	var resp *http.Response
	var body []byte
	accepted := 0
	for range 10 {
		resp, body = do(t, "POST", r.url+TP2Path, pv, nil)
		if resp.StatusCode != http.StatusOK {
			break
		}
		accepted++
	}
	if accepted == 0 || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d accepted requests: status %d, Retry-After %q, body %s; want 503 with Retry-After once the buffer is full",
			accepted, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	var eb collect.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Reason != "buffer_full" {
		t.Errorf("body %s; want reason buffer_full", body)
	}
	// A pixel's event may be smaller than the batch that no longer fitted: send
	// pixels until they no longer fit either.
	for range 10 {
		if resp, _ = do(t, "GET", r.url+PixelPath+"?e=pv&url=https%3A%2F%2Fshop.example%2F", nil, nil); resp.StatusCode != http.StatusOK {
			break
		}
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("pixel: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestWriteKeys(t *testing.T) {
	r := newRig(t, rigOptions{access: collect.Access{WriteKeys: map[string]string{"wk_test_0123456789": "shop-web"}, RequireWriteKey: true}})
	noAID := tp2Body([]byte(`{"e":"pv","url":"https://shop.example/","tv":"js-3.24.0","p":"web"}`))
	withAID := tp2Body([]byte(`{"e":"pv","url":"https://shop.example/","tv":"js-3.24.0","p":"web","aid":"checkout"}`))
	for _, tc := range []struct {
		name   string
		method string
		target string
		body   []byte
		header map[string]string
		status int
	}{
		{"no key", "POST", TP2Path, noAID, nil, 401},
		{"a wrong key", "POST", TP2Path, noAID, map[string]string{"X-Accord-Write-Key": "wk_wrong"}, 401},
		{"a pixel without a key", "GET", PixelPath + "?e=pv&url=https%3A%2F%2Fshop.example%2F", nil, nil, 401},
		{"the key as a header", "POST", TP2Path, noAID, map[string]string{"X-Accord-Write-Key": "wk_test_0123456789"}, 200},
		{"the key as a Bearer token, with an aid", "POST", TP2Path, withAID, map[string]string{"Authorization": "Bearer wk_test_0123456789"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, r.url+tc.target, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
		})
	}
	envs, bad, _ := r.records(t)
	if len(envs) != 2 || len(bad) != 0 {
		t.Fatalf("%d envelopes and %d bad rows, want 2 and 0", len(envs), len(bad))
	}
	// The tracker's aid names the app; the write key's source fills in without one.
	if envs[0].Source.App != "shop-web" || envs[1].Source.App != "checkout" {
		t.Errorf("apps %q and %q, want shop-web and checkout", envs[0].Source.App, envs[1].Source.App)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(nil, collect.Access{}, nil); err == nil {
		t.Error("New accepted a nil pipeline")
	}
	r := newRig(t, rigOptions{})
	if _, err := New(r.pipeline, collect.Access{}, []string{"/com.acme/t", "/v1/events", "/x/{y}"}); err == nil || strings.Count(err.Error(), "snowplow path") != 2 {
		t.Errorf("err %v; want the two bad paths reported", err)
	}
}
