package archive

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Subfolder is a top-level directory of a tree.
type Subfolder struct {
	Name string        // directory name, without slashes
	Tree plumbing.Hash // the directory's tree, to archive on its own or to compare
}

// Subfolders lists the top-level directories of tree in git order. Submodules are
// not listed: their trees are not in the repository.
func Subfolders(objs storer.EncodedObjectStorer, tree plumbing.Hash) ([]Subfolder, error) {
	t, err := object.GetTree(objs, tree)
	if err != nil {
		return nil, fmt.Errorf("archive: subfolders of %s: %w", tree, err)
	}
	var subs []Subfolder
	for _, e := range t.Entries {
		if e.Mode == filemode.Dir {
			subs = append(subs, Subfolder{Name: e.Name, Tree: e.Hash})
		}
	}
	return subs, nil
}
