package bench

import (
	"fmt"
	"strings"
	"time"
)

// formatTable renders the results as a Markdown table followed by the Lambda package line.
func formatTable(rows []row, lam lambdaResult, rounds int) string {
	var b strings.Builder
	b.WriteString("| repo | (a) pipeline | (b) git clone + git archive | (a)/(b) | peak RSS (a) " +
		"| zip (a) | zip (b) | unchanged push | S3 requests of unchanged push |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		ratio := 0.0
		if r.git > 0 {
			ratio = float64(r.pipeline) / float64(r.git)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %d MiB | %s | %s | %s | %s |\n", r.name,
			secs(r.pipeline), secs(r.git), ratio, r.pipeRSS>>20, size(r.pipeZip), size(r.gitZip),
			secs(r.unchanged), r.unchangedRequests)
	}
	fmt.Fprintf(&b, "\nMedians of %d alternating rounds; peak RSS is the highest of the rounds.\n", rounds)
	fmt.Fprintf(&b, "\nLambda package (linux/arm64 bootstrap): %s; init under the runtime emulator "+
		"(linux/%s build): %s\n", lam.sizeText(), lam.arch, lam.initText())
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
