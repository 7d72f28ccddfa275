package buffer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	recLen   = 100
	frameLen = frameHeaderSize + recLen
	// recoverySegment holds 8 records of recLen bytes.
	recoverySegment = segHeaderSize + 8*frameLen + 50
)

// fixedRecords returns n records of recLen bytes, each starting with its index.
func fixedRecords(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		r := bytes.Repeat([]byte{'a' + byte(i%26)}, recLen)
		copy(r, fmt.Sprintf("%05d", i))
		out[i] = r
	}
	return out
}

// frameOffset is the file offset of record i of a segment holding fixedRecords.
func frameOffset(i int) int64 { return int64(segHeaderSize + i*frameLen) }

// filled creates a closed buffer in a new directory holding n fixedRecords in
// segments of 8 records.
func filled(t *testing.T, n int) (dir string, segs []string) {
	t.Helper()
	dir = t.TempDir()
	d, err := Open(dir, Options{SegmentBytes: recoverySegment})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, d, fixedRecords(n))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, segmentFiles(t, dir)
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, path, []byte{b[off] ^ 0x10}, off)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// TestTornWrite damages the end of the last segment the way an interrupted append
// does: Open cuts the torn record off and keeps everything before it.
func TestTornWrite(t *testing.T) {
	tests := []struct {
		name    string
		n       int // records appended
		damage  func(t *testing.T, dir string, segs []string)
		want    int   // records that survive
		size    int64 // expected size of the last segment after Open
		segsNow int   // segment files after Open
	}{
		{
			name: "payload cut short",
			n:    5,
			damage: func(t *testing.T, _ string, segs []string) {
				truncate(t, segs[0], frameOffset(5)-7)
			},
			want: 4, size: frameOffset(4), segsNow: 1,
		},
		{
			name: "header cut short",
			n:    5,
			damage: func(t *testing.T, _ string, segs []string) {
				truncate(t, segs[0], frameOffset(4)+9)
			},
			want: 4, size: frameOffset(4), segsNow: 1,
		},
		{
			// Zeros from the last record to the end of the file are space
			// written ahead (Options.Prewrite), or an extension whose data pages
			// never reached the disk: the records end there and nothing is cut.
			name: "file extended with zeros (space written ahead, or data pages lost)",
			n:    5,
			damage: func(t *testing.T, _ string, segs []string) {
				writeAt(t, segs[0], make([]byte, 3000), frameOffset(5))
			},
			want: 5, size: frameOffset(5) + 3000, segsNow: 1,
		},
		{
			name: "last record's sectors lost to the end of the file",
			n:    7,
			damage: func(t *testing.T, _ string, segs []string) {
				// Record 6 spans bytes 744..864, the end of the file: zero it, as
				// a lost write would leave it.
				writeAt(t, segs[0], make([]byte, frameLen), frameOffset(6))
			},
			want: 6, size: frameOffset(7), segsNow: 1,
		},
		{
			name: "payload sector lost inside the last record",
			n:    4, // record 3 spans 384..504 and then more on
			damage: func(t *testing.T, dir string, segs []string) {
				// Append a record spanning a whole sector, then zero that sector.
				d, err := Open(dir, Options{SegmentBytes: 4096})
				if err != nil {
					t.Fatal(err)
				}
				appendAll(t, d, [][]byte{bytes.Repeat([]byte{'z'}, 1500)})
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				writeAt(t, segs[0], make([]byte, sectorSize), 2*sectorSize)
			},
			want: 4, size: frameOffset(4), segsNow: 1,
		},
		{
			name: "next segment created but empty",
			n:    8,
			damage: func(t *testing.T, dir string, _ []string) {
				if err := os.WriteFile(filepath.Join(dir, segmentName(8)), nil, 0o640); err != nil {
					t.Fatal(err)
				}
			},
			want: 8, size: segHeaderSize, segsNow: 2,
		},
		{
			name: "next segment with a zero header",
			n:    8,
			damage: func(t *testing.T, dir string, _ []string) {
				if err := os.WriteFile(filepath.Join(dir, segmentName(8)), make([]byte, segHeaderSize), 0o640); err != nil {
					t.Fatal(err)
				}
			},
			want: 8, size: segHeaderSize, segsNow: 2,
		},
		{
			name: "torn write in the second segment",
			n:    12,
			damage: func(t *testing.T, _ string, segs []string) {
				truncate(t, segs[1], frameOffset(3)+1)
			},
			want: 11, size: frameOffset(3), segsNow: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs := filled(t, tt.n)
			tt.damage(t, dir, segs)
			damaged := segmentFiles(t, dir)
			sizeBefore := fileSize(t, damaged[len(damaged)-1])
			d := open(t, dir, Options{SegmentBytes: recoverySegment})
			if st := stats(t, d); st.TornBytes != max(0, sizeBefore-tt.size) {
				t.Errorf("Stats.TornBytes = %d, want %d", st.TornBytes, max(0, sizeBefore-tt.size))
			}
			got := readAll(t, d, DefaultConsumer)
			if diff := cmp.Diff(fixedRecords(tt.n)[:tt.want], got); diff != "" {
				t.Fatalf("records after recovery (-want +got):\n%s", diff)
			}
			now := segmentFiles(t, dir)
			if len(now) != tt.segsNow {
				t.Fatalf("segment files after recovery = %q, want %d", now, tt.segsNow)
			}
			if size := fileSize(t, now[len(now)-1]); size != tt.size {
				t.Errorf("last segment has %d bytes after recovery, want %d", size, tt.size)
			}
			// The buffer goes on: sequence numbers continue after the survivors.
			appendAll(t, d, [][]byte{[]byte("after")})
			b, err := d.Read(context.Background(), DefaultConsumer, 10)
			if err != nil {
				t.Fatal(err)
			}
			if b.First != uint64(tt.want) || string(b.Records[0]) != "after" {
				t.Errorf("record appended after recovery = %d %q, want %d %q", b.First, b.Records[0], tt.want, "after")
			}
		})
	}
}

