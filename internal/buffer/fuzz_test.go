package buffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// segmentBytes returns a segment with base 0 holding recs.
func segmentBytes(recs ...[]byte) []byte {
	b := encodeSegmentHeader(0)
	for i, r := range recs {
		b = appendFrame(b, r, int64(i)*1e9)
	}
	return b
}

// fuzzSeeds are segment images like those of the unit tests: valid, torn, zeroed
// and damaged.
func fuzzSeeds() [][]byte {
	valid := segmentBytes(fixedRecords(6)...)
	big := segmentBytes([]byte("a"), bytes.Repeat([]byte{'z'}, 1500), []byte("b"))
	flip := func(b []byte, off int) []byte {
		b = bytes.Clone(b)
		b[off] ^= 0x10
		return b
	}
	zero := func(b []byte, from, to int) []byte {
		b = bytes.Clone(b)
		clear(b[from:min(to, len(b))])
		return b
	}
	return [][]byte{
		nil,
		encodeSegmentHeader(0),
		make([]byte, segHeaderSize),
		valid,
		valid[:len(valid)-7],
		valid[:frameOffset(4)+9],
		append(bytes.Clone(valid), make([]byte, 3000)...),
		zero(valid, int(frameOffset(5)), len(valid)),
		zero(big, 2*sectorSize, 3*sectorSize),
		flip(valid, int(frameOffset(2))+frameHeaderSize+50),
		flip(valid, int(frameOffset(3))+1),
		flip(valid, 3),
		segmentBytes([]byte{}, []byte{}, nil),
	}
}

// FuzzScanSegment feeds arbitrary bytes to the segment scanner used at Open: it
// never panics, never reports a record whose checksums do not match, reports a
// torn write or a zero tail only for the last segment, and otherwise either
// accounts for every byte or returns a *CorruptError.
func FuzzScanSegment(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, last bool) {
		next := int64(segHeaderSize)
		var visited uint64
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)), "fuzz.seg", 0, last, func(off int64, fr frame) {
			if off != next {
				t.Fatalf("record at offset %d, want %d (right after the previous one)", off, next)
			}
			checkFrame(t, data, off, fr.payload)
			next = off + int64(fr.size)
			visited++
		})
		if res.count != visited {
			t.Fatalf("count %d, but %d records visited", res.count, visited)
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("scan error %v is not a *CorruptError", err)
			}
			if ce.Path != "fuzz.seg" || ce.Offset < 0 || ce.Offset > int64(len(data)) {
				t.Fatalf("error %v names the wrong file or an offset outside the data", err)
			}
			return
		}
		if !last && (res.torn || res.headerTorn || res.zeroTail) {
			t.Fatalf("torn write or zero tail reported in a segment that is not the last: %+v", res)
		}
		switch {
		case res.headerTorn:
			if len(data) > segHeaderSize || visited > 0 {
				t.Fatalf("header reported torn in %d bytes with %d records", len(data), visited)
			}
		case res.zeroTail:
			if !last || res.end != next || res.end >= int64(len(data)) || !allZero(data[res.end:]) {
				t.Fatalf("zero tail from %d (last record ends at %d, data %d bytes, last %v), want zeros after the last record to the end of a last segment", res.end, next, len(data), last)
			}
		case res.torn:
			if res.end != next || res.end >= int64(len(data)) {
				t.Fatalf("torn write at %d, want right after the last record (%d) and before the end (%d)", res.end, next, len(data))
			}
		default:
			if res.end != int64(len(data)) || next != res.end {
				t.Fatalf("clean scan ended at %d (last record ends at %d), want the end of the data (%d)", res.end, next, len(data))
			}
		}
	})
}

// FuzzReadFrames feeds arbitrary bytes to the decoder used by Read: it never
// panics and never returns a record whose checksums do not match.
func FuzzReadFrames(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed, uint16(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		if len(data) <= segHeaderSize || n == 0 {
			return
		}
		recs, end, err := readFrames(bytes.NewReader(data), "fuzz.seg", segHeaderSize, int64(len(data)), uint64(n))
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CorruptError", err)
			}
			return
		}
		if len(recs) == 0 || len(recs) > int(n) || end > int64(len(data)) {
			t.Fatalf("%d records ending at %d, want 1 to %d ending within %d bytes", len(recs), end, n, len(data))
		}
		off := int64(segHeaderSize)
		for _, r := range recs {
			checkFrame(t, data, off, r)
			off += int64(frameHeaderSize + len(r))
		}
		if off != end {
			t.Fatalf("records end at %d, readFrames says %d", off, end)
		}
	})
}

// checkFrame verifies, independently of decodeFrame, that data holds a frame at off
// whose checksums match and whose payload is payload.
func checkFrame(t *testing.T, data []byte, off int64, payload []byte) {
	t.Helper()
	h := data[off : off+frameHeaderSize]
	if binary.LittleEndian.Uint32(h[12:16]) != crc32.Checksum(h[0:12], crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("record at %d returned with a bad header checksum", off)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	p := data[off+frameHeaderSize : off+frameHeaderSize+n]
	if binary.LittleEndian.Uint32(h[16:20]) != crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("record at %d returned with a bad payload checksum", off)
	}
	if !bytes.Equal(p, payload) {
		t.Fatalf("record at %d returned as %q, stored as %q", off, payload, p)
	}
}

// TestFrameHeaderInPlace: a frame header is written into dst, without an
// allocation of its own (one per record appended, before), and decodes back.
func TestFrameHeaderInPlace(t *testing.T) {
	payload := []byte(`E{"v":1}`)
	dst := make([]byte, 0, 4*frameHeaderSize)
	if n := testing.AllocsPerRun(100, func() { dst = appendFrameHeader(dst[:0], payload, 42) }); n != 0 {
		t.Errorf("appendFrameHeader allocated %.0f times, want 0", n)
	}
	f, st := decodeFrame(append(appendFrameHeader([]byte("x")[1:], payload, 42), payload...))
	if st != frameOK || !bytes.Equal(f.payload, payload) {
		t.Fatalf("the frame does not decode: %v %q", st, f.payload)
	}
}
