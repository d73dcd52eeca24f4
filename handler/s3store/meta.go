package s3store

import (
	"mime"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Names of the user metadata entries (after the x-amz-meta- prefix) that hold pipeline.Meta.
const (
	MetaProject  = "project"
	MetaRepo     = "repo"
	MetaBranch   = "branch"
	MetaCommit   = "commit"
	MetaTree     = "tree"
	MetaDelivery = "delivery"
)

// encodeMeta turns m into S3 user metadata, leaving out empty fields.
func encodeMeta(m pipeline.Meta) map[string]string {
	out := make(map[string]string, 6)
	for name, value := range map[string]string{
		MetaProject: m.Project, MetaRepo: m.Repo, MetaBranch: m.Branch,
		MetaCommit: m.Commit, MetaTree: m.Tree, MetaDelivery: m.Delivery,
	} {
		if value != "" {
			out[name] = mime.QEncoding.Encode("utf-8", value)
		}
	}

	return out
}

// decodeMeta reads pipeline.Meta back from S3 user metadata. The SDK reports the
// names in lower case; a value that is not valid RFC 2047 is kept as it is.
func decodeMeta(md map[string]string) pipeline.Meta {
	var dec mime.WordDecoder
	get := func(name string) string {
		for k, v := range md {
			if strings.EqualFold(k, name) {
				if s, err := dec.DecodeHeader(v); err == nil {
					return s
				}
				return v
			}
		}
		return ""
	}

	return pipeline.Meta{
		Project:  get(MetaProject),
		Repo:     get(MetaRepo),
		Branch:   get(MetaBranch),
		Commit:   get(MetaCommit),
		Tree:     get(MetaTree),
		Delivery: get(MetaDelivery),
	}
}
