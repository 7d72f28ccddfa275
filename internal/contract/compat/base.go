package compat

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/accord-dev/accord/internal/contract"
)

// Limits on a registry read from git, which is outside input like any file.
const (
	maxArchiveBytes   = 512 << 20
	maxArchiveEntries = 200_000
)

// ErrGitMissing is returned when --base names a git ref and git cannot be run.
var ErrGitMissing = errors.New("git is not installed or not on PATH")

// Base is the previous state of a registry, read from a folder or a git ref.
type Base struct {
	Set *contract.Set
	// Label names the base in messages: the folder, or ref:path for a git ref.
	Label string
	// Note says something the user should know about the base, such as that the
	// registry folder did not exist at the ref; empty otherwise.
	Note string
}

// LoadBase reads the previous state of the registry folder registry. spec is a
// folder holding that state, or a git ref (origin/main, HEAD~1, a commit) of the
// repository that holds registry: then the registry folder's content at that ref is
// read with git archive into memory, never onto disk. When the folder did not exist
// at the ref, the base is empty and every contract is new.
func LoadBase(ctx context.Context, spec, registry string) (*Base, error) {
	if spec == "" {
		return nil, errors.New("--base is empty: pass a folder or a git ref such as origin/main")
	}
	if st, err := os.Stat(spec); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("--base %s is a file: pass the registry folder of the previous state, or a git ref such as origin/main", spec)
		}
		set, err := contract.Load(spec)
		if err != nil {
			return nil, fmt.Errorf("reading base: %w", err)
		}
		if len(set.Contracts) == 0 {
			msg := fmt.Sprintf("base folder %s is not a registry: it holds no contract in the Iglu layout <vendor>/<name>/jsonschema/<version>; pass the folder that holds the previous state's contracts", spec)
			if len(set.Problems) > 0 {
				msg += fmt.Sprintf(" (first problem: %v)", set.Problems[0])
			}
			return nil, errors.New(msg)
		}
		return &Base{Set: set, Label: spec}, nil
	}
	return loadGitBase(ctx, spec, registry)
}

func loadGitBase(ctx context.Context, ref, registry string) (*Base, error) {
	if strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("--base %q is neither a folder nor a git ref", ref)
	}
	abs, err := filepath.Abs(registry)
	if err != nil {
		return nil, fmt.Errorf("resolving registry %s: %w", registry, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--base %q is not a folder, and the registry %s is not a folder whose git history could hold it", ref, registry)
	}
	out, err := git(ctx, abs, "rev-parse", "--show-toplevel")
	if err != nil {
		if errors.Is(err, ErrGitMissing) {
			return nil, fmt.Errorf("--base %q is not a folder, and reading it as a git ref failed: %w; pass --base a folder holding the registry's previous state", ref, err)
		}
		return nil, fmt.Errorf("--base %q is not a folder, and the registry %s is not inside a git repository where it could be a ref: %w", ref, registry, err)
	}
	top := strings.TrimSpace(string(out))
	rel, err := relativeTo(top, abs)
	if err != nil {
		return nil, err
	}
	out, err = git(ctx, top, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("--base %q is neither a folder nor a git ref of %s (in CI, fetch the ref first: git fetch origin main, or actions/checkout with fetch-depth: 0)", ref, top)
	}
	commit := strings.TrimSpace(string(out))
	label := ref + ":" + rel
	empty := &contract.Set{Root: label}
	// The tree form <commit>:<path> archives the folder's content with paths
	// relative to it, and takes the path literally (no pathspec magic).
	treeish := commit + ":" + rel
	if rel == "." {
		treeish = commit
	} else {
		out, err := git(ctx, top, "cat-file", "-t", treeish)
		if err != nil {
			return &Base{Set: empty, Label: label, Note: fmt.Sprintf("%s did not exist at %s: every contract is new", rel, ref)}, nil
		}
		if t := strings.TrimSpace(string(out)); t != "tree" {
			return nil, fmt.Errorf("%s at %s is a %s, not a registry folder", rel, ref, t)
		}
	}
	fsys, err := gitArchive(ctx, top, treeish)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", rel, ref, err)
	}
	set, err := contract.LoadFS(fsys, label)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", rel, ref, err)
	}
	return &Base{Set: set, Label: label}, nil
}

// relativeTo returns dir relative to the repository top, in slash form.
func relativeTo(top, dir string) (string, error) {
	t, err := filepath.EvalSymlinks(top)
	if err != nil {
		return "", fmt.Errorf("resolving repository %s: %w", top, err)
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolving registry %s: %w", dir, err)
	}
	rel, err := filepath.Rel(t, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("registry %s is outside the git repository %s", dir, top)
	}
	return filepath.ToSlash(rel), nil
}

// git runs git in dir and returns its standard output. It ignores GIT_DIR and
// friends from the environment, so that the repository is always the one that
// holds dir.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, ErrGitMissing
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("running git %s: %w", args[0], ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("running git %s: %w", args[0], err)
		}
		return nil, fmt.Errorf("running git %s: %w: %s", args[0], err, msg)
	}
	return stdout.Bytes(), nil
}

func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_PREFIX":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0")
}

// gitArchive reads the tree treeish through git archive into an in-memory file
// system.
func gitArchive(ctx context.Context, dir, treeish string) (fs.FS, error) {
	out, err := git(ctx, dir, "archive", "--format=tar", treeish)
	if err != nil {
		return nil, err
	}
	return untar(bytes.NewReader(out))
}

// untar unpacks a tar stream into memory. Only regular files, folders and
// symlinks (kept as such, so that the loader refuses them) are taken; paths that
// would leave the root are refused.
func untar(r io.Reader) (fs.FS, error) {
	fsys := fstest.MapFS{}
	tr := tar.NewReader(io.LimitReader(r, maxArchiveBytes))
	total := 0 // bytes unpacked: sparse entries can expand far beyond the stream
	for n := 0; ; n++ {
		if n > maxArchiveEntries {
			return nil, fmt.Errorf("the archive has more than %d entries", maxArchiveEntries)
		}
		h, err := tr.Next()
		if err == io.EOF {
			return fsys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("unpacking git archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." || h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("unpacking git archive: entry %q leaves the registry folder", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			fsys[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o755, ModTime: h.ModTime}
		case tar.TypeSymlink:
			fsys[name] = &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(h.Linkname), ModTime: h.ModTime}
		case tar.TypeReg:
			// Read one byte past the loader's limit, so that it reports the file
			// as too large without holding all of it.
			data, err := io.ReadAll(io.LimitReader(tr, contract.MaxContractBytes+1))
			if err != nil {
				return nil, fmt.Errorf("unpacking git archive: %s: %w", name, err)
			}
			if total += len(data); total > maxArchiveBytes {
				return nil, fmt.Errorf("the archive unpacks to more than %d bytes", maxArchiveBytes)
			}
			fsys[name] = &fstest.MapFile{Data: data, Mode: 0o644, ModTime: h.ModTime}
		}
	}
}
