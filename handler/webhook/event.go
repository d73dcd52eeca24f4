// Package webhook turns the bodies Backlog posts into one validated event type.
//
// Backlog sends two kinds of webhook: the project webhook (a JSON body whose
// type 12 is a Git push) and the repository webhook (a form body whose field
// "payload" holds JSON). Parse accepts both and returns an Event; events that
// are not pushes are returned with Kind set so callers can record and ignore them.
package webhook

import "time"

// Kind says what an event is and so what the pipeline does with it.
type Kind string

// The kinds of event the pipeline distinguishes.
const (
	KindPush   Kind = "push"   // a branch was created or updated
	KindDelete Kind = "delete" // a branch was deleted; its archives are kept
	KindTag    Kind = "tag"    // a tag was pushed; tags are not archived
	KindOther  Kind = "other"  // repository created, pull requests and other event types
)

// Delivery is one webhook exactly as it was received, before parsing.
// It is what queues carry, so the body reaches the worker byte for byte.
type Delivery struct {
	// ID identifies the delivery stably across redeliveries: the hex SHA-256 of the body.
	ID          string    `json:"id"`
	ContentType string    `json:"contentType"`
	Body        []byte    `json:"body"`
	ReceivedAt  time.Time `json:"receivedAt"`
}

// Event is a parsed and validated webhook.
type Event struct {
	Kind Kind `json:"kind"`

	// Type is Backlog's numeric event type for project webhooks, 0 for repository webhooks.
	Type int `json:"type,omitempty"`

	// Project is the Backlog project key, e.g. "DEMO".
	Project string `json:"project,omitempty"`

	// Repo is the repository name within the project, e.g. "api-server".
	Repo string `json:"repo,omitempty"`

	// Ref is the full ref, e.g. "refs/heads/main"; Branch is its short name for branches.
	Ref    string `json:"ref,omitempty"`
	Branch string `json:"branch,omitempty"`

	// After is the pushed revision when the webhook names one (repository webhooks do).
	After string `json:"after,omitempty"`

	// Revisions lists the commit ids the webhook reported, newest last as Backlog sends them.
	Revisions []string `json:"revisions,omitempty"`

	// User is the name of the person who pushed, when the webhook says.
	User string `json:"user,omitempty"`

	// Created is when Backlog says the event happened, zero when it does not say.
	Created time.Time `json:"created,omitzero"`

	// Reason explains, for KindOther and KindTag, why the event is not archived.
	Reason string `json:"reason,omitempty"`
}

// FullName is "PROJECT/repo", the unit of ordering and of the key layout.
func (e Event) FullName() string { return e.Project + "/" + e.Repo }
