package replay

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/accord-dev/accord/internal/admin"
)

// Client runs replays (POST /v1/bad/replay) and summaries (GET
// /v1/bad/summary) on a running collector: the collector owns the buffer and
// the vault, so a replay runs there, and only its vault can say which
// subjects were forgotten.
type Client struct {
	// Base is the collector's URL (http://127.0.0.1:8080).
	Base string
	// Token is the admin token.
	Token string
	HTTP  *http.Client
}

// UnreachableError is the error of a call that reached no collector (nothing
// listening at Client.Base, a wrong host, a TLS handshake that failed), as
// opposed to a collector's answer.
type UnreachableError struct {
	Base, Doing string
	Err         error
}

func (e *UnreachableError) Error() string {
	hint := "is accord serve running there?"
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.As(e.Err, &unknownCA):
		// A collector whose certificate a private CA signed.
		hint = "its certificate is not signed by a CA this system trusts: point SSL_CERT_FILE at the CA's PEM file"
	case errors.As(e.Err, &badHost):
		hint = "its certificate does not name that host: pass --server with a host name the certificate names"
	}
	return fmt.Sprintf("asking the collector at %s %s: %v (%s)", e.Base, e.Doing, e.Err, hint)
}

// Unwrap returns the transport's error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// call sends one admin request and returns the collector's status and body;
// doing says what for, in errors.
func (c *Client) call(ctx context.Context, method, path string, body []byte, doing string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Base, "/")+path, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("building the request to %q: %w (--server takes the collector's URL, such as http://127.0.0.1:8080)", c.Base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, &UnreachableError{Base: c.Base, Doing: doing, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the collector's answer %s: %w", doing, err)
	}
	return resp, b, nil
}

// refused is the error of an answer other than the one expected.
func (c *Client) refused(resp *http.Response, b []byte, what string) error {
	var e admin.ErrorBody
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return fmt.Errorf("the collector refused the %s (%s): %s", what, resp.Status, e.Message)
	}
	return fmt.Errorf("the collector answered %s to the %s; is %s an accord collector?", resp.Status, what, c.Base)
}

// Replay runs one replay call: at most the request's limit of rows, or the
// server's time budget; the report's Next says where to go on.
func (c *Client) Replay(ctx context.Context, q Request) (Report, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return Report{}, fmt.Errorf("encoding the replay request: %w", err)
	}
	resp, b, err := c.call(ctx, http.MethodPost, "/v1/bad/replay", body, "to replay")
	if err != nil {
		return Report{}, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return Report{}, fmt.Errorf("decoding the collector's replay report: %w", err)
		}
		return rep, nil
	case http.StatusServiceUnavailable:
		var stopped StoppedBody
		if json.Unmarshal(b, &stopped) == nil && stopped.Error == "replay_stopped" {
			return stopped.Report, errors.New(stopped.Message)
		}
	}
	return Report{}, c.refused(resp, b, "replay")
}

// Summary asks the collector for the summary of its bad rows of the days from
// to to (empty: every day kept), its vault asked which subjects were
// forgotten (GET /v1/bad/summary).
func (c *Client) Summary(ctx context.Context, from, to string) (Summary, error) {
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	path := "/v1/bad/summary"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, b, err := c.call(ctx, http.MethodGet, path, nil, "for a summary")
	if err != nil {
		return Summary{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Summary{}, c.refused(resp, b, "summary")
	}
	var sum Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		return Summary{}, fmt.Errorf("decoding the collector's summary: %w", err)
	}
	return sum, nil
}

// ReplayAll runs replay calls until the rows the request selects are done,
// calling progress after each, and returns their sum. The request's limit
// applies to each call.
func (c *Client) ReplayAll(ctx context.Context, q Request, progress func(Report)) (Report, error) {
	return runAll(ctx, q, c.Replay, progress)
}

// runAll calls run until the rows the request selects are done (each report's
// Next resumes the next call), calling progress after each, and sums them.
func runAll(ctx context.Context, q Request, run func(context.Context, Request) (Report, error), progress func(Report)) (Report, error) {
	total := Report{DryRun: q.DryRun, Outcomes: []Outcome{}}
	for {
		rep, err := run(ctx, q)
		total.Add(rep)
		if progress != nil {
			progress(rep)
		}
		if err != nil || rep.Next == "" {
			return total, err
		}
		q.After = rep.Next
	}
}

// Add sums another run's report into r.
func (r *Report) Add(o Report) {
	r.Rows += o.Rows
	r.Accepted += o.Accepted
	r.Rejected += o.Rejected
	r.NotReplayable += o.NotReplayable
	r.AlreadyReplayed += o.AlreadyReplayed
	r.Unreadable += o.Unreadable
	r.Truncated = r.Truncated || o.Truncated
	for _, out := range o.Outcomes {
		if len(r.Outcomes) >= MaxOutcomes {
			r.Truncated = true
			break
		}
		r.Outcomes = append(r.Outcomes, out)
	}
	r.Next = o.Next
}