// TestCorruption damages stored data in ways that no interrupted append causes:
// Open refuses to go on and says which file and where.
func TestCorruption(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		damage   func(t *testing.T, dir string, segs []string)
		seg      int   // index of the segment named in the error
		offset   int64 // offset named in the error
		inReason string
	}{
		{
			name:   "payload bit flip in the middle of the last segment",
			n:      6,
			damage: func(t *testing.T, _ string, segs []string) { flipByte(t, segs[0], frameOffset(2)+frameHeaderSize+50) },
			seg:    0, offset: frameOffset(2), inReason: "payload checksum mismatch",
		},
		{
			name:   "length bit flip in the middle of the last segment",
			n:      6,
			damage: func(t *testing.T, _ string, segs []string) { flipByte(t, segs[0], frameOffset(3)+1) },
			seg:    0, offset: frameOffset(3), inReason: "header checksum mismatch",
		},
		{
			name:   "bit flip in the last record of the last segment",
			n:      6,
			damage: func(t *testing.T, _ string, segs []string) { flipByte(t, segs[0], frameOffset(5)+frameHeaderSize+3) },
			seg:    0, offset: frameOffset(5), inReason: "payload checksum mismatch",
		},
		{
			name:   "bit flip in an older segment",
			n:      20,
			damage: func(t *testing.T, _ string, segs []string) { flipByte(t, segs[1], frameOffset(7)+frameHeaderSize) },
			seg:    1, offset: frameOffset(7), inReason: "payload checksum mismatch",
		},
		{
			name:   "older segment cut short",
			n:      20,
			damage: func(t *testing.T, _ string, segs []string) { truncate(t, segs[0], frameOffset(8)-1) },
			seg:    0, offset: frameOffset(7), inReason: "cut short",
		},
		{
			name:   "bad magic",
			n:      3,
			damage: func(t *testing.T, _ string, segs []string) { writeAt(t, segs[0], []byte("NOTOURS!"), 0) },
			seg:    0, offset: 0, inReason: "bad magic",
		},
		{
			name:   "header and file name disagree",
			n:      10,
			damage: func(t *testing.T, _ string, segs []string) { writeAt(t, segs[1], encodeSegmentHeader(9), 0) },
			seg:    1, offset: 0, inReason: "header says base sequence 9 but the file name says 8",
		},
		{
			name:   "missing segment",
			n:      20,
			damage: func(t *testing.T, _ string, segs []string) { os.Remove(segs[1]) },
			seg:    0, offset: frameOffset(8), inReason: "next segment starts at 16",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs := filled(t, tt.n)
			tt.damage(t, dir, segs)
			before := segmentFiles(t, dir)
			d, err := Open(dir, Options{SegmentBytes: recoverySegment})
			if err == nil {
				d.Close()
				t.Fatal("Open of a corrupt buffer succeeded")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want a *CorruptError", err)
			}
			if ce.Path != segs[tt.seg] || ce.Offset != tt.offset || !strings.Contains(ce.Reason, tt.inReason) {
				t.Errorf("Open: %v\nwant the error at %s offset %d mentioning %q", err, segs[tt.seg], tt.offset, tt.inReason)
			}
			if diff := cmp.Diff(before, segmentFiles(t, dir)); diff != "" {
				t.Errorf("a failed Open changed the segment files (-before +after):\n%s", diff)
			}
		})
	}
}

