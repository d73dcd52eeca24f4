package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // OpenSSH hashes known_hosts names with HMAC-SHA1; this only matches them.
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// publicKeyOf checks that pemKey is an unencrypted private key and returns its public half
// in authorized_keys form. Errors never include key material.
func publicKeyOf(pemKey string) (string, error) {
	raw, err := ssh.ParseRawPrivateKey([]byte(pemKey))
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return "", errors.New("the private key has a passphrase; the function needs an unencrypted key")
	case err != nil:
		return "", errors.New("is not a PEM or OpenSSH private key")
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return "", errors.New("has a key type SSH cannot sign with")
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

// checkKnownHosts checks that every line of lines parses and that one names the host of server
// (USER@HOST or USER@HOST:PORT), plainly, hashed or by wildcard.
func checkKnownHosts(lines, server string) error {
	host := server[strings.LastIndex(server, "@")+1:]
	var addr string
	if h, p, err := net.SplitHostPort(host); err == nil {
		addr = net.JoinHostPort(h, p)
	} else {
		addr = net.JoinHostPort(host, "22")
	}
	want := knownhosts.Normalize(addr)

	found, n := false, 0
	sc := bufio.NewScanner(strings.NewReader(lines))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		_, hosts, _, _, _, err := ssh.ParseKnownHosts([]byte(line))
		if err != nil {
			return fmt.Errorf("line %d is not a known_hosts entry", n)
		}
		for _, pattern := range hosts {
			if hostMatches(pattern, want) {
				found = true
			}
		}
	}
	switch {
	case n == 0:
		return errors.New("has no known_hosts entry")
	case !found:
		return fmt.Errorf("has no entry for %s", want)
	}
	return nil
}

func hostMatches(pattern, host string) bool {
	if salt, sum, ok := strings.Cut(strings.TrimPrefix(pattern, "|1|"), "|"); ok && strings.HasPrefix(pattern, "|1|") {
		key, err1 := base64.StdEncoding.DecodeString(salt)
		want, err2 := base64.StdEncoding.DecodeString(sum)
		if err1 != nil || err2 != nil {
			return false
		}
		mac := hmac.New(sha1.New, key)
		mac.Write([]byte(host))
		return hmac.Equal(mac.Sum(nil), want)
	}
	if pattern == host {
		return true
	}
	ok, err := path.Match(pattern, host)
	return err == nil && ok
}
