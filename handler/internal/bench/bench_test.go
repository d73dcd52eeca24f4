package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// TestBenchTable runs the pipeline and the C git baseline alternately on each
// generated repository and logs the table of medians. It runs only with
// BENCH_TABLE=1; BENCH_ROUNDS (default 3), BENCH_SIZES (e.g. "small,medium") and
// BENCH_PROFILE (a directory for the pipeline's pprof profiles) and BENCH_VERBOSE=1
// (log the pipeline's steps) tune it.
func TestBenchTable(t *testing.T) {
	if os.Getenv("BENCH_TABLE") != "1" {
		t.Skip("a benchmark of several minutes; make bench runs it with BENCH_TABLE=1")
	}
	for _, tool := range []string{"git", "git-upload-pack", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the benchmark needs %s on PATH", tool)
		}
	}
	rounds := envInt(t, "BENCH_ROUNDS", 3)
	cache := cacheDir(t)

	e := env{scratch: t.TempDir(), child: buildChild(t), profileDir: os.Getenv("BENCH_PROFILE"),
		verbose: os.Getenv("BENCH_VERBOSE") == "1"}
	key, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	e.keyFile = filepath.Join(e.scratch, "id_ed25519")
	if err := os.WriteFile(e.keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}

	var rows []row
	for _, spec := range selectSpecs(t) {
		start := time.Now()
		root, err := Ensure(t.Context(), cache, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: repository ready in %v at %s", spec.Name, time.Since(start).Round(time.Millisecond), root)

		srv, err := gitserver.Start(gitserver.Options{Root: root, AuthorizedKeys: []gossh.PublicKey{pub}})
		if err != nil {
			t.Fatal(err)
		}
		e.url = fmt.Sprintf("ssh://git@%s/%s/%s.git", srv.Addr(), Project, spec.Name)
		e.knownHosts = filepath.Join(e.scratch, "known_hosts")
		if err := os.WriteFile(e.knownHosts, srv.KnownHosts(), 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := measure(t, e, spec.Name, rounds)
		_ = srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}

	lam := measureLambda(t, 5)
	table := formatTable(rows, lam, rounds)
	t.Logf("results (%d rounds, medians):\n%s", rounds, table)
	if out := os.Getenv("BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cacheDir is where generated repositories are kept between runs.
func cacheDir(t *testing.T) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the generated repositories: %v", err)
	}
	return filepath.Join(base, "backlog-webhook", "bench")
}

// buildChild builds cmd/benchpipe, the pipeline's own process.
func buildChild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "benchpipe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/benchpipe")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build benchpipe: %v\n%s", err, out)
	}
	return bin
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func selectSpecs(t *testing.T) []Spec {
	t.Helper()
	want := os.Getenv("BENCH_SIZES")
	if want == "" {
		return Specs
	}
	var specs []Spec
	for _, s := range Specs {
		if slices.Contains(strings.Split(want, ","), s.Name) {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		t.Fatalf("BENCH_SIZES=%q names none of small, medium, large", want)
	}
	return specs
}

// TestLambdaPackage logs the Lambda package size and init time alone (BENCH_TABLE=1).
func TestLambdaPackage(t *testing.T) {
	if os.Getenv("BENCH_TABLE") != "1" {
		t.Skip("builds the function and the emulator; make bench runs it with BENCH_TABLE=1")
	}
	lam := measureLambda(t, 5)
	t.Logf("Lambda package: %s; init %s (linux/%s under the emulator)", lam.sizeText(), lam.initText(), lam.arch)
}
