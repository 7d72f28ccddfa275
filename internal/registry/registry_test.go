package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/contract"
)

func TestOpenExamples(t *testing.T) {
	r, err := Open(filepath.Join("..", "..", "examples", "contracts"), nil)
	if err != nil {
		t.Fatalf("Open(examples/contracts): %v", err)
	}
	if n := r.Snapshot().Len(); n < 5 {
		t.Errorf("examples hold %d contracts, want at least 5", n)
	}
	if st := r.Status(); st.Generation != 1 || st.FailedReloads != 0 || st.LoadedAt.IsZero() {
		t.Errorf("Status() = %+v, want generation 1, no failures, a load time", st)
	}
}

func TestOpenReportsEveryProblem(t *testing.T) {
	dir := newRegistryDir(t)
	writeContract(t, dir, "com.acme/broken/jsonschema/1-0-0.yaml", "type: object\nproperties: [\n")
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", strings.Replace(signupV1, "version: 1-0-0", "version: 1-0-9", 1))
	_, err := Open(dir, nil)
	if err == nil {
		t.Fatal("Open succeeded on a registry with two broken contracts")
	}
	for _, want := range []string{"broken/jsonschema/1-0-0.yaml", "signup/jsonschema/1-0-1.yaml", "self declares"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("Open succeeded on a missing folder")
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New succeeded without a folder")
	}
}

func TestReloadSwapsAndKeepsOldOnBrokenEdit(t *testing.T) {
	dir := newRegistryDir(t)
	r := openTB(t, Config{Dir: dir})
	first := r.Snapshot()

	// A broken edit: the old snapshot keeps serving and the error says where.
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", "self: {vendor: com.acme\n")
	err := r.Reload()
	if err == nil {
		t.Fatal("Reload succeeded with a broken contract")
	}
	if !strings.Contains(err.Error(), filepath.Join("signup", "jsonschema", "1-0-1.yaml")) {
		t.Errorf("Reload error does not name the broken file: %v", err)
	}
	if r.Snapshot() != first {
		t.Error("a failed reload replaced the snapshot")
	}
	st := r.Status()
	if st.Generation != 1 || st.FailedReloads != 1 || st.LastError == "" || st.LastErrorAt.IsZero() {
		t.Errorf("after a failed reload Status() = %+v, want generation 1, 1 failure and the error", st)
	}

	// The fix is picked up by the next reload.
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload after the fix: %v", err)
	}
	snap := r.Snapshot()
	if snap == first {
		t.Fatal("a successful reload kept the old snapshot")
	}
	key, err := contract.ParseURI("iglu:com.acme/signup/jsonschema/1-0-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Get(key); !ok {
		t.Error("the reloaded snapshot lacks signup 1-0-1")
	}
	if _, ok := first.Get(key); ok {
		t.Error("the old snapshot changed: it holds signup 1-0-1")
	}
	st = r.Status()
	if st.Generation != 2 || st.FailedReloads != 1 || st.LastError != "" || st.Contracts != 4 {
		t.Errorf("after the fix Status() = %+v, want generation 2, 1 past failure, no current error, 4 contracts", st)
	}
}

