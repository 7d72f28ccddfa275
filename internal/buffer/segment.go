package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// On-disk format (docs/buffer.md has the full description).
//
// A segment file is named after the sequence number of its first record,
// "%020d.seg", and starts with a header:
//
//	0:8   magic "ACCBUF\x00\x00"
//	8:12  format version, uint32 little-endian (1)
//	12:20 base sequence number, uint64 little-endian (equals the file name)
//	20:24 CRC32C of bytes 0:20
//
// Records follow back to back, each framed as:
//
//	0:4   payload length, uint32 little-endian
//	4:12  append time, Unix nanoseconds, int64 little-endian
//	12:16 CRC32C of bytes 0:12 (the header checksum)
//	16:20 CRC32C of the payload
//	20:   payload
//
// The header checksum makes the length trustworthy on its own, so a frame cut short
// by the end of the file (a torn write) can be told from a damaged length field.
const (
	segMagic        = "ACCBUF\x00\x00"
	segVersion      = 1
	segHeaderSize   = 24
	frameHeaderSize = 20
	segSuffix       = ".seg"
	sectorSize      = 512
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CorruptError reports stored data that fails its checks and is not a torn final
// write. It names the file and the byte offset of the damaged record or header.
// The buffer refuses to go past it rather than skip records silently: inspect the
// file, restore it from a backup or move it aside, then restart.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("buffer: corrupt data in %s at offset %d: %s (the buffer will not skip it: inspect the file, restore or move it aside, then restart)", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true for every *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func segmentName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// parseSegmentName returns the base sequence number of a segment file name, or
// ok=false when name is not a segment file.
func parseSegmentName(name string) (base uint64, ok bool) {
	digits, found := strings.CutSuffix(name, segSuffix)
	if !found || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return base, true
}

func encodeSegmentHeader(base uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h[0:8], segMagic)
	binary.LittleEndian.PutUint32(h[8:12], segVersion)
	binary.LittleEndian.PutUint64(h[12:20], base)
	binary.LittleEndian.PutUint32(h[20:24], crc32.Checksum(h[0:20], castagnoli))
	return h
}

// checkSegmentHeader validates h (segHeaderSize bytes) for a segment whose name
// says base, returning a reason when it is not valid.
func checkSegmentHeader(h []byte, base uint64) string {
	switch {
	case string(h[0:8]) != segMagic:
		return "not a buffer segment (bad magic)"
	case binary.LittleEndian.Uint32(h[20:24]) != crc32.Checksum(h[0:20], castagnoli):
		return "segment header checksum mismatch"
	case binary.LittleEndian.Uint32(h[8:12]) != segVersion:
		return fmt.Sprintf("unsupported segment format version %d", binary.LittleEndian.Uint32(h[8:12]))
	case binary.LittleEndian.Uint64(h[12:20]) != base:
		return fmt.Sprintf("header says base sequence %d but the file name says %d", binary.LittleEndian.Uint64(h[12:20]), base)
	}
	return ""
}

// appendFrame appends the frame of one record to dst.
func appendFrame(dst, payload []byte, unixNano int64) []byte {
	return append(appendFrameHeader(dst, payload, unixNano), payload...)
}

// appendFrameHeader appends the header of payload's frame to dst.
func appendFrameHeader(dst, payload []byte, unixNano int64) []byte {
	// Written in place: a header array of its own would escape to the heap
	// through crc32.Checksum, an allocation per record.
	n := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	h := dst[n : n+frameHeaderSize]
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[4:12], uint64(unixNano))
	binary.LittleEndian.PutUint32(h[12:16], crc32.Checksum(h[0:12], castagnoli))
	binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(payload, castagnoli))
	return dst
}

// frameStatus is the outcome of decoding one frame.
type frameStatus int

const (
	frameOK           frameStatus = iota
	frameShortHeader              // fewer than frameHeaderSize bytes
	frameBadHeader                // header checksum mismatch
	frameShortPayload             // header valid, payload cut short
	frameBadPayload               // payload checksum mismatch
)

