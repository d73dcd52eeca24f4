package awspeers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SecretsServer is a Secrets Manager peer that answers GetSecretValue over the
// service's JSON 1.1 protocol. Other operations get an UnknownOperationException.
type SecretsServer struct {
	// URL is the endpoint clients use.
	URL string

	stop     func()
	requests atomic.Int64

	mu      sync.Mutex
	secrets map[string]string
}

// StartSecrets starts a Secrets Manager peer serving secrets (name → SecretString).
// Close stops it.
func StartSecrets(secrets map[string]string) (*SecretsServer, error) {
	s := &SecretsServer{secrets: make(map[string]string, len(secrets))}
	for name, value := range secrets {
		s.secrets[name] = value
	}

	srv, err := serve(s)
	if err != nil {
		return nil, fmt.Errorf("secrets manager peer: %w", err)
	}
	s.URL, s.stop = srv.URL, srv.Close

	return s, nil
}

// StartSecretsT starts a Secrets Manager peer for the test and stops it when the test ends.
func StartSecretsT(t testing.TB, secrets map[string]string) *SecretsServer {
	t.Helper()

	s, err := StartSecrets(secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	return s
}

// Secrets starts a Secrets Manager peer for the test serving secrets
// (name → SecretString) and returns its endpoint. The peer stops when the test ends.
func Secrets(t testing.TB, secrets map[string]string) (endpoint string) {
	t.Helper()

	return StartSecretsT(t, secrets).URL
}

// Close stops the peer.
func (s *SecretsServer) Close() { s.stop() }

// Requests reports how many requests the peer has received.
func (s *SecretsServer) Requests() int64 { return s.requests.Load() }

// Put creates or replaces the secret name.
func (s *SecretsServer) Put(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.secrets[name] = value
}

// ServeHTTP answers one Secrets Manager API call.
func (s *SecretsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)

	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		writeSecretsError(w, "UnknownOperationException", "only GetSecretValue is served")
		return
	}

	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretID == "" {
		writeSecretsError(w, "InvalidParameterException", "SecretId is required")
		return
	}

	name := secretName(in.SecretID)
	s.mu.Lock()
	value, ok := s.secrets[name]
	s.mu.Unlock()
	if !ok {
		writeSecretsError(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN":           secretARN(name),
		"Name":          name,
		"SecretString":  value,
		"VersionId":     "00000000-0000-0000-0000-000000000001",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
	})
}

// secretARN is the ARN the peer reports for name.
func secretARN(name string) string {
	return "arn:aws:secretsmanager:" + Region + ":000000000000:secret:" + name
}

// secretName accepts a secret's name or the ARN the peer reports for it.
func secretName(id string) string {
	return strings.TrimPrefix(id, "arn:aws:secretsmanager:"+Region+":000000000000:secret:")
}

func writeSecretsError(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "Message": message})
}
