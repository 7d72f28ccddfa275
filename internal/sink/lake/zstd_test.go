package lake

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/accord-dev/accord/internal/sink/sinktest"
	"github.com/klauspost/compress/zstd"
)

// pageInputs are page-like inputs: envelope records (string columns), ascending
// integers (timestamps) and random bytes, from one byte to past the page buffer.
func pageInputs(tb testing.TB) [][]byte {
	var recs []byte
	for _, r := range records(tb, sinktest.Envelopes(0, 400)) {
		recs = append(recs, r...)
	}
	ints := make([]byte, 0, 300<<10)
	for i := uint64(0); len(ints) < cap(ints); i++ {
		ints = binary.LittleEndian.AppendUint64(ints, 1_700_000_000_000_000+i*997)
	}
	rnd := make([]byte, 300<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	var in [][]byte
	for _, src := range [][]byte{recs, ints, rnd} {
		for _, n := range []int{1, 100, 4 << 10, 64 << 10, 256 << 10, 300 << 10} {
			in = append(in, src[:min(n, len(src))])
		}
	}
	return in
}

// The lake's encoders run in low-memory mode: the pages they write must be the
// bytes a default encoder writes, and read back.
func TestZstdLowMemSameBytes(t *testing.T) {
	ref, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	c := &zstdCodec{}
	for i, src := range pageInputs(t) {
		got, err := c.Encode(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.EncodeAll(src, nil); !bytes.Equal(got, want) {
			t.Errorf("input %d (%d bytes): %d compressed bytes, the default encoder writes %d", i, len(src), len(got), len(want))
		}
		back, err := c.Decode(nil, got)
		if err != nil || !bytes.Equal(back, src) {
			t.Errorf("input %d (%d bytes) does not read back: %v", i, len(src), err)
		}
	}
}

// Encoders outlive garbage collections: a new one costs its tables and
// buffers, which a sync.Pool would pay again after every other GC.
func TestZstdKeepsEncodersAcrossGC(t *testing.T) {
	c := &zstdCodec{}
	src := pageInputs(t)[4]
	dst := make([]byte, 0, 2*len(src))
	if _, err := c.Encode(dst, src); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		runtime.GC()
		runtime.GC()
		if _, err := c.Encode(dst, src); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("an encode after two GCs made %.0f allocations: the encoder was not kept", allocs)
	}
	if len(c.encoders) != 1 {
		t.Errorf("%d idle encoders after sequential encodes, want 1", len(c.encoders))
	}
}
