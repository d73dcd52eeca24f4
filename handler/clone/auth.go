package clone

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// keyAuth is a go-git SSH auth method with one private key and a host key check
// against known_hosts that remembers why it refused a host.
type keyAuth struct {
	user       string
	signer     gossh.Signer
	hostKeys   gossh.HostKeyCallback
	algorithms []string

	mu      sync.Mutex
	hostErr error
}

var _ gitssh.AuthMethod = (*keyAuth)(nil)

func newAuth(ep *transport.Endpoint, privateKey, knownHosts []byte, dir string) (*keyAuth, error) {
	signer, err := gossh.ParsePrivateKey(privateKey)
	if err != nil {
		var missing *gossh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("parse private key: passphrase-protected keys are not supported")
		}
		return nil, errors.New("parse private key: not an OpenSSH or PEM private key")
	}

	// knownhosts reads files only; the lines are public and live with the clone.
	path := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(path, knownHosts, 0o600); err != nil {
		return nil, err
	}
	hostKeys, err := knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", err)
	}

	port := ep.Port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	user := ep.User
	if user == "" {
		user = gitssh.DefaultUsername
	}
	return &keyAuth{
		user:       user,
		signer:     signer,
		hostKeys:   hostKeys,
		algorithms: hostKeyAlgorithms(hostKeys, net.JoinHostPort(ep.Host, strconv.Itoa(port))),
	}, nil
}

// Name implements transport.AuthMethod.
func (a *keyAuth) Name() string { return gitssh.PublicKeysName }

// String implements transport.AuthMethod without revealing the key.
func (a *keyAuth) String() string { return "user: " + a.user + ", key: " + a.fingerprint() }

// ClientConfig implements gitssh.AuthMethod.
func (a *keyAuth) ClientConfig() (*gossh.ClientConfig, error) {
	return &gossh.ClientConfig{
		User:              a.user,
		Auth:              []gossh.AuthMethod{gossh.PublicKeys(a.signer)},
		HostKeyCallback:   a.checkHostKey,
		HostKeyAlgorithms: a.algorithms,
	}, nil
}

func (a *keyAuth) fingerprint() string { return gossh.FingerprintSHA256(a.signer.PublicKey()) }

func (a *keyAuth) checkHostKey(hostname string, remote net.Addr, key gossh.PublicKey) error {
	err := a.hostKeys(hostname, remote, key)
	if err == nil {
		return nil
	}

	host := knownhosts.Normalize(hostname)
	offered := key.Type() + " " + gossh.FingerprintSHA256(key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		err = fmt.Errorf("%w: %s offered %s", ErrHostUnknown, host, offered)
	case errors.As(err, &keyErr):
		err = fmt.Errorf("%w for %s: server offered %s, known_hosts has %s",
			ErrHostKeyMismatch, host, offered, wantList(keyErr.Want))
	case errors.As(err, &revoked):
		err = fmt.Errorf("%w for %s: server offered revoked key %s", ErrHostKeyMismatch, host, offered)
	}

	a.mu.Lock()
	a.hostErr = err
	a.mu.Unlock()
	return err
}

func (a *keyAuth) hostKeyError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hostErr
}

func wantList(want []knownhosts.KnownKey) string {
	s := ""
	for i, k := range want {
		if i > 0 {
			s += ", "
		}
		s += k.Key.Type() + " " + gossh.FingerprintSHA256(k.Key)
	}
	return s
}

// hostKeyAlgorithms returns the host key algorithms known_hosts lists for
// hostWithPort, so the server is asked for a key we can check rather than one it
// prefers but known_hosts lacks. It returns nil (the default list) when none is known.
func hostKeyAlgorithms(hostKeys gossh.HostKeyCallback, hostWithPort string) []string {
	var keyErr *knownhosts.KeyError
	addr := &net.TCPAddr{IP: net.IPv4zero}
	if err := hostKeys(hostWithPort, addr, probeKey{}); !errors.As(err, &keyErr) {
		return nil
	}

	var algos []string
	seen := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	for _, k := range keyErr.Want {
		switch t := k.Key.Type(); t {
		case gossh.KeyAlgoRSA:
			add(gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// probeKey is a public key no known_hosts line matches; checking it reveals the
// keys known for a host.
type probeKey struct{}

func (probeKey) Type() string                          { return "probe" }
func (probeKey) Marshal() []byte                       { return []byte("probe") }
func (probeKey) Verify([]byte, *gossh.Signature) error { return errors.New("probe key") }
