// Command client is the Go counterpart of the book's client.py: it starts a
// node of its own at URL, sharing DIR, introduces it to the peers listed in
// URLFILE, and takes commands at a "> " prompt.
//
//	go run ./examples/client [-v] URLFILE DIR URL
//	go run ./examples/client urls.txt files2 http://127.0.0.1:4243
//
// The node's secret is random, as in the book, unless $FILEPEER_SECRET or
// a file (-secret-file) gives one, say to share it with another front-end;
// never an argument, which every local user can read.
//
// URLFILE lists peer URLs one a line; blank lines and lines starting with #
// are skipped. At the prompt, "fetch NAME" asks the network for a file and
// stores it in DIR; "help" lists the other commands. On a terminal the prompt
// has line editing, history and tab completion; otherwise commands are read a
// line at a time, so that a script can pipe them in.
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

	"github.com/chzyer/readline"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		terminal: readline.IsTerminal(int(os.Stdin.Fd())) && readline.IsTerminal(int(os.Stdout.Fd())),
	})
	stop()
	os.Exit(cli.ExitCode("client", err, os.Stderr))
}

// env is what run takes from its surroundings, so that tests can supply
// their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// terminal is true when stdin and stdout are the process's terminal:
	// the prompt then edits lines (reading os.Stdin itself, so that it can
	// switch the terminal to raw mode) and long commands show a spinner.
	terminal  bool
	transport transport.Transport // nil: XML-RPC over HTTP
	getenv    func(string) string // nil: os.Getenv
}

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log the node's records to stderr")
	secretFile := fs.String("secret-file", "", "read the node's secret from the first line of `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: client [-v] [-secret-file FILE] URLFILE DIR URL\n\n"+
			"Starts a node at URL sharing DIR, says hello to the peers listed in URLFILE\n"+
			"(one URL a line), then reads commands; type help for the list.\n"+
			"The node's secret is random unless $"+cli.SecretEnv+" or -secret-file gives one.")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, 3); err != nil {
		return err
	}
	getenv := e.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	secret, err := cli.Secret(*secretFile, "", getenv)
	if err != nil {
		return err
	}
	if secret == "" {
		secret = peer.NewSecret()
	}
	urlFile, dir, url := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	peers, err := cli.ReadURLs(urlFile)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	// The client keeps the transport, rather than letting the node make
	// one, to check that each peer it introduces answers.
	tr := e.transport
	if tr == nil {
		x := transport.NewXMLRPC(transport.XMLRPCConfig{})
		defer x.Close()
		tr = x
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	fetched := new(countWriter) // bytes of the running fetch, for its bar
	node, err := peer.New(peer.Config{
		URL: url, Dir: dir, Secret: secret, Transport: tr, Logger: log,
		Progress: func(_ string, written int64) { fetched.n.Store(written) },
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := node.Start(); err != nil {
		return err
	}

	c := &client{node: node, secret: secret, dir: dir, root: root, tr: tr, fetched: fetched, out: e.stdout, terminal: e.terminal}
	for _, u := range peers {
		c.hello(ctx, u)
	}
	in, err := c.lineReader(e)
	if err != nil {
		return err
	}
	defer in.Close()
	return c.loop(ctx, in)
}
