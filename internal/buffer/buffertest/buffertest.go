// Package buffertest is the conformance suite that every buffer.Buffer
// implementation passes: the disk buffer today, Kafka and NATS JetStream later.
package buffertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/google/go-cmp/cmp"
)

// Open opens the buffer under test on the storage named by name (a directory for
// the disk buffer, a topic or stream for the others) with the given consumers.
// Opening the same name again after Close must find what was stored there; a new
// name must be empty. Open closes nothing itself: the suite closes every buffer it
// opens.
type Open func(t *testing.T, name string, consumers []string) buffer.Buffer

// Run runs the conformance suite against the implementation opened by open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		run  func(t *testing.T, open Open)
	}{
		{"AppendReadAck", testAppendReadAck},
		{"IndependentConsumers", testIndependentConsumers},
		{"RedeliveryAfterReopen", testRedelivery},
		{"AckOutOfOrder", testAckOutOfOrder},
		{"Rewind", testRewind},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Errors", testErrors},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

func recs(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

func mustClose(t *testing.T, b buffer.Buffer) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// readN reads n records for consumer, checking that sequence numbers are
// contiguous, and acknowledges them when ack is set.
func readN(t *testing.T, b buffer.Buffer, consumer string, n int, ack bool) (first uint64, got [][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < n {
		batch, err := b.Read(ctx, consumer, n-len(got))
		if err != nil {
			t.Fatalf("Read (%d of %d records so far): %v", len(got), n, err)
		}
		if len(batch.Records) == 0 || batch.Consumer != consumer {
			t.Fatalf("Read returned %d records for consumer %q, want at least one for %q", len(batch.Records), batch.Consumer, consumer)
		}
		if len(got) == 0 {
			first = batch.First
		} else if want := first + uint64(len(got)); batch.First != want {
			t.Fatalf("batch starts at sequence %d, want %d", batch.First, want)
		}
		got = append(got, batch.Records...)
		if ack {
			if err := b.Ack(ctx, batch); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
	return first, got
}

// expectEmpty checks that consumer has nothing to read.
func expectEmpty(t *testing.T, b buffer.Buffer, consumer string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	batch, err := b.Read(ctx, consumer, 100)
	if err == nil {
		t.Fatalf("Read of consumer %q returned %d records, want none", consumer, len(batch.Records))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read of consumer %q: %v, want context.DeadlineExceeded", consumer, err)
	}
}

func testAppendReadAck(t *testing.T, open Open) {
	b := open(t, t.Name(), []string{"c"})
	defer mustClose(t, b)
	ctx := context.Background()
	want := recs("r", 50)
	for i := 0; i < len(want); i += 10 {
		if err := b.Append(ctx, want[i:i+10]); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	_, got := readN(t, b, "c", 50, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	expectEmpty(t, b, "c")
	st, err := b.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Records != 0 {
		t.Errorf("Stats.Records = %d after acknowledging everything, want 0", st.Records)
	}
}

func testIndependentConsumers(t *testing.T, open Open) {
	b := open(t, t.Name(), []string{"a", "b"})
	defer mustClose(t, b)
	want := recs("r", 20)
	if err := b.Append(context.Background(), want); err != nil {
		t.Fatalf("Append: %v", err)
	}
	_, gotA := readN(t, b, "a", 20, true)
	_, gotB := readN(t, b, "b", 5, true)
	if diff := cmp.Diff(want, gotA); diff != "" {
		t.Errorf("consumer a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:5], gotB); diff != "" {
		t.Errorf("consumer b (-want +got):\n%s", diff)
	}
	st, err := b.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Records != 15 {
		t.Errorf("Stats.Records = %d, want the slowest consumer's backlog, 15", st.Records)
	}
}

func testRedelivery(t *testing.T, open Open) {
	name := t.Name()
	b := open(t, name, []string{"c"})
	want := recs("r", 30)
	if err := b.Append(context.Background(), want); err != nil {
		t.Fatalf("Append: %v", err)
	}
	readN(t, b, "c", 10, true)  // delivered
	readN(t, b, "c", 10, false) // read, never acknowledged
	mustClose(t, b)

	b = open(t, name, []string{"c"})
	defer mustClose(t, b)
	_, got := readN(t, b, "c", 20, false)
	if diff := cmp.Diff(want[10:], got); diff != "" {
		t.Errorf("records after reopening (-want +got):\n%s", diff)
	}
	expectEmpty(t, b, "c")
}

func testAckOutOfOrder(t *testing.T, open Open) {
	name := t.Name()
	b := open(t, name, []string{"c"})
	ctx := context.Background()
	if err := b.Append(ctx, recs("r", 9)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	var batches []buffer.Batch
	for got := 0; got < 9; {
		batch, err := b.Read(ctx, "c", 3)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		batches = append(batches, batch)
		got += len(batch.Records)
	}
	for i := len(batches) - 1; i >= 0; i-- {
		if err := b.Ack(ctx, batches[i]); err != nil {
			t.Fatalf("Ack(batch %d): %v", i, err)
		}
	}
	if err := b.Ack(ctx, batches[0]); err != nil {
		t.Errorf("acknowledging a batch twice: %v, want nil", err)
	}
	mustClose(t, b)
	b = open(t, name, []string{"c"})
	defer mustClose(t, b)
	expectEmpty(t, b, "c")
}

// testRewind: after Rewind a consumer reads again from its first unacknowledged
// record, batches whose records were dropped can still be acknowledged, and
// other consumers are not moved.
func testRewind(t *testing.T, open Open) {
	name := t.Name()
	b := open(t, name, []string{"c", "other"})
	ctx := context.Background()
	all := recs("r", 12)
	if err := b.Append(ctx, all); err != nil {
		t.Fatalf("Append: %v", err)
	}
	var batches []buffer.Batch
	for got := 0; got < 12; {
		batch, err := b.Read(ctx, "c", 3)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		got += len(batch.Records)
		batch.Records = nil // a loader that keeps no copy
		batches = append(batches, batch)
	}
	if len(batches) < 3 {
		t.Fatalf("read 12 records in %d batches of at most 3", len(batches))
	}
	if err := b.Ack(ctx, batches[0]); err != nil {
		t.Fatalf("Ack of a batch whose records were dropped: %v", err)
	}
	// Acknowledged out of order: read again after the rewind, like the rest.
	if err := b.Ack(ctx, batches[2]); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	_, otherRead := readN(t, b, "other", 2, false)
	if err := b.Rewind(ctx, "c"); err != nil {
		t.Fatalf("Rewind: %v", err)
	}
	first, again := readN(t, b, "c", 12-int(batches[1].First), true)
	if first != batches[1].First {
		t.Fatalf("after Rewind the consumer reads from %d, want its first unacknowledged record %d", first, batches[1].First)
	}
	for i, r := range again {
		if want := all[int(first)+i]; !bytes.Equal(r, want) {
			t.Fatalf("record %d after Rewind: %q, want %q", int(first)+i, r, want)
		}
	}
	expectEmpty(t, b, "c")
	if _, next := readN(t, b, "other", 1, false); !bytes.Equal(next[0], all[2]) || !bytes.Equal(otherRead[0], all[0]) {
		t.Fatalf("Rewind of c moved consumer other: it read %q then %q", otherRead[0], next[0])
	}
	if err := b.Rewind(ctx, "nobody"); !errors.Is(err, buffer.ErrUnknownConsumer) {
		t.Fatalf("Rewind of an unknown consumer: %v, want ErrUnknownConsumer", err)
	}
	mustClose(t, b)
	b = open(t, name, []string{"c", "other"})
	defer mustClose(t, b)
	expectEmpty(t, b, "c")
	if err := b.Rewind(ctx, "c"); err != nil {
		t.Fatalf("Rewind with nothing to read again: %v", err)
	}
	expectEmpty(t, b, "c")
}

func testConcurrentAppends(t *testing.T, open Open) {
	const appenders, each = 16, 50
	b := open(t, t.Name(), []string{"c"})
	defer mustClose(t, b)
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for g := range appenders {
		wg.Go(func() {
			for i := range each {
				if err := b.Append(context.Background(), [][]byte{[]byte(fmt.Sprintf("%d/%d", g, i))}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	_, got := readN(t, b, "c", appenders*each, true)
	next := make([]int, appenders)
	for _, r := range got {
		var g, i int
		if _, err := fmt.Sscanf(string(r), "%d/%d", &g, &i); err != nil || g < 0 || g >= appenders || i != next[g] {
			t.Fatalf("record %q out of order or unknown (appender %d expects %d next)", r, g, next[max(0, min(g, appenders-1))])
		}
		next[g]++
	}
}

func testErrors(t *testing.T, open Open) {
	b := open(t, t.Name(), []string{"c"})
	defer mustClose(t, b)
	ctx := context.Background()
	if _, err := b.Read(ctx, "nobody", 1); !errors.Is(err, buffer.ErrUnknownConsumer) {
		t.Errorf("Read of an unknown consumer: %v, want ErrUnknownConsumer", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Read(canceled, "c", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a canceled context: %v, want context.Canceled", err)
	}
	if err := b.Append(canceled, recs("r", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v, want context.Canceled", err)
	}
}

func testClose(t *testing.T, open Open) {
	b := open(t, t.Name(), []string{"c"})
	readErr := make(chan error, 1)
	go func() {
		_, err := b.Read(context.Background(), "c", 1)
		readErr <- err
	}()
	mustClose(t, b)
	select {
	case err := <-readErr:
		if !errors.Is(err, buffer.ErrClosed) {
			t.Errorf("Read blocked during Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read blocked during Close did not return")
	}
	if err := b.Append(context.Background(), recs("r", 1)); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := b.Rewind(context.Background(), "c"); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Rewind after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}
