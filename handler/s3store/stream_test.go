package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
)

func TestPutLargeUnseekableStream(t *testing.T) {
	p := newPeer(t)
	ctx := t.Context()
	const key, size = "DEMO/big/main.zip", 40 << 20

	src := newPatternReader(size)
	put, err := p.store.Put(ctx, key, src, pipeline.Meta{Project: "DEMO", Repo: "big", Branch: "main"})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if put.Size != size {
		t.Fatalf("Put size = %d, want %d", put.Size, size)
	}

	wantParts := (size + s3store.DefaultPartSize - 1) / s3store.DefaultPartSize
	if got := p.calls.count("UploadPart"); got != wantParts {
		t.Errorf("UploadPart requests = %d, want %d", got, wantParts)
	}
	if got := p.calls.count("CreateMultipartUpload"); got != 1 {
		t.Errorf("CreateMultipartUpload requests = %d, want 1", got)
	}
	if got := p.calls.count("PutObject"); got != 0 {
		t.Errorf("PutObject requests = %d, want 0", got)
	}

	rc, obj, err := p.store.Open(ctx, key, put.Version)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if got := sha256Of(t, rc); !bytes.Equal(got, src.sum.Sum(nil)) {
		t.Fatalf("stored body differs from the stream (sha256 %x, want %x)", got, src.sum.Sum(nil))
	}
	if obj.Size != size || obj.Meta.Repo != "big" {
		t.Fatalf("Open object = %+v, want size %d and repo big", obj, size)
	}
}

func TestFailedPutLeavesNothing(t *testing.T) {
	errStream := errors.New("archive stream broke")

	tests := []struct {
		name      string
		after     int64 // bytes the stream yields before it fails
		cancel    bool  // cancel the context instead of returning an error
		wantParts bool  // parts were sent before the failure
		wantErr   error
	}{
		{name: "fails within the first part", after: 1 << 20, wantErr: errStream},
		{name: "fails after parts were sent", after: 26 << 20, wantParts: true, wantErr: errStream},
		{name: "context cancelled mid-stream", after: 26 << 20, cancel: true, wantParts: true,
			wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t)
			const key = "DEMO/api/main.zip"
			prev, err := p.store.Put(t.Context(), key, strings.NewReader("previous"), pipeline.Meta{Delivery: "1"})
			if err != nil {
				t.Fatalf("Put previous version: %v", err)
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &failingReader{pattern: newPatternReader(64 << 20), after: tc.after, err: errStream}
			if tc.cancel {
				r.err, r.onFail = nil, cancel
			}

			_, err = p.store.Put(ctx, key, r, pipeline.Meta{Delivery: "2"})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put err = %v, want one wrapping %v", err, tc.wantErr)
			}

			if sent := p.calls.count("UploadPart"); (sent > 0) != tc.wantParts {
				t.Fatalf("UploadPart requests = %d, want parts sent: %v", sent, tc.wantParts)
			}
			if n := openUploads(t, p); n != 0 {
				t.Fatalf("%d multipart uploads left open, want 0", n)
			}
			head, err := p.store.Head(t.Context(), key)
			if err != nil || head.Version != prev.Version || head.Meta.Delivery != "1" {
				t.Fatalf("Head = %+v, %v; want the previous version %s", head, err, prev.Version)
			}
			versions, err := p.store.Versions(t.Context(), key)
			if err != nil || len(versions) != 1 {
				t.Fatalf("Versions = %d versions, %v; want only the previous one", len(versions), err)
			}
		})
	}
}

func TestFailedFirstPutLeavesNoObject(t *testing.T) {
	p := newPeer(t)
	r := &failingReader{pattern: newPatternReader(64 << 20), after: 20 << 20, err: errors.New("broken")}

	if _, err := p.store.Put(t.Context(), "DEMO/api/new.zip", r, pipeline.Meta{}); err == nil {
		t.Fatal("Put of a broken stream succeeded")
	}
	if _, err := p.store.Head(t.Context(), "DEMO/api/new.zip"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Fatalf("Head after failed Put: %v, want ErrNotFound", err)
	}
	if n := openUploads(t, p); n != 0 {
		t.Fatalf("%d multipart uploads left open, want 0", n)
	}
}
