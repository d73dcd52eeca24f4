package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func runList(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var cfg localConfig
	fs := newFlagSet("list", "list [--repo PROJECT/repo] [--branch B] [--commit SHA] [--json]", stdout)
	fs.StringVar(&cfg.Data, "data", envOr(envData, ".data"), "data directory (env "+envData+")")
	repo := fs.String("repo", "", "only this repository (PROJECT/repo)")
	branch := fs.String("branch", "", "only this branch")
	commit := fs.String("commit", "", "only records of this commit (full hash)")
	limit := fs.Int("limit", 50, "at most this many records, newest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	q := pipeline.Query{Branch: *branch, Commit: *commit, Limit: *limit}
	if *repo != "" {
		var ok bool
		if q.Project, q.Repo, ok = strings.Cut(*repo, "/"); !ok {
			return fmt.Errorf("--repo %q: expected PROJECT/repo", *repo)
		}
	}
	l, err := cfg.openReader(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	recs, err := l.History(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range recs {
			r.Payload = ""
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return printTable(stdout, recs)
}

// printTable writes records as an aligned table, one line each.
func printTable(w io.Writer, recs []pipeline.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREPOSITORY\tBRANCH\tOUTCOME\tCOMMIT\tTREE\tKEY\tVERSION\tSIZE\tTOOK\tREASON")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Time.Local().Format(time.DateTime), dash(r.Project+"/"+r.Repo, r.Project == ""), dash(r.Branch, false),
			r.Outcome, dash(abbrev(r.Commit), false), dash(abbrev(r.Tree), false), dash(r.Key, false),
			dash(r.Version, false), dash(size(r.Size), r.Size == 0), dash(r.Duration.Round(time.Millisecond).String(),
				r.Duration == 0), r.Reason)
	}
	return tw.Flush()
}

func dash(s string, empty bool) string {
	if empty || s == "" {
		return "-"
	}
	return s
}

func abbrev(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
