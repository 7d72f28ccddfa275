package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawClient posts through the lean client to a net/http server answering
// each way the servers under test can: sized bodies, chunked ones (an answer
// larger than net/http's buffer), and connections the server closes.
func TestRawClient(t *testing.T) {
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sized", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no content type", http.StatusUnsupportedMediaType)
			return
		}
		_, _ = fmt.Fprintf(w, `{"accepted":1,"rejected":0,"echo":%s}`, body)
	})
	mux.HandleFunc("POST /chunked", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"accepted":100,"rejected":0,"events":[`+strings.Repeat(`{"status":"accepted"},`, 400)+`{}]}`)
	})
	mux.HandleFunc("POST /close", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"full"}`)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	sized, err := newRawClient(srv.URL+"/sized", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := fmt.Appendf(nil, `{"n":%d}`, i)
		status, answer, err := sized.post(body)
		if err != nil || status != 200 || !accepted(status, answer) || !bytes.Contains(answer, body) {
			t.Fatalf("post %d: %d %q %v", i, status, answer, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("three posts took %d connections, want one kept alive", n)
	}

	chunked, err := newRawClient(srv.URL+"/chunked", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		status, answer, err := chunked.post([]byte(`[]`))
		if err != nil || status != 200 || !accepted(status, answer) || !bytes.HasSuffix(answer, []byte(`{}]}`)) || len(answer) < 8000 {
			t.Fatalf("chunked: %d %d bytes %v", status, len(answer), err)
		}
	}

	closing, err := newRawClient(srv.URL+"/close", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	before := conns.Load()
	for range 2 {
		status, answer, err := closing.post([]byte(`{}`))
		if err != nil || status != 503 || accepted(status, answer) {
			t.Fatalf("close: %d %q %v", status, answer, err)
		}
	}
	if n := conns.Load() - before; n != 2 {
		t.Fatalf("two answers with Connection: close took %d connections, want 2", n)
	}

	for _, bad := range []string{"https://127.0.0.1/x", "127.0.0.1:80", "http:///x", "http://[::1"} {
		if _, err := newRawClient(bad, time.Second); err == nil {
			t.Errorf("newRawClient(%q) took it", bad)
		}
	}
}

// TestRawClientBadAnswers: a server that answers nonsense gets an error, and
// the next post dials again.
func TestRawClientBadAnswers(t *testing.T) {
	for _, answer := range []string{
		"garbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}", // no length
		"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", // cut short
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var accepted atomic.Int64
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					_, _ = io.WriteString(c, answer)
				}()
			}
		}()
		c, err := newRawClient("http://"+ln.Addr().String()+"/v1/events", 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if status, body, err := c.post([]byte(`{}`)); err == nil {
				t.Errorf("answer %q: took it as %d %q", answer, status, body)
			}
		}
		if n := accepted.Load(); n != 2 {
			t.Errorf("answer %q: %d connections for two failed posts, want 2", answer, n)
		}
		ln.Close()
	}
}

// FuzzReadAnswer: any bytes from a server give an answer or an error, never a
// panic, and a well-formed answer comes back whole.
func FuzzReadAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\nTrailer: 1\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 503 Service Unavailable\r\nConnection: close\r\ncontent-length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &rawClient{r: bufio.NewReaderSize(bytes.NewReader(raw), 64)}
		status, body, err := c.readAnswer()
		if err != nil {
			return
		}
		if status < 0 || status > 999 {
			t.Fatalf("status %d", status)
		}
		if len(body) > len(raw) {
			t.Fatalf("a body of %d bytes from %d bytes", len(body), len(raw))
		}
	})
}
