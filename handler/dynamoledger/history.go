package dynamoledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// History returns the records q selects, newest first, at most q.Limit of them
// (all when q.Limit is 0). It always reads with Query, picking the narrowest key
// q allows:
//
//	Commit set                  → index IndexCommit, commit = q.Commit
//	Project, Repo and Branch    → the table, pk = REPO#<project>/<repo>#<branch>
//	Project and Repo            → index IndexRepo, repoKey = <project>/<repo>
//	Project                     → index IndexProject, project = q.Project
//	nothing                     → index IndexAll, scope = ALL
//
// Fields the key does not cover are applied as a filter.
func (l *Ledger) History(ctx context.Context, q pipeline.Query) ([]pipeline.Record, error) {
	in := l.historyQuery(q)

	var out []pipeline.Record
	pages := dynamodb.NewQueryPaginator(l.client, in)
	for pages.HasMorePages() && (q.Limit <= 0 || len(out) < q.Limit) {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ledger history %s: %w", describe(q), err)
		}

		for _, av := range page.Items {
			var it recordItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("ledger history %s: decode: %w", describe(q), err)
			}
			rec, err := fromItem(it)
			if err != nil {
				return nil, fmt.Errorf("ledger history %s: %w", describe(q), err)
			}
			out = append(out, rec)
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}

	return out, nil
}

// historyQuery builds the Query request for q.
func (l *Ledger) historyQuery(q pipeline.Query) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(l.table),
		ScanIndexForward:          aws.Bool(false),
		ExpressionAttributeNames:  map[string]string{},
		ExpressionAttributeValues: map[string]types.AttributeValue{},
	}
	key := func(attr, value string) {
		in.KeyConditionExpression = aws.String("#k = :k")
		in.ExpressionAttributeNames["#k"] = attr
		in.ExpressionAttributeValues[":k"] = str(value)
	}

	filters := map[string]string{AttrProject: q.Project, "repo": q.Repo, "branch": q.Branch}
	switch {
	case q.Commit != "":
		in.IndexName = aws.String(IndexCommit)
		key(AttrCommit, q.Commit)
	case q.Project != "" && q.Repo != "" && q.Branch != "":
		key(AttrPK, repoPK(q.Project, q.Repo, q.Branch))
		filters = nil
	case q.Project != "" && q.Repo != "":
		in.IndexName = aws.String(IndexRepo)
		key(AttrRepoKey, q.Project+"/"+q.Repo)
		delete(filters, AttrProject)
		delete(filters, "repo")
	case q.Project != "":
		in.IndexName = aws.String(IndexProject)
		key(AttrProject, q.Project)
		delete(filters, AttrProject)
	default:
		in.IndexName = aws.String(IndexAll)
		key(AttrScope, ScopeAll)
	}

	var conds []string
	for _, attr := range []string{AttrProject, "repo", "branch"} {
		if v := filters[attr]; v != "" {
			n := strconv.Itoa(len(conds))
			conds = append(conds, "#f"+n+" = :f"+n)
			in.ExpressionAttributeNames["#f"+n] = attr
			in.ExpressionAttributeValues[":f"+n] = str(v)
		}
	}
	if len(conds) > 0 {
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	} else if q.Limit > 0 {
		in.Limit = aws.Int32(int32(min(q.Limit, 1000)))
	}

	return in
}

// describe names a query in errors.
func describe(q pipeline.Query) string {
	s := q.Project + "/" + q.Repo + "@" + q.Branch
	if q.Commit != "" {
		s += " commit " + q.Commit
	}

	return s
}
