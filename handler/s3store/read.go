package s3store

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Head returns the current version of key with its metadata, without its body.
// A missing key (or one whose current version is a delete marker) gives an error
// wrapping pipeline.ErrNotFound.
func (s *Store) Head(ctx context.Context, key string) (pipeline.Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return pipeline.Object{}, fmt.Errorf("s3 head %s/%s: %w", s.bucket, key, pipeline.ErrNotFound)
	}
	if err != nil {
		return pipeline.Object{}, fmt.Errorf("s3 head %s/%s: %w", s.bucket, key, err)
	}

	return pipeline.Object{
		Key:      key,
		Version:  aws.ToString(out.VersionId),
		Size:     aws.ToInt64(out.ContentLength),
		Modified: aws.ToTime(out.LastModified),
		Meta:     decodeMeta(out.Metadata),
	}, nil
}

// Open returns the body of one version of key; an empty version means the current
// one. The caller closes the body. A missing key or version gives an error
// wrapping pipeline.ErrNotFound.
func (s *Store) Open(ctx context.Context, key, version string) (io.ReadCloser, pipeline.Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}

	out, err := s.client.GetObject(ctx, in)
	if isNotFound(err) {
		return nil, pipeline.Object{}, fmt.Errorf("s3 get %s/%s@%s: %w", s.bucket, key, version, pipeline.ErrNotFound)
	}
	if err != nil {
		return nil, pipeline.Object{}, fmt.Errorf("s3 get %s/%s@%s: %w", s.bucket, key, version, err)
	}

	return out.Body, pipeline.Object{
		Key:      key,
		Version:  aws.ToString(out.VersionId),
		Size:     aws.ToInt64(out.ContentLength),
		Modified: aws.ToTime(out.LastModified),
		Meta:     decodeMeta(out.Metadata),
	}, nil
}

// Versions lists the stored versions of exactly key, newest first. Delete markers
// are left out. ListObjectVersions carries no user metadata, so Meta is empty;
// Open a version to read it.
func (s *Store) Versions(ctx context.Context, key string) ([]pipeline.Object, error) {
	var listed []types.ObjectVersion

	pages := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(key),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 list versions %s/%s: %w", s.bucket, key, err)
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == key {
				listed = append(listed, v)
			}
		}
	}

	newestFirst(listed)
	objs := make([]pipeline.Object, 0, len(listed))
	for _, v := range listed {
		objs = append(objs, pipeline.Object{
			Key:      key,
			Version:  aws.ToString(v.VersionId),
			Size:     aws.ToInt64(v.Size),
			Modified: aws.ToTime(v.LastModified),
		})
	}

	return objs, nil
}

// newestFirst orders the versions of one key newest first. S3 lists them so
// already; some S3-compatible servers (gofakes3 among them) list them oldest
// first, which shows as the latest version coming last.
func newestFirst(vs []types.ObjectVersion) {
	if n := len(vs); n > 1 && aws.ToBool(vs[n-1].IsLatest) && !aws.ToBool(vs[0].IsLatest) {
		slices.Reverse(vs)
	}
	slices.SortStableFunc(vs, func(a, b types.ObjectVersion) int {
		return aws.ToTime(b.LastModified).Compare(aws.ToTime(a.LastModified))
	})
}
