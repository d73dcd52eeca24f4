package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// sidecar is the meta.json beside every stored version.
type sidecar struct {
	Key      string    `json:"key"`
	Version  string    `json:"version"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Modified time.Time `json:"modified"`
	Meta     metaJSON  `json:"meta"`
}

// metaJSON is pipeline.Meta with stable lower-case field names on disk.
type metaJSON struct {
	Project  string `json:"project,omitempty"`
	Repo     string `json:"repo,omitempty"`
	Branch   string `json:"branch,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Tree     string `json:"tree,omitempty"`
	Delivery string `json:"delivery,omitempty"`
}

func toMetaJSON(m pipeline.Meta) metaJSON {
	return metaJSON{
		Project: m.Project, Repo: m.Repo, Branch: m.Branch, Commit: m.Commit, Tree: m.Tree, Delivery: m.Delivery,
	}
}

func (sc sidecar) object() pipeline.Object {
	m := sc.Meta
	return pipeline.Object{
		Key:      sc.Key,
		Version:  sc.Version,
		Size:     sc.Size,
		Modified: sc.Modified,
		Meta: pipeline.Meta{
			Project: m.Project, Repo: m.Repo, Branch: m.Branch, Commit: m.Commit, Tree: m.Tree, Delivery: m.Delivery,
		},
	}
}

// writeSidecar writes sc as JSON to a new file name and syncs it.
func (s *Store) writeSidecar(name string, sc sidecar) error {
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	return s.writeFileSync(name, append(b, '\n'))
}

// readMeta reads the sidecar of version v in the key directory kp.
func (s *Store) readMeta(kp, v string) (pipeline.Object, error) {
	b, err := s.root.ReadFile(path.Join(kp, versionsName, v, metaName))
	if err != nil {
		return pipeline.Object{}, notFound(err)
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return pipeline.Object{}, fmt.Errorf("corrupt %s of %s: %w", metaName, v, err)
	}
	if sc.Version != v {
		return pipeline.Object{}, fmt.Errorf("corrupt %s of %s: names version %q", metaName, v, sc.Version)
	}
	return sc.object(), nil
}

// Versions lists every stored version of key, newest first. A key never stored has none.
func (s *Store) Versions(ctx context.Context, key string) ([]pipeline.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
	}
	kp, err := keyPath(key)
	if err != nil {
		return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
	}

	f, err := s.root.Open(path.Join(kp, versionsName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
	}

	slices.SortFunc(names, func(a, b string) int { return strings.Compare(b, a) })
	objs := make([]pipeline.Object, 0, len(names))
	for _, n := range names {
		if checkVersion(n) != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
		}
		obj, err := s.readMeta(kp, n)
		if err != nil {
			return nil, fmt.Errorf("localstore: versions %s: %w", key, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}
