package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Watch reloads the registry whenever SIGHUP arrives (or a value on
// Config.Signals) and whenever a poll every Config.PollInterval sees a file of the
// folder added, removed, resized or touched. It returns nil when ctx ends. Failed
// reloads are logged with every problem and leave the previous snapshot serving;
// a folder that stays broken is not reloaded again until it changes or a signal
// asks for it. Run one Watch per Registry.
func (r *Registry) Watch(ctx context.Context) error {
	sig := r.cfg.Signals
	if sig == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		sig = ch
	}
	var tick <-chan time.Time
	if r.cfg.PollInterval > 0 {
		t := time.NewTicker(r.cfg.PollInterval)
		defer t.Stop()
		tick = t.C
	}
	r.log.Info("watching registry", "dir", r.cfg.Dir, "poll_interval", r.cfg.PollInterval.String())
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-sig:
			if !ok {
				sig = nil // a closed channel would fire forever
				continue
			}
			r.logReload(fmt.Sprint(s), r.Reload())
		case <-tick:
			r.poll()
		}
	}
}

// poll reloads when the folder's fingerprint differs from the one last loaded (or
// last attempted) and has stayed the same for a whole interval: a file still
// being written changes between two polls, and a contract cut short can be
// valid YAML and a valid schema (one that lost its x-pii annotations would
// store personal data in plain text), so no file is loaded mid-write unless
// its writer stalls for a whole poll interval (write a temporary file and
// rename it to be sure). It reports whether it tried a reload.
func (r *Registry) poll() bool {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	fp, err := fingerprint(r.cfg.Dir)
	if err != nil {
		// Remember the failure as the fingerprint, so that it is reported once and
		// not on every tick.
		fp = "unlistable: " + err.Error()
	}
	if fp == r.lastPrint {
		r.seenPrint = ""
		return false
	}
	if fp != r.seenPrint {
		r.seenPrint = fp // changed since the last poll: wait for it to settle
		return false
	}
	r.seenPrint = ""
	r.logReload("file change", r.reloadLocked(fp))
	return true
}

// logReload logs a failed reload, one line per problem, so that each names its
// file and line. Successful reloads are logged by reloadLocked.
func (r *Registry) logReload(trigger string, err error) {
	if err == nil {
		return
	}
	problems := splitJoined(err)
	r.log.Error("registry reload failed; still serving the previous snapshot", "dir", r.cfg.Dir, "trigger", trigger, "problems", len(problems))
	for _, p := range problems {
		r.log.Error("registry problem", "dir", r.cfg.Dir, "problem", p.Error())
	}
}

// splitJoined returns the errors joined (errors.Join) somewhere inside err, or err
// alone.
func splitJoined(err error) []error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			return j.Unwrap()
		}
	}
	return []error{err}
}

// fingerprint summarises the folder's files (path, size, modification time and
// type) into a hash that changes when any of them does. Hidden files and folders
// are left out, as the loader leaves them out: an editor's swap file does not
// cause a reload.
func fingerprint(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			// A folder's own time changes with any entry, hidden ones included; its
			// entries are listed one by one anyway.
			fmt.Fprintf(h, "%s/\n", filepath.ToSlash(rel))
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing: the next poll sees it gone
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\n", filepath.ToSlash(rel), info.Size(), info.ModTime().UnixNano(), info.Mode().Type())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("listing registry %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
