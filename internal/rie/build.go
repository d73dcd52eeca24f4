// Package rie builds and runs the AWS Lambda Runtime Interface Emulator for the
// end-to-end test and the benchmark.
//
// The emulator is built from the Go module proxy into the user cache directory,
// once per version; its code stays in the module cache and nothing of it enters
// this repository. Every emulator listens on 127.0.0.1 only and is stopped, with
// the bootstrap it started, in t.Cleanup.
package rie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Module and Version name the emulator that Build builds from the Go module proxy.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Build builds the emulator once into the user cache directory and returns its path.
func Build(t testing.TB) string {
	t.Helper()

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "backlog-webhook", "aws-lambda-rie-"+Version)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}

	var mod struct{ Dir string }
	raw := goCmd(t, t.TempDir(), []string{"GOFLAGS=-mod=mod"}, "mod", "download", "-json", Module+"@"+Version)
	if err := json.Unmarshal([]byte(raw), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v: %s", Module, err, raw)
	}

	env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0"}
	var mainPkg string
	pkgs := goCmd(t, mod.Dir, env, "list", "-f", "{{.Name}} {{.ImportPath}}", "./cmd/...")
	for _, line := range strings.Split(pkgs, "\n") {
		if name, path, ok := strings.Cut(line, " "); ok && name == "main" {
			mainPkg = path
		}
	}
	if mainPkg == "" {
		t.Fatalf("no main package under %s/cmd", Module)
	}

	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	goCmd(t, mod.Dir, env, "build", "-trimpath", "-o", tmp, mainPkg)
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}

	return bin
}

// FreeAddr returns a free 127.0.0.1:PORT. The port is released before use, so
// another program could take it in between; on this machine that is rare enough.
func FreeAddr(t testing.TB) string {
	t.Helper()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr
}

// BootstrapFlags are the build flags of the Lambda package, as the Makefile and the stack use them.
var BootstrapFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid="}

// BuildBootstrap builds the module's ./handler for linux/goarch with BootstrapFlags
// into a file named bootstrap in a temporary directory, and returns its path.
func BuildBootstrap(t testing.TB, goarch string) string {
	t.Helper()

	root := goCmd(t, ".", nil, "list", "-m", "-f", "{{.Dir}}")
	bin := filepath.Join(t.TempDir(), "bootstrap")
	env := []string{"GOOS=linux", "GOARCH=" + goarch, "CGO_ENABLED=0"}
	goCmd(t, root, env, append(append([]string{"build"}, BootstrapFlags...), "-o", bin, "./handler")...)

	return bin
}

// goCmd runs the go command in dir with extra environment and returns its standard output.
func goCmd(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()

	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	return strings.TrimSpace(string(out))
}
