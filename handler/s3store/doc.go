// Package s3store keeps archives in a versioned S3 bucket. Store implements
// pipeline.Store and pipeline.Opener.
//
// Put streams an archive of unknown length with the S3 transfer manager: the
// stream is cut into parts of PartSize bytes and up to Concurrency parts are
// sent at once, so memory stays near (Concurrency+2) × PartSize whatever the
// archive's size (32 MiB with the defaults, 8 MiB parts and 2 in flight). A stream
// shorter than one part is sent with a single PutObject. With 8 MiB parts an
// archive may reach S3's 10,000-part limit, about 78 GiB. When the stream or an
// upload request fails, the multipart upload is aborted, so no object and no
// stored parts remain; a lifecycle rule that aborts incomplete multipart uploads
// is still the backstop for a process that dies mid-upload.
//
// The pipeline.Meta of every version is kept as user metadata:
//
//	x-amz-meta-project, x-amz-meta-repo, x-amz-meta-branch,
//	x-amz-meta-commit, x-amz-meta-tree, x-amz-meta-delivery
//
// Values that are not plain ASCII (a branch named in Japanese, say) are stored
// RFC 2047 encoded, as S3 itself returns them, and decoded on read.
package s3store
