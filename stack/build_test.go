package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"strings"
	"testing"
)

func TestBuildIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a Go program; skipped with -short")
	}
	var zips [][]byte
	for range 2 {
		b := goBuilder{dir: ".", outDir: t.TempDir()}
		path, err := b.Build(t.Context(), "./stack/testdata/hello")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zips = append(zips, data)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Fatal("two builds of the same source differ")
	}

	zr, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("zip holds %d entries, want bootstrap only", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode() != 0o755 || !f.Modified.Equal(zipTime) {
		t.Errorf("entry %s mode %v time %v, want bootstrap 0755 at %v", f.Name, f.Mode(), f.Modified, zipTime)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if exe.Machine != elf.EM_AARCH64 || exe.Class != elf.ELFCLASS64 {
		t.Errorf("bootstrap is %v %v, want linux/arm64", exe.Class, exe.Machine)
	}
	if bytes.Contains(bin, []byte(os.Getenv("HOME")+"/")) && os.Getenv("HOME") != "" {
		t.Error("bootstrap holds a path of this machine; -trimpath did not apply")
	}
}

func TestBuildFailureNamesPackage(t *testing.T) {
	b := goBuilder{dir: ".", outDir: t.TempDir()}
	_, err := b.Build(t.Context(), "./stack/testdata/missing")
	if err == nil || !strings.Contains(err.Error(), "build ./stack/testdata/missing") {
		t.Fatalf("Build of a missing package: %v, want an error naming it", err)
	}
}
