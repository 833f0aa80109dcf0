// Command node runs one filepeer node: the Go counterpart of the book's
// server.py. It shares DIR at URL, and fetches into DIR for whoever knows
// SECRET, until it is interrupted (Ctrl-C or SIGTERM).
//
//	go run ./examples/node [-v] URL DIR SECRET
//	go run ./examples/node http://127.0.0.1:4242 files1 s3cret
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{stderr: os.Stderr})
	stop()
	os.Exit(cli.ExitCode("node", err, os.Stderr))
}

// env is what run takes from its surroundings, so that tests can supply
// their own.
type env struct {
	stderr    io.Writer
	transport transport.Transport // nil: XML-RPC over HTTP
	started   func(*peer.Node)    // if set, called once the node serves
}

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log debug records too")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: node [-v] URL DIR SECRET\n\nServes the files of DIR at URL (e.g. http://127.0.0.1:4242) until interrupted.")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, 3); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	node, err := peer.New(peer.Config{
		URL:       fs.Arg(0),
		Dir:       fs.Arg(1),
		Secret:    fs.Arg(2),
		Transport: e.transport,
		Logger:    log,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := node.Start(); err != nil {
		return err
	}
	if e.started != nil {
		e.started(node)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return node.Close()
}