func TestSubscribe(t *testing.T) {
	dir := newRegistryDir(t)
	r := openTB(t, Config{Dir: dir})
	var mu sync.Mutex
	var got []*contract.Snapshot
	unsubscribe := r.Subscribe(func(s *contract.Snapshot) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		if r.Snapshot() != s {
			t.Error("subscriber called before the snapshot was served")
		}
	})
	calls := 0
	r.Subscribe(func(*contract.Snapshot) { calls++ })

	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", "not: [valid\n")
	if err := r.Reload(); err == nil {
		t.Fatal("Reload succeeded with a broken contract")
	}
	mu.Lock()
	if len(got) != 1 || got[0] != r.Snapshot() {
		t.Errorf("subscriber saw %d snapshots, want the 1 swapped in", len(got))
	}
	mu.Unlock()

	unsubscribe()
	if err := os.Remove(filepath.Join(dir, "com.acme/signup/jsonschema/1-0-1.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 {
		t.Errorf("unsubscribed function was called: %d calls", len(got))
	}
	mu.Unlock()
	if calls != 2 {
		t.Errorf("second subscriber called %d times, want 2", calls)
	}
}

func TestPoll(t *testing.T) {
	dir := newRegistryDir(t)
	log, logs := logBuffer()
	r, err := New(Config{Dir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	if r.poll() {
		t.Fatal("poll reloaded an unchanged folder")
	}
	// An editor's hidden swap file is no change.
	writeContract(t, dir, "com.acme/signup/jsonschema/.1-0-0.yaml.swp", "junk")
	if r.poll() {
		t.Error("poll reloaded for a hidden file")
	}

	// A file being written (cut short here: the signup contract without its
	// x-pii annotations, still valid) is not loaded: a change is loaded only
	// once the folder has stayed the same for a whole poll interval.
	full := []byte(signupV2)
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", string(full[:len(full)/2]))
	if r.poll() {
		t.Fatal("poll reloaded a change it saw for the first time")
	}
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2) // the rest arrives
	if r.poll() {
		t.Fatal("poll reloaded a file that changed since the last poll")
	}
	if !r.poll() || r.Status().Generation != 2 {
		t.Fatalf("poll did not reload a new file once it stayed the same: %+v", r.Status())
	}
	if c, ok := r.Snapshot().Get(contract.Key{Vendor: "com.acme", Name: "signup", Format: "jsonschema", Version: contract.SchemaVer{Model: 1, Addition: 1}}); !ok || len(c.PII()) == 0 {
		t.Fatalf("the new version was not loaded whole")
	}

	// A broken edit is tried once, logged with its problem, then left alone until
	// the folder changes again.
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", "{broken\n")
	if r.poll() {
		t.Fatal("poll tried an edit it saw for the first time")
	}
	if !r.poll() {
		t.Fatal("poll did not try the broken edit")
	}
	if r.poll() {
		t.Error("poll retried an unchanged broken folder")
	}
	if st := r.Status(); st.Generation != 2 || st.FailedReloads != 1 {
		t.Errorf("Status() = %+v, want generation 2 and 1 failure", st)
	}
	if l := logs.String(); !strings.Contains(l, "registry reload failed") || !strings.Contains(l, "1-0-1.yaml") {
		t.Errorf("the failure is not logged with its file:\n%s", l)
	}

	// A size change of an existing file is seen too.
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2+"\n")
	if r.poll() || !r.poll() || r.Status().Generation != 3 {
		t.Errorf("poll did not reload the fixed file: %+v", r.Status())
	}
}

func TestWatchReloadsOnInjectedSignalAndPoll(t *testing.T) {
	tests := []struct {
		name    string
		poll    bool
		trigger func(chan<- os.Signal)
	}{
		{name: "signal", trigger: func(c chan<- os.Signal) { c <- os.Interrupt }},
		{name: "poll", poll: true, trigger: func(chan<- os.Signal) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRegistryDir(t)
			sig := make(chan os.Signal, 1)
			cfg := Config{Dir: dir, Signals: sig, PollInterval: -1}
			if tt.poll {
				cfg.PollInterval = 5 * time.Millisecond
			}
			r := openTB(t, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Watch(ctx) }()

			writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
			tt.trigger(sig)
			waitFor(t, "the reload", func() bool { return r.Status().Generation == 2 })
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Watch returned %v after cancel, want nil", err)
			}
		})
	}
}

func TestWatchTakesSignalsInOrder(t *testing.T) {
	dir := newRegistryDir(t)
	sig := make(chan os.Signal)
	r := openTB(t, Config{Dir: dir, Signals: sig, PollInterval: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
	// An unbuffered send returns once Watch has taken the signal; a second one
	// once the first reload is over.
	sig <- os.Interrupt
	sig <- os.Interrupt
	if g := r.Status().Generation; g < 2 {
		t.Fatalf("generation %d after two signals, want at least 2", g)
	}
	close(sig) // a closed channel must not spin Watch
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}