func (s frameStatus) String() string {
	switch s {
	case frameOK:
		return "ok"
	case frameShortHeader:
		return "record header cut short"
	case frameBadHeader:
		return "record header checksum mismatch"
	case frameShortPayload:
		return "record payload cut short"
	case frameBadPayload:
		return "record payload checksum mismatch"
	}
	return "unknown frame status " + strconv.Itoa(int(s))
}

// frame is one decoded record.
type frame struct {
	payload  []byte
	unixNano int64
	size     int // frameHeaderSize + len(payload)
}

// decodeFrame decodes the frame at the start of b. It never returns frameOK for a
// frame whose checksums do not match. For frameShortPayload and frameBadPayload,
// f.size is the frame size that the (valid) header declares.
func decodeFrame(b []byte) (f frame, st frameStatus) {
	if len(b) < frameHeaderSize {
		return frame{}, frameShortHeader
	}
	if binary.LittleEndian.Uint32(b[12:16]) != crc32.Checksum(b[0:12], castagnoli) {
		return frame{}, frameBadHeader
	}
	n := int64(binary.LittleEndian.Uint32(b[0:4]))
	f.unixNano = int64(binary.LittleEndian.Uint64(b[4:12]))
	f.size = int(frameHeaderSize + n)
	if int64(len(b)) < frameHeaderSize+n {
		return f, frameShortPayload
	}
	p := b[frameHeaderSize : frameHeaderSize+n]
	if binary.LittleEndian.Uint32(b[16:20]) != crc32.Checksum(p, castagnoli) {
		return f, frameBadPayload
	}
	f.payload = p
	return f, frameOK
}

// scanResult is what scanning a segment found.
type scanResult struct {
	count uint64 // valid records
	end   int64  // offset just past the last valid record
	// torn is set when the segment ends in a torn write starting at end (only for
	// the last segment), with tornReason saying what was found there.
	torn       bool
	tornReason string
	// headerTorn is set when the last segment is too short to hold its header or its
	// header bytes are all zero: it was being created when the process died, and
	// holds no record.
	headerTorn bool
	// zeroTail is set when the last segment's records end before the file does
	// and every byte after them is zero: space written ahead (Options.Prewrite),
	// or an extension of the file whose data never reached the disk. The
	// records end at end; nothing is cut.
	zeroTail bool
}

// scanSegment validates the segment in r (size bytes, named path, base sequence
// base) and calls visit for every valid record, in order, with its file offset.
// The payload passed to visit is only valid during the call.
//
// In the last segment, zero bytes from the end of a record to the end of the
// file end the records cleanly (zeroTail). A damaged record is a torn write, and
// ends the segment, only when last is true and the damage is what an interrupted
// append leaves behind: a frame cut short by the end of the file, or a frame in
// which a 512-byte disk sector holds only zero bytes from the frame onwards (a
// sector write lost in a power failure). Any other damage, and any damage when
// last is false, is returned as a *CorruptError naming path and the offset.
func scanSegment(r io.ReaderAt, size int64, path string, base uint64, last bool, visit func(off int64, f frame)) (scanResult, error) {
	var res scanResult
	if size < segHeaderSize {
		if last {
			res.headerTorn = true
			return res, nil
		}
		return res, &CorruptError{Path: path, Offset: 0, Reason: fmt.Sprintf("file of %d bytes is too short for a segment header", size)}
	}
	h := make([]byte, segHeaderSize)
	if _, err := r.ReadAt(h, 0); err != nil {
		return res, fmt.Errorf("reading %s: %w", path, err)
	}
	if reason := checkSegmentHeader(h, base); reason != "" {
		if last && size == segHeaderSize && allZero(h) {
			res.headerTorn = true
			return res, nil
		}
		return res, &CorruptError{Path: path, Offset: 0, Reason: reason}
	}
	w := window{r: r, size: size}
	off := int64(segHeaderSize)
	for off < size {
		b, err := w.bytes(off, frameHeaderSize)
		if err != nil {
			return res, fmt.Errorf("reading %s: %w", path, err)
		}
		f, st := decodeFrame(b)
		if st == frameOK || st == frameShortPayload || st == frameBadPayload {
			// The header is valid: fetch the whole frame, bounded by the file.
			b, err = w.bytes(off, int64(f.size))
			if err != nil {
				return res, fmt.Errorf("reading %s: %w", path, err)
			}
			f, st = decodeFrame(b)
		}
		if st == frameOK {
			visit(off, f)
			res.count++
			off += int64(f.size)
			continue
		}
		res.end = off
		if last {
			zero, err := zeroFrom(r, off, size)
			if err != nil {
				return res, fmt.Errorf("reading %s: %w", path, err)
			}
			if zero {
				res.zeroTail = true
				return res, nil
			}
			torn, why, err := isTorn(r, size, off, f, st)
			if err != nil {
				return res, fmt.Errorf("reading %s: %w", path, err)
			}
			if torn {
				res.torn, res.tornReason = true, why
				return res, nil
			}
		}
		return res, &CorruptError{Path: path, Offset: off, Reason: st.String()}
	}
	res.end = off
	return res, nil
}

