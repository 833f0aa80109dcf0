// Command node runs one filepeer node: the Go counterpart of the book's
// server.py. It shares DIR at URL, and fetches into DIR for whoever knows
// SECRET, until it is interrupted (Ctrl-C or SIGTERM). The secret may come
// from $FILEPEER_SECRET or a file (-secret-file) instead of the argument,
// where every local user can read it.
//
//	go run ./examples/node [-v] [-secret-file FILE] URL DIR [SECRET]
//	go run ./examples/node http://127.0.0.1:4242 files1 s3cret
//	FILEPEER_SECRET=s3cret go run ./examples/node http://127.0.0.1:4242 files1
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
	getenv    func(string) string // nil: os.Getenv
}

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log debug records too")
	secretFile := fs.String("secret-file", "", "read the secret from the first line of `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: node [-v] [-secret-file FILE] URL DIR [SECRET]\n\n"+
			"Serves the files of DIR at URL (e.g. http://127.0.0.1:4242) until interrupted.\n"+
			"The secret comes from SECRET, $"+cli.SecretEnv+" or -secret-file, one of them;\n"+
			"the argument is visible to every local user, the other two are not.")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return cli.ErrUsage
	}
	getenv := e.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	secret, err := cli.Secret(*secretFile, fs.Arg(2), getenv)
	if err != nil {
		return err
	}
	if secret == "" {
		fs.Usage()
		return cli.ErrUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	node, err := peer.New(peer.Config{
		URL:       fs.Arg(0),
		Dir:       fs.Arg(1),
		Secret:    secret,
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
