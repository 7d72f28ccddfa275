package golang_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/golang/internal/acmeevents"
)

// TestAnswers runs the answer cases that every SDK passes (codegentest.RunAnswers):
// events settled by the collector's per-event answer, rejections reported to
// OnDrop with the collector's reason and failures, unreadable answers failed.
func TestAnswers(t *testing.T) {
	codegentest.RunAnswers(t, codegentest.Snapshot(t, "../testdata/examples/contracts"), sendSignups)
}

// sendSignups is codegentest.SendBatch for the Go SDK.
func sendSignups(t *testing.T, endpoint string, signups []map[string]any) codegentest.AnswerReport {
	t.Helper()
	var mu sync.Mutex
	rep := codegentest.AnswerReport{Drops: []codegentest.ReportedDrop{}}
	client, err := acmeevents.New(acmeevents.Config{Endpoint: endpoint, BatchSize: len(signups), FlushInterval: time.Minute,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		OnDrop: func(d acmeevents.Drop) {
			mu.Lock()
			defer mu.Unlock()
			rep.Drops = append(rep.Drops, reported(t, d))
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range signups {
		var s acmeevents.Signup
		remarshal(t, data, &s)
		if err := client.TrackSignup(s); err != nil {
			t.Fatalf("TrackSignup(%+v): %v", s, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := client.Stats()
	mu.Lock()
	defer mu.Unlock()
	rep.Stats = map[string]int{"queued": int(st.Queued), "sent": int(st.Sent), "invalid": int(st.Invalid), "dropped": int(st.Dropped),
		"rejected": int(st.Rejected), "failed": int(st.Failed), "retries": int(st.Retries), "batches": int(st.Batches)}
	return rep
}

// reported is a Go drop as the SDK scripts report theirs. It checks what only Go
// promises: Err is the *Rejection of a rejected event.
func reported(t *testing.T, d acmeevents.Drop) codegentest.ReportedDrop {
	r := codegentest.ReportedDrop{Reason: string(d.Reason), Error: d.Err.Error()}
	if d.Event != nil {
		r.Schema = d.Event.SchemaURI()
		remarshal(t, d.Event, &r.Data)
	}
	if d.Rejection != nil {
		var rej *acmeevents.Rejection
		if !errors.As(d.Err, &rej) || rej != d.Rejection {
			t.Errorf("a rejected drop's Err is %v, want its *Rejection", d.Err)
		}
		r.Rejection = &codegentest.ReportedRejection{}
		remarshal(t, map[string]any{"status": d.Rejection.Status, "event_id": d.Rejection.EventID, "reason": d.Rejection.Reason,
			"message": d.Rejection.Message, "failures": d.Rejection.Failures}, r.Rejection)
	}
	return r
}

// remarshal converts from into to through JSON.
func remarshal(t *testing.T, from, to any) {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		t.Errorf("converting %T to %T: %v", from, to, err)
	}
}
