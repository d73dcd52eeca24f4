package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/internal/rie"
)

// lambdaResult is the size of the Lambda package and its init time under the emulator.
type lambdaResult struct {
	binary, zipped int64
	arch           string
	init           time.Duration
}

func (l lambdaResult) sizeText() string {
	return fmt.Sprintf("%s binary, %s zipped", size(l.binary), size(l.zipped))
}

func (l lambdaResult) initText() string { return l.init.Round(100 * time.Microsecond).String() }

// measureLambda builds the arm64 package for its size, and a build for this
// machine to time its init under the emulator (median of rounds cold starts).
func measureLambda(t *testing.T, rounds int) lambdaResult {
	t.Helper()
	res := lambdaResult{arch: runtime.GOARCH}
	arm := rie.BuildBootstrap(t, "arm64")
	fi, err := os.Stat(arm)
	if err != nil {
		t.Fatal(err)
	}
	res.binary, res.zipped = fi.Size(), zippedSize(t, arm)

	native := rie.BuildBootstrap(t, runtime.GOARCH)
	emulator := rie.Build(t)
	var inits []time.Duration
	for range rounds {
		inits = append(inits, coldStart(t, emulator, native))
	}
	res.init = median(inits)
	return res
}

// zippedSize is the size of a zip holding bin as bootstrap, as the stack packages it.
func zippedSize(t *testing.T, bin string) int64 {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return int64(buf.Len())
}

// initDuration finds the emulator's init phase report: from the runtime's start to
// its first call for the next invocation. (The REPORT line's "Init Duration" is
// not filled in by the emulator.)
var initDuration = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStart runs the function under a fresh emulator, invokes it with an empty
// batch and returns the init duration the emulator reports.
func coldStart(t *testing.T, rieBinary, bootstrap string) time.Duration {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDLOOPBACKPEER", "AWS_SECRET_ACCESS_KEY=loopback-peer-secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "DYNAMODB_TABLE_NAME=ledger", "S3_BUCKET_NAME=archives",
		"BACKLOG_GIT_SERVER_URL=git@127.0.0.1:9", "SECRET_MANAGER_SSH_SECRET_NAME=ssh",
		"BRANCH_RULES=" + `{"branches":["main"]}`}
	emu := rie.Start(t, rieBinary, bootstrap, env, rie.LogLevel("info"))
	defer emu.Stop()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	emu.Invoke(ctx, t, []byte(`{"Records":[]}`))
	for ctx.Err() == nil {
		if m := initDuration.FindStringSubmatch(emu.Output.String()); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the emulator reported no init duration:\n%s", emu.Output.String())
	return 0
}
