package lake

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is the lake's ZSTD codec for Parquet pages. parquet-go's own
// (parquet.Zstd) keeps encoders with the default 8 MiB window, whose history
// buffers held about 32 MB of the lake's heap; a page is at most the page
// buffer (256 KiB), so a 512 KiB window compresses it as well. Files are
// ordinary ZSTD pages, read by any Parquet reader.
//
// Encoders are kept in a short free list rather than a sync.Pool: the loader
// compresses one page at a time, and a pool drops its encoders at every other
// GC, each new one costing about 1.5 MB of tables and buffers that the next GC
// counts as live. The encoders are created in low-memory mode, which allocates
// block buffers as a page needs them instead of for the largest block; the
// bytes they write are the same (TestZstdLowMemSameBytes).
type zstdCodec struct {
	mu       sync.Mutex
	encoders []*zstd.Encoder
	decoders sync.Pool
}

const (
	zstdWindow = 512 << 10
	// zstdFree is how many idle encoders the codec keeps: one per lake writer
	// compressing at once; the loader uses one.
	zstdFree = 2
)

var lakeZstd = &zstdCodec{}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func newZstdEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
}

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	var e *zstd.Encoder
	c.mu.Lock()
	if n := len(c.encoders); n > 0 {
		e = c.encoders[n-1]
		c.encoders = c.encoders[:n-1]
	}
	c.mu.Unlock()
	if e == nil {
		var err error
		if e, err = newZstdEncoder(); err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	c.mu.Lock()
	if len(c.encoders) < zstdFree {
		c.encoders = append(c.encoders, e)
	}
	c.mu.Unlock()
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.decoders.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		if d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
			return nil, err
		}
	}
	defer c.decoders.Put(d)
	return d.DecodeAll(src, dst[:0])
}
