package webhook

import (
	"fmt"
	"time"
)

// Backlog project webhook event types this package names.
const (
	TypeGitPushed         = 12
	TypeRepositoryCreated = 13
	TypePullRequestAdded  = 18
	TypePullRequestUpdate = 19
	TypePullRequestNote   = 20
	TypePullRequestDelete = 21
)

// otherReasons says why known non-push project events are not archived.
var otherReasons = map[int]string{
	TypeRepositoryCreated: "repository created (type 13): nothing to archive until a push",
	TypePullRequestAdded:  "pull request added (type 18): pull requests are not archived",
	TypePullRequestUpdate: "pull request updated (type 19): pull requests are not archived",
	TypePullRequestNote:   "pull request comment (type 20): pull requests are not archived",
	TypePullRequestDelete: "pull request deleted (type 21): pull requests are not archived",
}

// maxUserBytes bounds the user name kept from a webhook.
const maxUserBytes = 200

// projectBody is the part of a project webhook this package reads.
type projectBody struct {
	Type    *int `json:"type"`
	Project *struct {
		ProjectKey string `json:"projectKey"`
	} `json:"project"`
	Content     *projectContent `json:"content"`
	CreatedUser *struct {
		Name string `json:"name"`
	} `json:"createdUser"`
	Created string `json:"created"`
}

// projectContent is the content of a type 12 event; other types share "repository".
type projectContent struct {
	Repository *struct {
		Name string `json:"name"`
	} `json:"repository"`
	ChangeType    string `json:"change_type"`
	Ref           string `json:"ref"`
	RevisionCount *int   `json:"revision_count"`
	Revisions     []*struct {
		Rev string `json:"rev"`
	} `json:"revisions"`
}

// parseProject reads a project webhook (JSON).
func parseProject(body []byte) (Event, error) {
	var b projectBody
	if err := decodeJSON(body, &b); err != nil {
		return Event{}, err
	}
	if b.Type == nil {
		return Event{}, missing("type")
	}

	ev := Event{Kind: KindOther, Type: *b.Type, Created: parseCreated(b.Created)}
	if b.Project == nil {
		return Event{}, missing("project.projectKey")
	}
	if err := validateProject("project.projectKey", b.Project.ProjectKey); err != nil {
		return Event{}, err
	}
	ev.Project = b.Project.ProjectKey
	if b.CreatedUser != nil {
		ev.User = cleanText(b.CreatedUser.Name, maxUserBytes)
	}

	if ev.Type != TypeGitPushed {
		return otherEvent(ev, b.Content)
	}
	if err := readPush(&ev, b.Content); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// otherEvent completes an event that is not a push. A repository name, when present, must be valid.
func otherEvent(ev Event, c *projectContent) (Event, error) {
	if c != nil && c.Repository != nil && c.Repository.Name != "" {
		if err := validateRepo("content.repository.name", c.Repository.Name); err != nil {
			return Event{}, err
		}
		ev.Repo = c.Repository.Name
	}
	ev.Reason = otherReasons[ev.Type]
	if ev.Reason == "" {
		ev.Reason = fmt.Sprintf("event type %d is not a Git push: ignored", ev.Type)
	}
	return ev, nil
}

// readPush fills ev from the content of a type 12 (Git pushed) event.
func readPush(ev *Event, c *projectContent) error {
	if c == nil {
		return missing("content")
	}
	if c.Repository == nil {
		return missing("content.repository")
	}
	if err := validateRepo("content.repository.name", c.Repository.Name); err != nil {
		return err
	}
	ev.Repo = c.Repository.Name

	name, tag, ferr := refKind("content.ref", c.Ref)
	if ferr != nil {
		return ferr
	}
	ev.Ref = c.Ref

	if c.RevisionCount != nil && *c.RevisionCount < 0 {
		return fieldErr("content.revision_count", fmt.Sprint(*c.RevisionCount), "must not be negative")
	}
	for i, r := range c.Revisions {
		field := fmt.Sprintf("content.revisions[%d].rev", i)
		if r == nil {
			return missing(field)
		}
		id, err := validateRevision(field, r.Rev)
		if err != nil {
			return err
		}
		ev.Revisions = append(ev.Revisions, id)
	}

	switch c.ChangeType {
	case "update", "create":
		ev.Kind = KindPush
	case "delete":
		ev.Kind = KindDelete
	case "":
		return missing("content.change_type")
	default:
		return fieldErr("content.change_type", c.ChangeType, `must be "update", "create" or "delete"`)
	}
	finishRef(ev, name, tag, c.ChangeType == "delete")
	return nil
}

// finishRef sets Branch for branches, or turns the event into KindTag for tags.
func finishRef(ev *Event, name string, tag, deleted bool) {
	if !tag {
		ev.Branch = name
		return
	}
	ev.Kind = KindTag
	ev.After = ""
	if deleted {
		ev.Reason = fmt.Sprintf("tag %q deleted: tags are not archived", name)
		return
	}
	ev.Reason = fmt.Sprintf("tag %q pushed: tags are not archived", name)
}

// parseCreated reads Backlog's "created" time. An absent or unreadable time gives the
// zero time rather than an error: it is informational and must not cost a push its archive.
func parseCreated(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
