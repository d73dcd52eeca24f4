package webhook

import (
	"fmt"
	"net/url"
	"strings"
)

// repositoryPayload is the part of a repository webhook's payload this package reads.
type repositoryPayload struct {
	Before     string `json:"before"`
	After      string `json:"after"`
	Ref        string `json:"ref"`
	Repository *struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"repository"`
	Revisions []*struct {
		ID string `json:"id"`
	} `json:"revisions"`
}

// parseRepository reads the JSON payload of a repository webhook.
func parseRepository(payload []byte) (Event, error) {
	var p repositoryPayload
	if err := decodeJSON(payload, &p); err != nil {
		return Event{}, err
	}
	if p.Repository == nil {
		return Event{}, missing("repository")
	}
	project, repo, err := repositoryFromURL(p.Repository.URL, p.Repository.Name)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Kind: KindPush, Project: project, Repo: repo}

	name, tag, ferr := refKind("ref", p.Ref)
	if ferr != nil {
		return Event{}, ferr
	}
	ev.Ref = p.Ref

	// before only tells a creation from an update, so it may be absent.
	var before string
	if p.Before != "" {
		if before, ferr = validateRevision("before", p.Before); ferr != nil {
			return Event{}, ferr
		}
	}
	after, ferr := validateRevision("after", p.After)
	if ferr != nil {
		return Event{}, ferr
	}
	if isZeroRevision(before) && isZeroRevision(after) {
		return Event{}, fieldErr("after", after, "before and after are both zero")
	}
	deleted := isZeroRevision(after)
	if deleted {
		ev.Kind = KindDelete
	} else {
		ev.After = after
	}

	for i, r := range p.Revisions {
		field := fmt.Sprintf("revisions[%d].id", i)
		if r == nil {
			return Event{}, missing(field)
		}
		id, err := validateRevision(field, r.ID)
		if err != nil {
			return Event{}, err
		}
		ev.Revisions = append(ev.Revisions, id)
	}

	finishRef(&ev, name, tag, deleted)
	return ev, nil
}

// repositoryFromURL takes the project key and repository name from a repository URL such as
// https://demo.backlog.com/git/DEMO/api-server. name, when given, must agree with the URL.
func repositoryFromURL(raw, name string) (project, repo string, err error) {
	const field = "repository.url"
	if raw == "" {
		return "", "", missing(field)
	}
	u, perr := url.Parse(raw)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fieldErr(field, raw, "must be an http or https URL")
	}

	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "git" {
		return "", "", fieldErr(field, raw, "path must be /git/PROJECT/repository")
	}
	if err := validateProject(field, parts[1]); err != nil {
		return "", "", fieldErr(field, raw, "project key in path: "+err.Reason)
	}
	project, repo = parts[1], parts[2]
	if name != "" && name != repo && name+".git" == repo {
		repo = name
	}
	if err := validateRepo(field, repo); err != nil {
		return "", "", fieldErr(field, raw, "repository name in path: "+err.Reason)
	}
	if name != "" && name != repo {
		return "", "", fieldErr("repository.name", name, fmt.Sprintf("does not match the URL's %q", repo))
	}
	return project, repo, nil
}
