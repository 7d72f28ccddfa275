package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

func TestStdoutConformance(t *testing.T) {
	sinktest.Run(t, func(t testing.TB) sinktest.Target {
		var buf bytes.Buffer
		return sinktest.Target{
			Sink: sink.NewStdout(&buf),
			Stored: func(context.Context) ([]string, error) {
				var ids []string
				sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var e struct {
						EventID string `json:"event_id"`
					}
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						return nil, err
					}
					ids = append(ids, e.EventID)
				}
				return ids, sc.Err()
			},
		}
	})
}

// flaky fails its first writes, as a pipe whose reader went away and came back
// (a restarted log shipper behind a FIFO) would.
type flaky struct {
	fails int
	buf   bytes.Buffer
}

func (f *flaky) Write(p []byte) (int, error) {
	if f.fails > 0 {
		f.fails--
		return 0, errors.New("broken pipe")
	}
	return f.buf.Write(p)
}

// TestStdoutRecovers: a failed write fails the batch, and the batch written
// again (as the loader does) comes out whole: the failure does not stick to
// the writer, and no half-written line is left before it.
func TestStdoutRecovers(t *testing.T) {
	out := &flaky{fails: 2}
	s := sink.NewStdout(out)
	batch := []event.Envelope{{V: 1, EventID: "e1", Schema: "s", Data: []byte(`{}`)}, {V: 1, EventID: "e2", Schema: "s", Data: []byte(`{}`)}}
	for range 2 {
		if err := s.WriteBatch(context.Background(), batch); err == nil || !strings.Contains(err.Error(), "writing envelopes to stdout") {
			t.Fatalf("a failed write answered %v", err)
		}
	}
	if err := s.WriteBatch(context.Background(), batch); err != nil {
		t.Fatalf("the write after the failures: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"event_id":"e1"`) || !strings.Contains(lines[1], `"event_id":"e2"`) {
		t.Fatalf("stdout holds %q", out.buf.String())
	}
}
