package compat_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/compat"
)

// gitRepo creates a git repository in a temporary folder and returns its path and
// a function that runs git in it.
func gitRepo(t *testing.T) (string, func(args ...string)) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed by this test and is not installed: %v", err)
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=Accord Test", "-c", "user.email=test@accord.example", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_DIR="+filepath.Join(dir, ".git"), "GIT_WORK_TREE="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("init", "-q")
	return dir, run
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(to, rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoadBaseGitRef(t *testing.T) {
	dir, git := gitRepo(t)
	reg := filepath.Join(dir, "contracts")
	copyTree(t, "testdata/type-narrowed-fail/base", reg)
	writeFile(t, filepath.Join(dir, "README.md"), "not a contract\n")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	copyTree(t, "testdata/type-narrowed-fail/head", reg)

	for _, ref := range []string{"HEAD", "main"} {
		b, err := compat.LoadBase(context.Background(), ref, reg)
		if err != nil {
			t.Fatalf("LoadBase(%s): %v", ref, err)
		}
		if len(b.Set.Contracts) != 1 || len(b.Set.Problems) != 0 || b.Note != "" {
			t.Fatalf("LoadBase(%s) = %d contracts, problems %v, note %q; want the one committed contract", ref, len(b.Set.Contracts), b.Set.Problems, b.Note)
		}
		if got, want := b.Set.Contracts[0].File, ref+":contracts/com.acme/ev/jsonschema/1-0-0.yaml"; filepath.ToSlash(got) != want {
			t.Errorf("base file %q, want %q", got, want)
		}
	}

	// A later commit that changes the published version is caught against HEAD~1.
	git("add", ".")
	git("commit", "-q", "-m", "head")
	writeFile(t, filepath.Join(reg, "com.acme/ev/jsonschema/1-0-0.yaml"), strings.Replace(readFile(t, filepath.Join(reg, "com.acme/ev/jsonschema/1-0-0.yaml")), "age: {type: [integer, string]}", "age: {type: string}", 1))
	b, err := compat.LoadBase(context.Background(), "HEAD~1", reg)
	if err != nil {
		t.Fatal(err)
	}
	head, err := contract.Load(reg)
	if err != nil {
		t.Fatal(err)
	}
	findings := compat.Check(b.Set, head)
	rules := map[string]bool{}
	for _, f := range findings {
		rules[f.Rule] = true
	}
	if !rules[compat.RulePublishedChanged] || !rules[compat.TypeNarrowed] {
		t.Errorf("findings %v; want published-version-changed and type-narrowed", findings)
	}
}

func TestLoadBaseGitRegistryAtTop(t *testing.T) {
	dir, git := gitRepo(t)
	copyTree(t, "testdata/property-added-pass/base", dir)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	b, err := compat.LoadBase(context.Background(), "HEAD", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Set.Contracts) != 1 {
		t.Errorf("got %d contracts, want 1 (problems %v)", len(b.Set.Contracts), b.Set.Problems)
	}
}

func TestLoadBaseGitFolderNew(t *testing.T) {
	dir, git := gitRepo(t)
	writeFile(t, filepath.Join(dir, "README.md"), "hello\n")
	git("add", ".")
	git("commit", "-q", "-m", "first")
	reg := filepath.Join(dir, "contracts")
	copyTree(t, "testdata/first-version-pass/head", reg)
	b, err := compat.LoadBase(context.Background(), "HEAD", reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Set.Contracts) != 0 || !strings.Contains(b.Note, "did not exist at HEAD") {
		t.Errorf("got %d contracts and note %q; want none and a note that the folder is new", len(b.Set.Contracts), b.Note)
	}
}

func TestLoadBaseErrors(t *testing.T) {
	dir, git := gitRepo(t)
	reg := filepath.Join(dir, "contracts")
	copyTree(t, "testdata/property-added-pass/base", reg)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	notRegistry := t.TempDir()
	writeFile(t, filepath.Join(notRegistry, "notes", "x.json"), "{}")
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "file.txt"), "x")

	tests := []struct {
		name, spec, registry, want string
	}{
		{"unknown ref", "no-such-branch", reg, `--base "no-such-branch" is neither a folder nor a git ref`},
		{"ref that looks like a flag", "--output=/tmp/x", reg, "is neither a folder nor a git ref"},
		{"folder that is not a registry", notRegistry, reg, "is not a registry"},
		{"empty folder", t.TempDir(), reg, "is not a registry"},
		{"a file", filepath.Join(outside, "file.txt"), reg, "is a file"},
		{"registry outside git", "HEAD", outside, "not inside a git repository"},
		{"missing registry", "HEAD", filepath.Join(dir, "missing"), "is not a folder"},
		{"empty", "", reg, "--base is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := compat.LoadBase(context.Background(), tt.spec, tt.registry)
			if err == nil {
				t.Fatalf("LoadBase(%q, %q) = %v, want an error containing %q", tt.spec, tt.registry, b, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadBaseGitMissing(t *testing.T) {
	reg := t.TempDir()
	t.Setenv("PATH", t.TempDir())
	_, err := compat.LoadBase(context.Background(), "origin/main", reg)
	if !errors.Is(err, compat.ErrGitMissing) {
		t.Fatalf("error %v, want ErrGitMissing", err)
	}
	if !strings.Contains(err.Error(), "pass --base a folder") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tarOf(tb testing.TB, entries ...tar.Header) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, h := range entries {
		data := []byte("type: object\n")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
		}
		if err := w.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := w.Write(data); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestUntar(t *testing.T) {
	ok := tarOf(t,
		tar.Header{Name: "com.acme/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "com.acme/ev/jsonschema/1-0-0.yaml", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "com.acme/ev/jsonschema/1-0-1", Typeflag: tar.TypeSymlink, Linkname: "1-0-0.yaml"},
	)
	fsys, err := compat.Untar(bytes.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, "com.acme/ev/jsonschema/1-0-0.yaml")
	if err != nil || string(b) != "type: object\n" {
		t.Errorf("reading the unpacked file: %q, %v", b, err)
	}
	for _, name := range []string{"../escape.yaml", "/abs.yaml", "a/../../b"} {
		_, err := compat.Untar(bytes.NewReader(tarOf(t, tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644})))
		if err == nil || !strings.Contains(err.Error(), "leaves the registry folder") {
			t.Errorf("Untar(%q) error %v, want one about leaving the folder", name, err)
		}
	}
	if _, err := compat.Untar(strings.NewReader("not a tar stream, not at all, but long enough to be read as a header block")); err == nil {
		t.Error("Untar(garbage) succeeded, want an error")
	}
}

func FuzzUntar(f *testing.F) {
	f.Add(tarOf(f, tar.Header{Name: "a/b/jsonschema/1-0-0", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys, err := compat.Untar(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := contract.LoadFS(fsys, "fuzz"); err != nil {
			t.Fatalf("loading an unpacked archive: %v", err)
		}
	})
}
