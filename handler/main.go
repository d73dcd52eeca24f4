// Command handler is backlog-webhook's one program: the AWS Lambda function that
// archives Backlog repositories, and the same pipeline on one machine without AWS.
//
// Usage:
//
//	handler serve    run the local webhook server (a self-contained demo when unconfigured)
//	handler archive  archive one branch now, without a webhook
//	handler list     show what has been archived
//	handler get      write a stored archive to a file
//	handler dead     list webhooks that failed every attempt, or queue one again
//	handler demo     run the whole local flow once and print the archive's path
//	handler lambda   run as an AWS Lambda function (the default under the Lambda runtime)
//
// Every command takes --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the program.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the local webhook server (a self-contained demo when unconfigured)", runServe},
		{"archive", "archive one branch now, without a webhook", runArchive},
		{"list", "show what has been archived", runList},
		{"get", "write a stored archive to a file", runGet},
		{"dead", "list webhooks that failed every attempt, or queue one again", runDead},
		{"demo", "run the whole local flow once and print the archive's path", runDemo},
		{"lambda", "run as an AWS Lambda function (the default under the Lambda runtime)", runLambdaCmd},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 && os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return runLambda(ctx, nil)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: handler <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'handler <command> --help' for a command's flags.")
}

// runLambdaCmd is the lambda command: it takes no flags but --help, which names its environment.
func runLambdaCmd(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("lambda", "lambda\n\nConfigured through the environment: DYNAMODB_TABLE_NAME, S3_BUCKET_NAME,\n"+
		"BACKLOG_GIT_SERVER_URL, SECRET_MANAGER_SSH_SECRET_NAME (required), BRANCH_RULES,\n"+
		"NONCURRENT_RETENTION_DAYS, BATCH_RESERVE (optional); see the README.", stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runLambda(ctx, fs.Args())
}
