package filekeys_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
)

// Made-up content: the tests check it is returned and never shown in errors or logs.
const (
	secretKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-SECRET\n-----END OPENSSH PRIVATE KEY-----\n"
	hostsLine = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHOSTKEYHOSTKEY\n"
)

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
}

func TestCredentials(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, key, hosts string) (string, string)
		want    error  // nil: success expected
		mention string // what the error must name
	}{
		{
			name:  "both files",
			setup: func(t *testing.T, key, hosts string) (string, string) { return key, hosts },
		},
		{
			name:    "private key missing",
			setup:   func(t *testing.T, key, hosts string) (string, string) { return key + ".gone", hosts },
			want:    fs.ErrNotExist,
			mention: "private key",
		},
		{
			name:    "known_hosts missing",
			setup:   func(t *testing.T, key, hosts string) (string, string) { return key, hosts + ".gone" },
			want:    fs.ErrNotExist,
			mention: "known_hosts",
		},
		{
			name:    "private key not configured",
			setup:   func(t *testing.T, key, hosts string) (string, string) { return "", hosts },
			want:    filekeys.ErrNoPath,
			mention: "private key",
		},
		{
			name: "private key empty",
			setup: func(t *testing.T, key, hosts string) (string, string) {
				write(t, key, "", 0o600)
				return key, hosts
			},
			want:    filekeys.ErrEmpty,
			mention: "private key",
		},
		{
			name: "known_hosts empty",
			setup: func(t *testing.T, key, hosts string) (string, string) {
				write(t, hosts, "", 0o644)
				return key, hosts
			},
			want:    filekeys.ErrEmpty,
			mention: "known_hosts",
		},
		{
			name: "private key too large",
			setup: func(t *testing.T, key, hosts string) (string, string) {
				write(t, key, secretKey+strings.Repeat("A", 1<<20), 0o600)
				return key, hosts
			},
			want:    filekeys.ErrTooLarge,
			mention: "private key",
		},
		{
			name:    "private key is a directory",
			setup:   func(t *testing.T, key, hosts string) (string, string) { return filepath.Dir(key), hosts },
			mention: "not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key, hosts := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
			write(t, key, secretKey, 0o600)
			write(t, hosts, hostsLine, 0o644)
			key, hosts = tt.setup(t, key, hosts)

			creds, err := filekeys.New(key, hosts).Credentials(t.Context())
			if tt.mention == "" {
				if err != nil || string(creds.PrivateKey) != secretKey || string(creds.KnownHosts) != hostsLine {
					t.Fatalf("Credentials = %d, %d bytes, %v; want both files", len(creds.PrivateKey),
						len(creds.KnownHosts), err)
				}
				return
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Credentials error = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "filekeys: ") || !strings.Contains(msg, tt.mention) {
				t.Fatalf("error %q does not name %q", msg, tt.mention)
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "BEGIN") {
				t.Fatalf("error shows key material: %q", msg)
			}
		})
	}
}

func TestCredentialsRotation(t *testing.T) {
	dir := t.TempDir()
	key, hosts := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	write(t, key, "first key", 0o600)
	write(t, hosts, "first hosts", 0o600)
	k := filekeys.New(key, hosts)

	for _, want := range []string{"first", "second"} {
		write(t, key, want+" key", 0o600)
		write(t, hosts, want+" hosts", 0o600)
		creds, err := k.Credentials(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if string(creds.PrivateKey) != want+" key" || string(creds.KnownHosts) != want+" hosts" {
			t.Fatalf("Credentials after writing %q returned stale content", want)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := k.Credentials(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Credentials with a cancelled context = %v", err)
	}
}

func TestWarnsOncePerReadableKey(t *testing.T) {
	tests := []struct {
		name  string
		mode  os.FileMode
		warns int
	}{
		{name: "owner only", mode: 0o600, warns: 0},
		{name: "group readable", mode: 0o640, warns: 1},
		{name: "world readable", mode: 0o644, warns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key, hosts := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
			write(t, key, secretKey, tt.mode)
			write(t, hosts, hostsLine, 0o644)

			var logs bytes.Buffer
			k := filekeys.New(key, hosts, filekeys.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			for range 3 {
				if _, err := k.Credentials(t.Context()); err != nil {
					t.Fatal(err) // readable keys are used, not refused
				}
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != tt.warns {
				t.Fatalf("%d warnings, want %d:\n%s", n, tt.warns, logs.String())
			}
			if tt.warns > 0 && !strings.Contains(logs.String(), key) {
				t.Fatalf("warning does not name the file:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), "SECRET") {
				t.Fatalf("log shows key material:\n%s", logs.String())
			}
		})
	}
}
