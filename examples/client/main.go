// Command client is the Go counterpart of the book's client.py: it starts a
// node of its own at URL, sharing DIR, introduces it to the peers listed in
// URLFILE, and takes commands at a "> " prompt, or runs the one command
// given after the arguments.
//
//	go run ./examples/client [-v] URLFILE DIR URL [COMMAND...]
//	go run ./examples/client [-v] [-urls URLFILE] -dir DIR -url URL [COMMAND...]
//	go run ./examples/client urls.txt files2 http://127.0.0.1:4243
//	go run ./examples/client urls.txt files2 http://127.0.0.1:4243 fetch test.txt
//
// URLFILE lists peer URLs one a line; blank lines and lines starting with #
// are skipped. At the prompt, "fetch NAME" asks the network for a file and
// stores it in DIR; "help" lists the other commands. Ctrl-C stops the
// command running and returns to the prompt. On a terminal the prompt has
// line editing, history and tab completion; otherwise commands are read a
// line at a time with no prompt, so that a script can pipe them in, and the
// exit status is 1 if any of them failed. Results go to standard output,
// failures to standard error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chzyer/readline"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func main() {
	// SIGTERM ends the client; Ctrl-C only the command that is running.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	err := run(ctx, os.Args[1:], env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		terminal:  readline.IsTerminal(int(os.Stdin.Fd())) && readline.IsTerminal(int(os.Stdout.Fd())),
		interrupt: interrupt,
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
	// interrupt delivers Ctrl-C: it cancels the running command, or, while
	// the client waits for a line that is not typed at a terminal, ends
	// the input. Nil: never.
	interrupt <-chan os.Signal
}

const usage = `usage: client [-v] URLFILE DIR URL [COMMAND...]
   or: client [-v] [-urls URLFILE] -dir DIR -url URL [COMMAND...]

Starts a node at URL sharing DIR, says hello to the peers listed in URLFILE
(one URL a line), then runs COMMAND, or reads commands; type help for the
list. A URL without a scheme, such as 127.0.0.1:4243, is taken as http://.`

// failedError reports that commands failed, each already reported.
type failedError struct{ failed, ran int }

func (e failedError) Error() string {
	if e.ran == 1 {
		return "the command failed"
	}
	return fmt.Sprintf("%d of %d commands failed", e.failed, e.ran)
}

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log the node's records to stderr")
	var a struct{ urlFile, dir, url string }
	fs.StringVar(&a.urlFile, "urls", "", "a `file` of peer URLs to say hello to, one a line (the book's URLFILE)")
	fs.StringVar(&a.dir, "dir", "", "the shared `directory` (the book's DIR)")
	fs.StringVar(&a.url, "url", "", "this node's `URL`, e.g. http://127.0.0.1:4243 (the book's URL)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	given := cli.Given(fs)
	command := fs.Args()
	switch {
	case given["dir"] || given["url"]:
		if a.dir == "" || a.url == "" {
			return cli.Usagef(fs, "-dir and -url go together (or give the book's URLFILE DIR URL)")
		}
	case given["urls"]:
		return cli.Usagef(fs, "-urls needs -dir and -url")
	case len(command) < 3:
		fs.Usage()
		return cli.ErrUsage
	default:
		a.urlFile, a.dir, a.url, command = command[0], command[1], command[2], command[3:]
	}
	url, err := cli.PeerURL(a.url)
	if err != nil {
		return cli.Usagef(fs, "URL: %v", err)
	}
	var peers []string
	if a.urlFile != "" {
		if peers, err = cli.ReadURLs(a.urlFile); err != nil {
			return err
		}
	}
	root, err := os.OpenRoot(a.dir)
	if err != nil {
		return err
	}
	defer root.Close()

	// The client keeps the transport, rather than letting the node make
	// one, to check that each peer it introduces answers.
	tr := e.transport
	if tr == nil {
		x := xmlrpc.New(xmlrpc.Config{})
		defer x.Close()
		tr = x
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	secret := peer.NewSecret()
	watch := new(fetchWatch) // how far the running fetch is, for its bar
	node, err := peer.New(peer.Config{
		URL: url, Dir: a.dir, Secret: secret, Transport: tr, Logger: log,
		FetchProgress: watch.report,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := node.Start(); err != nil {
		return err
	}

	c := &client{node: node, secret: secret, dir: a.dir, root: root, tr: tr, watch: watch,
		out: e.stdout, errOut: e.stderr, terminal: e.terminal, interrupt: e.interrupt}
	for _, u := range peers {
		// Not commands, so on stderr, leaving stdout to the commands'
		// results; a peer that does not answer is not a failure yet.
		if err := c.hello(ctx, u); err != nil {
			fmt.Fprintln(c.errOut, err)
		} else {
			fmt.Fprintf(c.errOut, "Peer %s is up.\n", u)
		}
	}
	if len(command) > 0 {
		c.command(ctx, strings.Join(command, " "))
	} else {
		in, err := c.lineReader(e)
		if err != nil {
			return err
		}
		defer in.Close()
		if err := c.loop(ctx, in); err != nil {
			return err
		}
	}
	if c.failed > 0 {
		return failedError{c.failed, c.ran}
	}
	return nil
}
