package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// zipTime is the modification time of every archive entry, so the same binary always zips to the same bytes.
var zipTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// builder compiles a main package for Lambda and returns the path of a zip holding it as "bootstrap".
type builder func(ctx context.Context, pkg string) (string, error)

// goBuilder builds packages of the Go module that contains dir, writing zips under outDir.
type goBuilder struct {
	dir    string // any folder inside the module; the build runs there
	outDir string // where zips are written; created when missing
}

// defaultBuilder builds from the working directory into the user cache, keyed by the module folder.
func defaultBuilder() (goBuilder, error) {
	wd, err := os.Getwd()
	if err != nil {
		return goBuilder{}, fmt.Errorf("build: working directory: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(wd))
	return goBuilder{dir: wd, outDir: filepath.Join(cache, "backlog-webhook", hex.EncodeToString(sum[:6]))}, nil
}

// Build compiles pkg (a path relative to the module root, such as "./handler") for linux/arm64 without
// cgo, VCS stamps, paths or build ids, and zips it deterministically. The zip for pkg is replaced atomically.
func (b goBuilder) Build(ctx context.Context, pkg string) (string, error) {
	root, err := b.moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp, err := os.MkdirTemp(b.outDir, "build-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	bin := filepath.Join(tmp, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid=", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, strings.TrimSpace(out.String()))
	}

	name := strings.Trim(strings.NewReplacer("/", "-", ".", "").Replace(pkg), "-")
	dst := filepath.Join(b.outDir, name+".zip")
	if err := zipBootstrap(bin, filepath.Join(tmp, "out.zip")); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	if err := os.Rename(filepath.Join(tmp, "out.zip"), dst); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return dst, nil
}

func (b goBuilder) moduleRoot(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = b.dir
	out, err := cmd.Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("build: %s is not inside a Go module (go env GOMOD: %q, %v)", b.dir, gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// zipBootstrap writes a zip holding bin as the single entry "bootstrap", mode 0755, at the fixed zipTime.
func zipBootstrap(bin, dst string) (err error) {
	in, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	defer func() { _ = in.Close() }()

	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("zip: %w", cerr)
		}
	}()

	zw := zip.NewWriter(f)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}
