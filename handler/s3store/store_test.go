package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func TestPutHeadOpenRoundTrip(t *testing.T) {
	p := newPeer(t)

	tests := []struct {
		name string
		key  string
		meta pipeline.Meta
	}{
		{
			name: "ascii",
			key:  "DEMO/api/main.zip",
			meta: pipeline.Meta{Project: "DEMO", Repo: "api", Branch: "main", Commit: strings.Repeat("a", 40),
				Tree: strings.Repeat("b", 40), Delivery: "12345"},
		},
		{
			name: "non-ascii branch",
			key:  "DEMO/api/feature/ログイン.zip",
			meta: pipeline.Meta{Project: "DEMO", Repo: "api", Branch: "feature/ログイン", Commit: "c1", Tree: "t1",
				Delivery: "d-1"},
		},
		{
			name: "empty fields",
			key:  "DEMO/web/develop.zip",
			meta: pipeline.Meta{Project: "DEMO", Repo: "web", Branch: "develop"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			body := []byte("zip bytes of " + tc.name)

			put, err := p.store.Put(ctx, tc.key, bytes.NewBuffer(body), tc.meta)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if put.Version == "" || put.Size != int64(len(body)) || put.Key != tc.key {
				t.Fatalf("Put = %+v, want a version, key %q and size %d", put, tc.key, len(body))
			}

			head, err := p.store.Head(ctx, tc.key)
			if err != nil {
				t.Fatalf("Head: %v", err)
			}
			if head.Version != put.Version || head.Size != put.Size || head.Meta != tc.meta {
				t.Fatalf("Head = %+v\nwant version %s, size %d, meta %+v", head, put.Version, put.Size, tc.meta)
			}
			if head.Modified.IsZero() {
				t.Error("Head has no modification time")
			}

			rc, obj, err := p.store.Open(ctx, tc.key, "")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer rc.Close()
			got, _ := io.ReadAll(rc)
			if !bytes.Equal(got, body) || obj.Meta != tc.meta || obj.Version != put.Version {
				t.Fatalf("Open = %q %+v, want %q with meta %+v", got, obj, body, tc.meta)
			}
		})
	}
}

func TestVersionsNewestFirst(t *testing.T) {
	p := newPeer(t)
	ctx := t.Context()
	const key = "DEMO/api/main.zip"

	var puts []pipeline.Object
	for i, body := range []string{"first", "second", "third"} {
		obj, err := p.store.Put(ctx, key, strings.NewReader(body), pipeline.Meta{Delivery: string(rune('a' + i))})
		if err != nil {
			t.Fatalf("Put %s: %v", body, err)
		}
		puts = append(puts, obj)
	}
	if _, err := p.store.Put(ctx, key+".old", strings.NewReader("other key"), pipeline.Meta{}); err != nil {
		t.Fatalf("Put other key: %v", err)
	}

	versions, err := p.store.Versions(ctx, key)
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if len(versions) != len(puts) {
		t.Fatalf("Versions returned %d versions, want %d: %+v", len(versions), len(puts), versions)
	}
	for i, v := range versions {
		want := puts[len(puts)-1-i]
		if v.Version != want.Version || v.Size != want.Size || v.Key != key {
			t.Errorf("version %d = %+v, want %s (%d bytes)", i, v, want.Version, want.Size)
		}
	}

	rc, obj, err := p.store.Open(ctx, key, puts[0].Version)
	if err != nil {
		t.Fatalf("Open first version: %v", err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "first" || obj.Meta.Delivery != "a" {
		t.Fatalf("first version = %q with delivery %q, want %q with delivery %q", got, obj.Meta.Delivery, "first", "a")
	}
}

func TestNotFound(t *testing.T) {
	p := newPeer(t)
	ctx := t.Context()
	if _, err := p.store.Put(ctx, "DEMO/api/main.zip", strings.NewReader("x"), pipeline.Meta{}); err != nil {
		t.Fatalf("Put: %v", err)
	}

	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{name: "head missing key", call: func(ctx context.Context) error {
			_, err := p.store.Head(ctx, "DEMO/api/absent.zip")
			return err
		}},
		{name: "open missing key", call: func(ctx context.Context) error {
			_, _, err := p.store.Open(ctx, "DEMO/api/absent.zip", "")
			return err
		}},
		{name: "open missing version", call: func(ctx context.Context) error {
			_, _, err := p.store.Open(ctx, "DEMO/api/main.zip", "no-such-version")
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(t.Context()); !errors.Is(err, pipeline.ErrNotFound) {
				t.Fatalf("err = %v, want one wrapping pipeline.ErrNotFound", err)
			}
		})
	}
}

// openUploads counts the multipart uploads started and neither completed nor aborted.
func openUploads(t *testing.T, p peer) int {
	t.Helper()

	out, err := p.client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(p.bucket)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload" {
		return 0 // gofakes3 answers so for a bucket that never had a multipart upload
	}
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}

	return len(out.Uploads)
}

// TestOpenUploadsSeesAnUnfinishedUpload shows that openUploads, which the failure
// tests rely on, does report an upload left open.
func TestOpenUploadsSeesAnUnfinishedUpload(t *testing.T) {
	p := newPeer(t)

	_, err := p.client.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{
		Bucket: aws.String(p.bucket), Key: aws.String("left/open.zip"),
	})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if n := openUploads(t, p); n != 1 {
		t.Fatalf("openUploads = %d, want 1", n)
	}
}
