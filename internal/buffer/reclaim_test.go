package buffer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func reclaimingFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix+reclaimSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReclaimInBackground: the segments every consumer has passed leave the log
// at the Ack that passes them (renamed at once, so no segment is ever seen
// shortened), are deleted in the background a few MiB at a time, and are all
// gone once Close returns.
func TestReclaimInBackground(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{SegmentBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// Three segments of about 8 MiB: their deletion takes several paced steps.
	rec := bytes.Repeat([]byte("r"), 64<<10)
	var recs [][]byte
	for range 3 * 8 * 16 {
		recs = append(recs, rec)
	}
	for i := 0; i < len(recs); i += 16 {
		appendAll(t, d, recs[i:i+16])
	}
	segs := len(segmentFiles(t, dir))
	if segs < 3 {
		t.Fatalf("%d segment files, want at least 3", segs)
	}
	readN(t, d, DefaultConsumer, len(recs), true)
	if got := len(segmentFiles(t, dir)); got != 1 {
		t.Fatalf("%d segment files after the Ack of every record, want 1 (the others renamed out of the log)", got)
	}
	if got := stats(t, d).Segments; got != 1 {
		t.Fatalf("Stats counts %d segments, want 1", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if left := reclaimingFiles(t, dir); len(left) != 0 {
		t.Fatalf("files left after Close: %v", left)
	}
}

// TestReclaimLeftovers: a process that dies while a segment is cut down leaves a
// renamed, shortened file; Open deletes it, even when a consumer new to the
// directory (which would read from the oldest segment) is configured.
func TestReclaimLeftovers(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{SegmentBytes: 4096, Consumers: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	recs := records("r", 300)
	appendAll(t, d, recs[:200])
	readN(t, d, "a", 200, true)
	appendAll(t, d, recs[200:])
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// As a reclaimer leaves it: an old segment's name with the suffix, cut short
	// in the middle of a frame.
	leftover := filepath.Join(dir, segmentName(0)+reclaimSuffix)
	if err := os.WriteFile(leftover, append(encodeSegmentHeader(0), 1, 2, 3), 0o640); err != nil {
		t.Fatal(err)
	}
	d = open(t, dir, Options{SegmentBytes: 4096, Consumers: []string{"a", "b"}})
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("the leftover is still there after Open: %v", err)
	}
	if got := readN(t, d, "a", 100, false); !bytes.Equal(got[0], recs[200]) {
		t.Fatalf("consumer a resumed at %q, want %q", got[0], recs[200])
	}
	if got := readAll(t, d, "b"); len(got) == 0 || !bytes.Equal(got[len(got)-1], recs[299]) {
		t.Fatalf("the new consumer read %d records, ending at the wrong one", len(got))
	}
}