// TestInconsistentOffsets covers a consumer offsets file that does not match the
// segments: Open fails and deletes nothing.
func TestInconsistentOffsets(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, segs []string)
		want   string
	}{
		{
			name: "position past the end",
			damage: func(t *testing.T, dir string, _ []string) {
				writeOffsetsFile(t, dir, `{"version":1,"consumers":{"default":1000}}`)
			},
			want: "record 1000, is outside the records stored (0 to 20)",
		},
		{
			name: "acknowledged records cut off",
			damage: func(t *testing.T, dir string, segs []string) {
				writeOffsetsFile(t, dir, `{"version":1,"consumers":{"default":19}}`)
				truncate(t, segs[2], frameOffset(1)+3)
			},
			want: "record 19, is outside the records stored (0 to 17)",
		},
		{
			name: "segments missing",
			damage: func(t *testing.T, dir string, segs []string) {
				for _, s := range segs {
					os.Remove(s)
				}
			},
			want: "no segment file",
		},
		{
			name: "unknown field",
			damage: func(t *testing.T, dir string, _ []string) {
				writeOffsetsFile(t, dir, `{"version":1,"consumers":{},"extra":1}`)
			},
			want: `unknown field "extra"`,
		},
		{
			name: "future version",
			damage: func(t *testing.T, dir string, _ []string) {
				writeOffsetsFile(t, dir, `{"version":2,"consumers":{}}`)
			},
			want: "unsupported version 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs := filled(t, 20)
			tt.damage(t, dir, segs)
			before := segmentSizes(t, dir)
			d, err := Open(dir, Options{SegmentBytes: recoverySegment})
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v\nwant an error mentioning %q", err, tt.want)
			}
			if diff := cmp.Diff(before, segmentSizes(t, dir)); diff != "" {
				t.Errorf("a failed Open changed the segment files (-before +after):\n%s", diff)
			}
		})
	}
}

func writeOffsetsFile(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, offsetsName), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptionWhileOpen damages a record after Open: Read reports it, and keeps
// reporting it rather than skipping the record.
func TestCorruptionWhileOpen(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{})
	appendAll(t, d, fixedRecords(5))
	flipByte(t, segmentFiles(t, dir)[0], frameOffset(2)+frameHeaderSize+10)
	ctx := context.Background()
	b, err := d.Read(ctx, DefaultConsumer, 2)
	if err != nil || len(b.Records) != 2 {
		t.Fatalf("Read of the records before the damage = %d records, %v; want 2", len(b.Records), err)
	}
	for range 2 {
		_, err := d.Read(ctx, DefaultConsumer, 10)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Offset != frameOffset(2) {
			t.Fatalf("Read of the damaged record = %v, want a *CorruptError at offset %d", err, frameOffset(2))
		}
	}
}

// TestAcknowledgedSegmentsDeletedAtOpen covers a crash between storing an
// acknowledgment and deleting the segments it frees.
func TestAcknowledgedSegmentsDeletedAtOpen(t *testing.T) {
	dir, segs := filled(t, 20) // segments at 0, 8, 16
	writeOffsetsFile(t, dir, `{"version":1,"consumers":{"default":17}}`)
	d := open(t, dir, Options{SegmentBytes: recoverySegment})
	if diff := cmp.Diff(segs[2:], segmentFiles(t, dir)); diff != "" {
		t.Errorf("segment files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fixedRecords(20)[17:], readAll(t, d, DefaultConsumer)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// segmentSizes maps the segment files of dir to their sizes.
func segmentSizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, f := range segmentFiles(t, dir) {
		m[f] = fileSize(t, f)
	}
	return m
}
