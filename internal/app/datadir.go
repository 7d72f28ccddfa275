package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckDataFolder reports whether accord serve could keep its data in dir,
// for serve --check, without creating it: dir must be a folder it can write
// in, or not exist yet under a folder it can create it in (the check writes
// and removes a temporary file there).
func CheckDataFolder(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	at := abs
	for {
		st, err := os.Stat(at)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("data folder %s: %s is not a folder; pass --data (or set data:) to a folder accord serve may create and write in", dir, at)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data folder %s: %w", dir, err)
		}
		parent := filepath.Dir(at)
		if parent == at {
			return fmt.Errorf("data folder %s: no part of its path exists", dir)
		}
		at = parent
	}
	f, err := os.CreateTemp(at, ".accord-check-*")
	if err != nil {
		what := "write in it"
		if at != abs {
			what = "create " + abs + " in it"
		}
		return fmt.Errorf("data folder %s: accord serve could not %s (%v); pass --data (or set data:) to a folder it may write in", dir, what, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