// isTorn tells whether the damaged frame at off, the last segment's first bad
// frame, is the remains of an interrupted write (see scanSegment).
func isTorn(r io.ReaderAt, size, off int64, f frame, st frameStatus) (bool, string, error) {
	switch st {
	case frameShortHeader:
		return true, "record header cut short by the end of the file", nil
	case frameShortPayload:
		return true, "record payload cut short by the end of the file", nil
	}
	// The frame's extent: the header only when the header itself is bad (its length
	// cannot be trusted), the whole frame when only the payload is bad.
	end := off + frameHeaderSize
	if st == frameBadPayload {
		end = off + int64(f.size)
	}
	for s := off - off%sectorSize; s < end; s += sectorSize {
		from, to := max(s, off), min(s+sectorSize, size)
		if from >= to {
			break
		}
		b := make([]byte, to-from)
		if _, err := r.ReadAt(b, from); err != nil && !errors.Is(err, io.EOF) {
			return false, "", err
		}
		if allZero(b) {
			return true, fmt.Sprintf("%s, with zero bytes from offset %d to %d (a lost sector write)", st, from, to), nil
		}
	}
	return false, "", nil
}

// zeroFrom tells whether the bytes of r from off to size are all zero.
func zeroFrom(r io.ReaderAt, off, size int64) (bool, error) {
	b := make([]byte, min(readChunk, size-off))
	for off < size {
		n := min(int64(len(b)), size-off)
		if _, err := r.ReadAt(b[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if !allZero(b[:n]) {
			return false, nil
		}
		off += n
	}
	return true, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// window reads a file through a buffer of at least readChunk bytes, so that
// scanning many small records costs few system calls.
type window struct {
	r    io.ReaderAt
	size int64
	off  int64
	buf  []byte
}

const readChunk = 1 << 20

// bytes returns up to n bytes at off, fewer only when the file ends first. The
// result is valid until the next call.
func (w *window) bytes(off, n int64) ([]byte, error) {
	n = min(n, w.size-off)
	if off >= w.off && off+n <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+n], nil
	}
	want := min(max(n, readChunk), w.size-off)
	if int64(cap(w.buf)) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	w.off = off
	if _, err := w.r.ReadAt(w.buf, off); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, err
	}
	return w.buf[:n], nil
}

// createSegment creates the segment file for base in dir, writes its header and
// makes both durable (file and directory fsync) before returning.
func createSegment(dir string, base uint64) (*os.File, string, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, path, fmt.Errorf("creating segment: %w", err)
	}
	if err := writeSegmentHeader(f, base); err != nil {
		return nil, path, errors.Join(err, f.Close())
	}
	if err := syncDir(dir); err != nil {
		return nil, path, errors.Join(err, f.Close())
	}
	return f, path, nil
}

func writeSegmentHeader(f *os.File, base uint64) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("truncating %s: %w", f.Name(), err)
	}
	if _, err := f.WriteAt(encodeSegmentHeader(base), 0); err != nil {
		return fmt.Errorf("writing header of %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	return nil
}

// syncDir fsyncs a directory so that file creations, renames and removals in it
// survive a power failure.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing directory %s: %w", dir, err), d.Close())
	}
	return d.Close()
}
