package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/accord-dev/accord/internal/admin"
)

// Client runs replays on a running collector (POST /v1/bad/replay): the
// collector owns the buffer and the vault, so a replay runs there.
type Client struct {
	// Base is the collector's URL (http://127.0.0.1:8080).
	Base string
	// Token is the admin token.
	Token string
	HTTP  *http.Client
}

// Replay runs one replay call: at most the request's limit of rows, or the
// server's time budget; the report's Next says where to go on.
func (c *Client) Replay(ctx context.Context, q Request) (Report, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return Report{}, fmt.Errorf("encoding the replay request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Base, "/")+"/v1/bad/replay", bytes.NewReader(body))
	if err != nil {
		return Report{}, fmt.Errorf("building the request to %q: %w (--server takes the collector's URL, such as http://127.0.0.1:8080)", c.Base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Report{}, fmt.Errorf("asking the collector at %s to replay: %w (is accord serve running there?)", c.Base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return Report{}, fmt.Errorf("reading the replay's answer: %w", err)
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
	var e admin.ErrorBody
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return Report{}, fmt.Errorf("the collector refused the replay (%s): %s", resp.Status, e.Message)
	}
	return Report{}, fmt.Errorf("the collector answered %s to the replay; is %s an accord collector?", resp.Status, c.Base)
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
