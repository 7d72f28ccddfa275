package buffer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitBlank waits until d has a blank segment ready.
func waitBlank(t *testing.T, d *Disk) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); d.blank.bytes() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no blank segment written within 10s")
		}
	}
}

// zeroFile reports whether the file at path holds size bytes, all zero from
// offset from on.
func zeroFile(t *testing.T, path string, size, from int64) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)) == size && allZero(b[from:])
}

// TestPrewrite follows the blank segment written ahead: written once the active
// segment is half full, a roll takes it as the
// next segment (header in place, still SegmentBytes long), the segment it
// replaces is cut to its records, Stats counts the space, Close deletes the
// blank, and a reopened buffer reads the records up to the zeros and goes on
// appending into them, with or without Prewrite.
func TestPrewrite(t *testing.T) {
	const segBytes = 4096
	dir := t.TempDir()
	opts := Options{SegmentBytes: segBytes, Prewrite: true}
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, blankName)

	// The first segment is created empty; 33 records of 120 bytes framed fill
	// it. The blank is written once it is half full, and the roll takes it.
	var recs [][]byte
	for i := range 52 {
		recs = append(recs, bytes.Repeat([]byte{'a' + byte(i%26)}, 100))
	}
	appendAll(t, d, recs[:10])
	time.Sleep(20 * time.Millisecond)
	if _, err := os.Stat(blank); !os.IsNotExist(err) {
		t.Errorf("a blank was written for a segment not half full (%v)", err)
	}
	appendAll(t, d, recs[10:20])
	waitBlank(t, d)
	if !zeroFile(t, blank, segBytes, 0) {
		t.Fatalf("the blank is not %d zero bytes", segBytes)
	}
	appendAll(t, d, recs[20:52])
	segs := segmentFiles(t, dir)
	if len(segs) != 2 {
		t.Fatalf("segments %q, want 2", segs)
	}
	firstSize := fileSize(t, segs[0])
	if want := segHeaderSize + int64(countIn(t, segs[0]))*120; firstSize != want {
		t.Errorf("first segment has %d bytes, want %d: exactly its records", firstSize, want)
	}
	if size := fileSize(t, segs[1]); size != segBytes {
		t.Errorf("the segment made of the blank has %d bytes, want %d (written ahead)", size, segBytes)
	}
	waitBlank(t, d)
	if st := stats(t, d); st.Prewritten != 1 || st.PrewriteFailures != 0 {
		t.Errorf("Stats.Prewritten = %d, PrewriteFailures = %d, want 1 and 0", st.Prewritten, st.PrewriteFailures)
	}
	if got, want := stats(t, d).DiskBytes, firstSize+segBytes+segBytes; got != want {
		t.Errorf("Stats.DiskBytes = %d, want %d (the segments, the active one's space written ahead, the blank)", got, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blank); !os.IsNotExist(err) {
		t.Errorf("Close left the blank behind: %v", err)
	}

	// Reopened: the records end where the zeros start; nothing is cut, and
	// appends go into the zeros.
	for _, prewrite := range []bool{false, true} {
		d = open(t, dir, Options{SegmentBytes: segBytes, Prewrite: prewrite})
		if st := stats(t, d); st.TornBytes != 0 {
			t.Errorf("prewrite %v: reopening cut %d bytes", prewrite, st.TornBytes)
		}
		if got := readAll(t, d, DefaultConsumer); !cmp.Equal(got, recs) {
			t.Fatalf("prewrite %v: %d records after reopening, want the %d appended", prewrite, len(got), len(recs))
		}
		more := [][]byte{[]byte("after-" + map[bool]string{false: "off", true: "on"}[prewrite])}
		appendAll(t, d, more)
		recs = append(recs, more...)
		if got := readAll(t, d, DefaultConsumer); !cmp.Equal(got, more) {
			t.Fatalf("prewrite %v: appended into the zeros %q, read %q", prewrite, more, got)
		}
		if size := fileSize(t, segs[1]); size != segBytes {
			t.Errorf("prewrite %v: the last segment has %d bytes, want %d: nothing cut", prewrite, size, segBytes)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Filling the last segment rolls it, with or without a blank ready: it is
	// cut to its records first, since only the last segment may end in zeros.
	d = open(t, dir, Options{SegmentBytes: segBytes})
	for len(segmentFiles(t, dir)) < 3 {
		appendAll(t, d, [][]byte{bytes.Repeat([]byte{'z'}, 100)})
	}
	if size := fileSize(t, segs[1]); size >= segBytes {
		t.Errorf("rolled segment has %d bytes, want it cut to its records", size)
	}
	countIn(t, segs[1]) // fails on zeros after the records
}

// countIn counts the records of a segment file that is not the last: one that
// does not end with its last record fails the test.
func countIn(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	res, err := scanSegment(f, info.Size(), path, baseOf(t, path), false, func(int64, frame) {})
	if err != nil {
		t.Fatal(err)
	}
	return int(res.count)
}

func baseOf(t *testing.T, path string) uint64 {
	t.Helper()
	base, ok := parseSegmentName(filepath.Base(path))
	if !ok {
		t.Fatalf("%s is not a segment file", path)
	}
	return base
}

// TestPrewriteLeftBehind: a blank left by a process that died is deleted at
// Open, whatever it holds; it was never part of the log.
func TestPrewriteLeftBehind(t *testing.T) {
	dir, _ := filled(t, 3)
	blank := filepath.Join(dir, blankName)
	if err := os.WriteFile(blank, []byte("half written"), 0o640); err != nil {
		t.Fatal(err)
	}
	d := open(t, dir, Options{SegmentBytes: recoverySegment})
	if _, err := os.Stat(blank); !os.IsNotExist(err) {
		t.Errorf("Open kept the blank left behind: %v", err)
	}
	if got := readAll(t, d, DefaultConsumer); !cmp.Equal(got, fixedRecords(3)) {
		t.Errorf("records after Open = %d, want 3", len(got))
	}
}

// TestPrewriteOnlySmallCommits: a blank is written for the next segment only
// when the active one was filled by small commits, where it pays.
func TestPrewriteOnlySmallCommits(t *testing.T) {
	const segBytes = 1 << 20
	dir := t.TempDir()
	d := open(t, dir, Options{SegmentBytes: segBytes, Prewrite: true})
	blank := filepath.Join(dir, blankName)
	big := make([][]byte, 6)
	for i := range big {
		big[i] = bytes.Repeat([]byte{'b'}, 100_000)
	}
	appendAll(t, d, big) // 600 KB in one commit: past half, commits too large
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(blank); !os.IsNotExist(err) {
		t.Fatalf("a blank was written after a commit of 600 KB (%v)", err)
	}
	appendAll(t, d, big) // rolls: the second segment is created empty
	segs := segmentFiles(t, dir)
	if len(segs) != 2 || fileSize(t, segs[1]) >= segBytes {
		t.Fatalf("segments %q, want 2, the second not written ahead", segs)
	}
	small := bytes.Repeat([]byte{'s'}, 1000)
	for len(segmentFiles(t, dir)) == 2 && d.blank.bytes() == 0 {
		appendAll(t, d, [][]byte{small})
	}
	waitBlank(t, d)
}

// TestPrewriteFailure: a blank that cannot be written (here its path is taken
// by a directory) is counted, and the next segment grows as without Prewrite.
func TestPrewriteFailure(t *testing.T) {
	const segBytes = 4096
	dir := t.TempDir()
	d := open(t, dir, Options{SegmentBytes: segBytes, Prewrite: true})
	if err := os.Mkdir(filepath.Join(dir, blankName), 0o750); err != nil {
		t.Fatal(err)
	}
	rec := bytes.Repeat([]byte{'f'}, 100)
	for stats(t, d).PrewriteFailures == 0 {
		appendAll(t, d, [][]byte{rec})
		time.Sleep(time.Millisecond) // time for the blank's writer to fail

	}
	for len(segmentFiles(t, dir)) < 3 {
		appendAll(t, d, [][]byte{rec})
	}
	segs := segmentFiles(t, dir)
	if size := fileSize(t, segs[len(segs)-1]); size >= segBytes {
		t.Errorf("the segment after the failure has %d bytes, want it grown from empty", size)
	}
	if st := stats(t, d); st.Prewritten != 0 || st.PrewriteFailures == 0 {
		t.Errorf("Stats.Prewritten = %d, PrewriteFailures = %d, want 0 and at least 1", st.Prewritten, st.PrewriteFailures)
	}
}
