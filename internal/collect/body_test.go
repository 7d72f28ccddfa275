package collect_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
)

// TestReadBody reads bodies whose Content-Length is right, missing, or larger
// than the up-front allocation, and refuses bodies over the limit, compressed or
// not.
func TestReadBody(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(strings.Repeat("a", 5000)))
	zw.Close()
	big := strings.Repeat("b", 3<<20) // above the 1 MiB size hint
	cases := []struct {
		name     string
		body     string
		length   int64 // Content-Length as the server sees it; -1 unknown
		encoding string
		max      int64
		want     string
		status   int
	}{
		{name: "length given", body: `{"a":1}`, length: 7, max: 100, want: `{"a":1}`},
		{name: "length unknown (chunked)", body: strings.Repeat("x", 10000), length: -1, max: 1 << 20, want: strings.Repeat("x", 10000)},
		{name: "length above the size hint", body: big, length: int64(len(big)), max: 4 << 20, want: big},
		{name: "exactly the limit", body: strings.Repeat("y", 100), length: 100, max: 100, want: strings.Repeat("y", 100)},
		{name: "one byte over the limit", body: strings.Repeat("y", 101), length: 101, max: 100, status: http.StatusRequestEntityTooLarge},
		{name: "over the limit, length unknown", body: strings.Repeat("y", 5000), length: -1, max: 100, status: http.StatusRequestEntityTooLarge},
		{name: "gzip", body: zipped.String(), length: int64(zipped.Len()), encoding: "gzip", max: 10000, want: strings.Repeat("a", 5000)},
		{name: "gzip over the limit once inflated", body: zipped.String(), length: int64(zipped.Len()), encoding: "gzip", max: 4000, status: http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(c.body))
			r.ContentLength = c.length
			if c.encoding != "" {
				r.Header.Set("Content-Encoding", c.encoding)
			}
			got, err := collect.ReadBody(r, c.max)
			if c.status != 0 {
				var re *collect.RequestError
				if !errors.As(err, &re) || re.Status != c.status {
					t.Fatalf("got %d bytes, error %v; want a request error with status %d", len(got), err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got %d bytes, want %d", len(got), len(c.want))
			}
		})
	}
}
