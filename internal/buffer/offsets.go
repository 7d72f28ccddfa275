package buffer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The consumer offsets file holds, for every consumer, the sequence number of the
// first record it has not acknowledged:
//
//	{"version":1,"consumers":{"loader":1234}}
//
// It is replaced atomically: written to a temporary file, fsync'd, renamed over the
// old one, and the directory fsync'd.
const (
	offsetsName    = "consumers.json"
	offsetsVersion = 1
)

type offsetsFile struct {
	Version   int               `json:"version"`
	Consumers map[string]uint64 `json:"consumers"`
}

// readOffsets reads the offsets file in dir; found is false when there is none.
func readOffsets(dir string) (offs map[string]uint64, found bool, err error) {
	path := filepath.Join(dir, offsetsName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]uint64{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading consumer offsets: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f offsetsFile
	if err := dec.Decode(&f); err != nil {
		return nil, true, fmt.Errorf("decoding consumer offsets %s: %w", path, err)
	}
	if f.Version != offsetsVersion {
		return nil, true, fmt.Errorf("decoding consumer offsets %s: unsupported version %d (want %d)", path, f.Version, offsetsVersion)
	}
	if f.Consumers == nil {
		f.Consumers = map[string]uint64{}
	}
	return f.Consumers, true, nil
}

// writeOffsets atomically replaces the offsets file in dir.
func writeOffsets(dir string, offs map[string]uint64) error {
	data, err := json.Marshal(offsetsFile{Version: offsetsVersion, Consumers: offs})
	if err != nil {
		return fmt.Errorf("encoding consumer offsets: %w", err)
	}
	path := filepath.Join(dir, offsetsName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("writing consumer offsets: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return errors.Join(fmt.Errorf("writing consumer offsets: %w", err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing consumer offsets: %w", err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing consumer offsets: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing consumer offsets: %w", err)
	}
	return syncDir(dir)
}
