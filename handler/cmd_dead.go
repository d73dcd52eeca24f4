package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

func runDead(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var cfg localConfig
	fs := newFlagSet("dead", "dead [--redrive SEQ]", stdout)
	fs.StringVar(&cfg.Data, "data", envOr(envData, ".data"), "data directory (env "+envData+")")
	redrive := fs.String("redrive", "", "put the dead letter with this sequence number back on the queue")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := cfg.openReader(ctx)
	if err != nil {
		return err
	}
	defer l.Close()

	if *redrive != "" {
		seq, err := strconv.ParseUint(*redrive, 10, 64)
		if err != nil {
			return errors.New("--redrive takes a sequence number from 'handler dead'")
		}
		if err := l.Redrive(seq); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d is queued again; 'handler serve' processes it\n", seq)
		return nil
	}
	dead, err := l.Dead()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tREPOSITORY\tRECEIVED\tATTEMPTS\tLAST ERROR")
	for _, m := range dead {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", m.Seq, m.Group, m.Delivery.ReceivedAt.Local().Format(time.DateTime),
			m.Attempts, m.LastError)
	}
	return tw.Flush()
}
