package gitserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// CommitTime is the author and committer time of every commit the repo builders make,
// so that the same files always give the same commit ids.
var CommitTime = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

// File is one entry of a repository made by BuildRepo. Exactly one of Data, Symlink
// and Gitlink describes it; a File with none of them is an empty regular file.
type File struct {
	Path    string // slash-separated path inside the repository
	Data    []byte // content of a regular file
	Exec    bool   // the regular file has the executable bit
	Symlink string // the entry is a symbolic link to this target
	Gitlink string // the entry is a submodule at this commit id
}

// NewKey generates an ed25519 key pair and returns the private key as an OpenSSH PEM block.
func NewKey() (privatePEM []byte, pub gossh.PublicKey, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("gitserver: new key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(sk, "")
	if err != nil {
		return nil, nil, fmt.Errorf("gitserver: new key: %w", err)
	}
	pub, err = gossh.NewPublicKey(pk)
	if err != nil {
		return nil, nil, fmt.Errorf("gitserver: new key: %w", err)
	}
	return pem.EncodeToMemory(block), pub, nil
}

// RepoDir returns the directory of the bare repository PROJECT/repo under root.
func RepoDir(root, project, repo string) string {
	return filepath.Join(root, project, repo+".git")
}

// BuildRepo commits files as the whole tree of a new tip of branch in the bare
// repository dir, creating the repository when it does not exist, and returns the commit id.
func BuildRepo(ctx context.Context, dir, branch string, files []File) (string, error) {
	src, err := os.MkdirTemp("", "gitserver-src-*")
	if err != nil {
		return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
	}
	defer func() { _ = os.RemoveAll(src) }()

	var links []File
	for _, f := range files {
		if f.Gitlink != "" {
			links = append(links, f)
			continue
		}
		if err := writeFile(src, f); err != nil {
			return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
		}
	}
	return commitDir(ctx, dir, branch, src, links)
}

// BuildRepoFromDir commits the contents of src (its .git entries left out) as the
// whole tree of a new tip of branch in the bare repository dir, creating the
// repository when it does not exist, and returns the commit id.
func BuildRepoFromDir(ctx context.Context, dir, branch, src string) (string, error) {
	return commitDir(ctx, dir, branch, src, nil)
}

// SampleRepo makes the bare repository root/PROJECT/repo.git with a small demo tree
// on branch main and returns the commit id.
func SampleRepo(root, project, repo string) (string, error) {
	binary := make([]byte, 1024)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	files := []File{
		{Path: "README.md", Data: []byte("# " + repo + "\n\nA sample repository served by gitserver.\n")},
		{Path: "scripts/build.sh", Data: []byte("#!/bin/sh\nset -eu\necho building\n"), Exec: true},
		{Path: "docs/guide.md", Data: []byte("# Guide\n\nRead me first.\n")},
		{Path: "docs/latest.md", Symlink: "guide.md"},
		{Path: "docs/日本語.txt", Data: []byte("こんにちは\n")},
		{Path: "src/app/main.go", Data: []byte("package main\n\nfunc main() {}\n")},
		{Path: "src/app/internal/util/util.go", Data: []byte("package util\n")},
		{Path: "src/assets/logo.bin", Data: binary},
		{Path: "src/.keep"},
	}
	return BuildRepo(context.Background(), RepoDir(root, project, repo), "main", files)
}

func writeFile(root string, f File) error {
	p := filepath.Join(root, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if f.Symlink != "" {
		return os.Symlink(f.Symlink, p)
	}
	mode := os.FileMode(0o644)
	if f.Exec {
		mode = 0o755
	}
	if err := os.WriteFile(p, f.Data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// commitDir commits the work tree src plus the gitlinks as the new tip of branch in dir.
func commitDir(ctx context.Context, dir, branch, src string, gitlinks []File) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
		}
		if _, err := runGit(ctx, dir, "", "", "init", "-q", "--bare", "--initial-branch="+branch, dir); err != nil {
			return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
		}
	}

	tmp, err := os.MkdirTemp("", "gitserver-index-*")
	if err != nil {
		return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	index := filepath.Join(tmp, "index")

	steps := [][]string{{"add", "-A", "--", "."}}
	for _, l := range gitlinks {
		steps = append(steps, []string{"update-index", "--add", "--cacheinfo", "160000," + l.Gitlink + "," + l.Path})
	}
	for _, args := range steps {
		if _, err := runGit(ctx, dir, src, index, args...); err != nil {
			return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
		}
	}
	tree, err := runGit(ctx, dir, src, index, "write-tree")
	if err != nil {
		return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
	}

	args := []string{"commit-tree", tree, "-m", "Update " + branch}
	ref := "refs/heads/" + branch
	if parent, err := runGit(ctx, dir, "", "", "rev-parse", "--verify", "-q", ref); err == nil {
		args = append(args, "-p", parent)
	}
	commit, err := runGit(ctx, dir, "", "", args...)
	if err != nil {
		return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
	}
	if _, err := runGit(ctx, dir, "", "", "update-ref", ref, commit); err != nil {
		return "", fmt.Errorf("gitserver: build %s: %w", dir, err)
	}
	return commit, nil
}

// runGit runs git on the bare repository gitDir with an optional work tree and
// index, in a fixed environment, and returns its trimmed standard output.
func runGit(ctx context.Context, gitDir, workTree, index string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	env := append(gitEnv(), "GIT_DIR="+gitDir)
	if workTree != "" {
		cmd.Dir = workTree
		env = append(env, "GIT_WORK_TREE="+workTree)
	}
	if index != "" {
		env = append(env, "GIT_INDEX_FILE="+index)
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// gitEnv is the environment for every git command: the caller's environment
// without GIT_ variables, no user or system config, fixed identity and dates.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	date := fmt.Sprintf("%d +0000", CommitTime.Unix())
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Sample Author", "GIT_AUTHOR_EMAIL=author@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Sample Committer", "GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_COMMITTER_DATE="+date,
		"LC_ALL=C", "TZ=UTC",
	)
}
