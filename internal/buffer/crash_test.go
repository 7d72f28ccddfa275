package buffer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test runs its own test binary as a child process (see TestMain) that
// writes to a buffer until the parent kills it with SIGKILL.
const (
	crashDirEnv = "ACCORD_BUFFER_CRASH_DIR"
	crashRunEnv = "ACCORD_BUFFER_CRASH_RUN"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashRunEnv)))
	}
	os.Exit(m.Run())
}

// crashOptions keep segments small, so that the child rolls and deletes segments
// while it runs, and the capacity small, so that it also meets ErrFull. Odd runs
// write segments ahead (Prewrite), so that a buffer is reopened after a kill
// both with and without a last segment that ends in zeros, by an Open with and
// without Prewrite.
func crashOptions(run int) Options {
	return Options{SegmentBytes: 32 << 10, MaxBytes: 512 << 10, Consumers: []string{"loader"}, Prewrite: run%2 == 1}
}

// crashPayload is the record stored for id: the id, then filler whose length and
// content depend on the id, so that a damaged or mixed-up record is noticed.
func crashPayload(id string) []byte {
	var h uint32
	for _, c := range []byte(id) {
		h = h*31 + uint32(c)
	}
	return []byte(id + ":" + strings.Repeat(string(rune('a'+h%26)), int(h%300)))
}

// crashChild is the writer process. 16 goroutines append records and print
// "A <ids>" only after Append has returned nil for them; a loader goroutine reads
// batches, prints "D <ids>" (its delivery) and only then acknowledges them. It runs
// until it is killed.
func crashChild(dir, run string) int {
	n, err := strconv.Atoi(run)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: run", run, err)
		return 2
	}
	d, err := Open(dir, crashOptions(n))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	var outMu sync.Mutex
	emit := func(kind string, ids []string) {
		line := kind + " " + strings.Join(ids, " ") + "\n"
		outMu.Lock()
		defer outMu.Unlock()
		if _, err := os.Stdout.WriteString(line); err != nil {
			os.Exit(4)
		}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	for g := range 16 {
		go func() {
			for i := 0; ; {
				n := 1 + i%5
				ids := make([]string, n)
				recs := make([][]byte, n)
				for j := range n {
					ids[j] = fmt.Sprintf("%s.%d.%d", run, g, i+j)
					recs[j] = crashPayload(ids[j])
				}
				err := d.Append(ctx, recs)
				if errors.Is(err, ErrFull) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					fail(err)
				}
				emit("A", ids)
				i += n
			}
		}()
	}
	go func() {
		for {
			b, err := d.Read(ctx, "loader", 64)
			if err != nil {
				fail(err)
			}
			ids := make([]string, len(b.Records))
			for i, r := range b.Records {
				id, _, ok := bytes.Cut(r, []byte(":"))
				if !ok || !bytes.Equal(r, crashPayload(string(id))) {
					fail(fmt.Errorf("record %d is damaged: %q", b.First+uint64(i), r))
				}
				ids[i] = string(id)
			}
			emit("D", ids)
			if err := d.Ack(ctx, b); err != nil {
				fail(err)
			}
		}
	}()
	select {}
}

// TestCrash kills a writer process with SIGKILL at a random moment, several times
// over the same directory, and checks after each kill that every record whose
// Append returned nil is still there, unless the loader delivered it before
// acknowledging it. Duplicates are allowed; losses are not.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	dir := t.TempDir()
	acked := map[string]bool{}     // Append returned nil
	delivered := map[string]bool{} // handed to the sink before an Ack
	for run := range 6 {
		a, dl := crashRun(t, dir, run, time.Duration(rng.IntN(400))*time.Millisecond)
		for _, id := range a {
			acked[id] = true
		}
		for _, id := range dl {
			delivered[id] = true
		}

		d, err := Open(dir, crashOptions(run/2))
		if err != nil {
			t.Fatalf("run %d: reopening after the kill: %v", run, err)
		}
		present := map[string]int{}
		for _, r := range readAll(t, d, "loader") {
			id, _, ok := bytes.Cut(r, []byte(":"))
			if !ok || !bytes.Equal(r, crashPayload(string(id))) {
				t.Fatalf("run %d: damaged record %q", run, r)
			}
			present[string(id)]++
		}
		st := stats(t, d)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		var lost []string
		dups := 0
		for id := range acked {
			if present[id] == 0 && !delivered[id] {
				lost = append(lost, id)
			}
		}
		for id, n := range present {
			if n > 1 || delivered[id] {
				dups++
			}
		}
		if len(lost) > 0 {
			t.Fatalf("run %d: %d acknowledged records lost, e.g. %q", run, len(lost), lost[:min(5, len(lost))])
		}
		t.Logf("run %d: %d acknowledged so far, %d delivered; after the kill %d records pending (%d already delivered), %d segments", run, len(acked), len(delivered), len(present), dups, st.Segments)
	}
}

// crashRun starts a writer process on dir, lets it acknowledge at least 200
// records, waits extra, kills it with SIGKILL and returns the ids it acknowledged
// and delivered.
func crashRun(t *testing.T, dir string, run int, extra time.Duration) (acked, delivered []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	started := make(chan struct{})
	startedClosed := false
	readDone := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A last line without its newline was cut by the kill: its write
				// never returned, so the child acted on none of it.
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readDone <- err
				return
			}
			kind, ids, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			mu.Lock()
			switch kind {
			case "A":
				acked = append(acked, strings.Fields(ids)...)
				if len(acked) >= 200 && !startedClosed {
					close(started)
					startedClosed = true
				}
			case "D":
				delivered = append(delivered, strings.Fields(ids)...)
			}
			mu.Unlock()
		}
	}()
	select {
	case <-started:
	case err := <-readDone:
		t.Fatalf("run %d: writer stopped before acknowledging 200 records (%v): %s", run, err, stderr.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("run %d: writer acknowledged fewer than 200 records in 30s: %s", run, stderr.String())
	}
	time.Sleep(extra)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("run %d: killing the writer: %v", run, err)
	}
	if err := <-readDone; err != nil {
		t.Fatalf("run %d: reading the writer's output: %v", run, err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("run %d: writer ended with %v, want killed by a signal: %s", run, err, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, delivered
}
