package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// rawClient is one keep-alive HTTP/1.1 connection that POSTs JSON bodies and
// reads the answers with nothing but a buffered reader. The generator shares
// the two cores with the server it measures: net/http's client cost about 100
// µs of CPU a request here, this one about 60, most of it the system calls
// (docs/performance.md, twelfth pass). It speaks only
// what the servers under test answer: a status line, headers, and a body sized by
// Content-Length or chunked; "Connection: close" or any error closes the
// connection and the next request dials again. Not safe for concurrent use: each
// worker of `loadgen rate` owns one.
type rawClient struct {
	addr, host, path string
	timeout          time.Duration

	conn net.Conn
	r    *bufio.Reader
	req  []byte // the request being sent, reused
	body []byte // the answer's body, reused
}

// newRawClient checks that target is an http URL with a host and returns a
// client for it; it dials on the first post.
func newRawClient(target string, timeout time.Duration) (*rawClient, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("the url %q: %w", target, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("the url %q must be http://host:port/path (the generator speaks plain HTTP/1.1)", target)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &rawClient{addr: addr, host: u.Host, path: u.RequestURI(), timeout: timeout}, nil
}

// post sends body and returns the answer's status and body (valid until the next
// post).
func (c *rawClient) post(body []byte) (int, []byte, error) {
	status, answer, err := c.roundTrip(body)
	if err != nil {
		c.close()
	}
	return status, answer, err
}

func (c *rawClient) roundTrip(body []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, nil, err
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, nil, err
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, c.path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, nil, err
	}
	return c.readAnswer()
}

var errAnswer = errors.New("malformed HTTP answer")

// readAnswer reads one answer from c.r.
func (c *rawClient) readAnswer() (int, []byte, error) {
	line, err := c.line()
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, fmt.Errorf("%w: status line %q", errAnswer, clip(line))
	}
	status := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, nil, fmt.Errorf("%w: status line %q", errAnswer, clip(line))
		}
		status = status*10 + int(d-'0')
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := c.line()
		if err != nil {
			return 0, nil, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("%w: header %q", errAnswer, clip(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, fmt.Errorf("%w: Content-Length %q", errAnswer, clip(value))
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
			if !chunked {
				return 0, nil, fmt.Errorf("%w: Transfer-Encoding %q", errAnswer, clip(value))
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		err = c.readChunks()
	case length >= 0:
		if length > 64<<20 {
			return 0, nil, fmt.Errorf("%w: a body of %d bytes", errAnswer, length)
		}
		c.body = slices.Grow(c.body, length)[:length]
		_, err = io.ReadFull(c.r, c.body)
	default:
		return 0, nil, fmt.Errorf("%w: no Content-Length", errAnswer)
	}
	if err != nil {
		return 0, nil, err
	}
	if closing {
		c.close()
	}
	return status, c.body, nil
}

func (c *rawClient) readChunks() error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 31)
		if err != nil || len(c.body)+int(n) > 64<<20 {
			return fmt.Errorf("%w: chunk size %q", errAnswer, clip(line))
		}
		if n == 0 {
			for { // trailers, up to the empty line
				if line, err = c.line(); err != nil || len(line) == 0 {
					return err
				}
			}
		}
		start := len(c.body)
		c.body = slices.Grow(c.body, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.r, c.body[start:]); err != nil {
			return err
		}
		if line, err = c.line(); err != nil {
			return err
		}
		if len(line) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errAnswer)
		}
	}
}

// line reads one CRLF-ended line, without its end.
func (c *rawClient) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: a line longer than %d bytes", errAnswer, c.r.Size())
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
