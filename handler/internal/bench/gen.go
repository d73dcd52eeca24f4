package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// genVersion changes whenever Generate would produce other repositories, so stale caches are not reused.
const genVersion = "v1"

// Project is the Backlog project key the generated repositories live under.
const Project = "BENCH"

// Branch is the branch every generated repository has.
const Branch = "main"

// Binary is one large file of a generated repository.
type Binary struct {
	Path         string
	Size         int
	Compressible bool // structured data that deflates well; otherwise random bytes
}

// Spec describes a repository to generate. The same Spec always gives the same commits.
type Spec struct {
	Name     string   // repository name, also the size label
	Files    int      // source files in the tip tree
	MeanSize int      // mean size of a source file in bytes
	Commits  int      // commits in the history; each after the first changes Churn of the files
	Churn    float64  // share of source files each later commit rewrites
	Binaries []Binary // large files added by the first commit
	Seed     uint64
}

// Specs are the three repositories the benchmark runs on.
var Specs = []Spec{
	{Name: "small", Files: 300, MeanSize: 6 << 10, Commits: 3, Churn: 0.1, Seed: 1},
	{Name: "medium", Files: 4000, MeanSize: 20 << 10, Commits: 5, Churn: 0.05, Seed: 2, Binaries: []Binary{
		{Path: "assets/blob.bin", Size: 10 << 20},
		{Path: "assets/table.dat", Size: 10 << 20, Compressible: true},
	}},
	{Name: "large", Files: 40000, MeanSize: 15 << 10, Commits: 3, Churn: 0.03, Seed: 3, Binaries: []Binary{
		{Path: "assets/video-1.bin", Size: 64 << 20},
		{Path: "assets/video-2.bin", Size: 64 << 20},
		{Path: "assets/video-3.bin", Size: 64 << 20},
		{Path: "data/table-1.dat", Size: 64 << 20, Compressible: true},
		{Path: "data/table-2.dat", Size: 64 << 20, Compressible: true},
		{Path: "data/table-3.dat", Size: 64 << 20, Compressible: true},
	}},
}

// commitEpoch is the time of the first generated commit; later ones follow an hour apart.
var commitEpoch = time.Date(2024, time.March, 1, 9, 0, 0, 0, time.UTC)

// Ensure returns the root directory (holding Project/<name>.git) of the generated
// repository for spec under cacheRoot, generating it first when it is not cached.
func Ensure(ctx context.Context, cacheRoot string, spec Spec) (root string, err error) {
	root = filepath.Join(cacheRoot, genVersion+"-"+spec.Name)
	done := filepath.Join(root, "complete")
	if _, err := os.Stat(done); err == nil {
		return root, nil
	}

	tmp := root + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("bench: generate %s: %w", spec.Name, err)
	}
	if err := generate(ctx, filepath.Join(tmp, Project, spec.Name+".git"), spec); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("bench: generate %s: %w", spec.Name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(genVersion+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("bench: generate %s: %w", spec.Name, err)
	}
	_ = os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", fmt.Errorf("bench: generate %s: %w", spec.Name, err)
	}
	return root, nil
}

// generate makes the bare repository dir with git fast-import.
func generate(ctx context.Context, dir string, spec Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if out, err := gitCmd(ctx, dir, "init", "-q", "--bare", "--initial-branch="+Branch, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %w: %s", err, out)
	}

	cmd := gitCmd(ctx, dir, "fast-import", "--quiet", "--date-format=raw")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git fast-import: %w", err)
	}
	werr := writeStream(stdin, spec)
	cerr := stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import: %w: %s", err, stderr.String())
	}
	return errors.Join(werr, cerr)
}

// writeStream writes the fast-import commands of spec's history to w.
func writeStream(w io.Writer, spec Spec) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{w: bw, spec: spec}
	for c := range spec.Commits {
		g.commit(c)
	}
	if g.err != nil {
		return g.err
	}
	return bw.Flush()
}

func gitCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_DIR="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// rng returns a generator for one piece of content, independent of generation order.
func rng(seed uint64, parts ...uint64) *rand.Rand {
	s := seed
	for _, p := range parts {
		s = s*0x9E3779B97F4A7C15 + p + 1
	}
	return rand.New(rand.NewPCG(seed, s))
}
