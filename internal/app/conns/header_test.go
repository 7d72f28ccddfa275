package conns

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// FuzzReadHeader feeds readHeader a client's bytes in pieces of any size: it
// finds the end of a request's header exactly when the bytes hold a blank
// line (CRLF CRLF) within the first 64 KiB plus the read that crosses it, and
// stops at 64 KiB otherwise.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(3))
	f.Add([]byte("POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n{}"), uint8(1))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n"), uint8(7))
	f.Add([]byte("\r\n\r"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		size := int(piece)%64 + 1
		server, client := net.Pipe()
		defer server.Close()
		go func() {
			defer client.Close()
			for i := 0; i < len(in); i += size {
				if _, err := client.Write(in[i:min(i+size, len(in))]); err != nil {
					return
				}
			}
		}()
		server.SetDeadline(time.Now().Add(5 * time.Second))
		got := readHeader(server)
		end := bytes.Index(in, []byte("\r\n\r\n"))
		want := end >= 0 && end+4 <= 64<<10+size || len(in) >= 64<<10
		if got != want {
			t.Fatalf("readHeader = %v for %d bytes (blank line at %d, pieces of %d)", got, len(in), end, size)
		}
	})
}
