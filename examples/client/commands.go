package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
)

// client runs the commands typed at the prompt against its node.
type client struct {
	node      *peer.Node
	secret    string
	dir       string
	root      *os.Root // dir, to tell local files from fetched ones
	tr        transport.Transport
	watch     *fetchWatch // how far the running fetch is
	out       io.Writer   // results
	errOut    io.Writer   // failures
	terminal  bool
	interrupt <-chan os.Signal

	ran, failed int // commands run, and how many of them failed

	// hits are the results the last search listed, for fetch N.
	hits []peer.Hit
}

const helpText = `Commands:
  search WORDS   list, numbered, the files here and on the network whose
                 names hold every word, case aside ("sha256:HEX" finds
                 files by their contents)
  fetch N        fetch result N of the last search
  fetch NAME     find the file NAME on the network and store it here
  fetch -- NAME  the same, for a NAME made of digits
  query NAME     tell who holds the file NAME, here or on the network, and
                 its size
  list           list the files shared here
  known          list the known peers
  hello URL      introduce this node to the peer at URL
  help           show this help
  exit           leave (so does end of input)
A NAME is the rest of the line, so it may hold spaces. "fetch 2" fetches
result 2 when the last search listed at least 2 results, and otherwise the
file named 2. Ctrl-C stops the command running.
`

// errExit is what the exit command returns.
var errExit = errors.New("exit")

// loop reads and runs commands until exit, the end of input or ctx ends.
func (c *client) loop(ctx context.Context, in lineReader) error {
	for {
		line, err := c.readLine(ctx, in)
		switch {
		case errors.Is(err, io.EOF):
			if c.terminal {
				fmt.Fprintln(c.out) // leave the shell's prompt on a line of its own
			}
			return nil
		case ctx.Err() != nil:
			return nil // ended: run closes the node
		case err != nil:
			return err
		}
		if c.command(ctx, line) {
			return nil
		}
	}
}

// command runs one command line, under a context that Ctrl-C cancels, and
// reports whether it was exit. A failure is written to errOut and counted.
func (c *client) command(ctx context.Context, line string) (exit bool) {
	ctx, cancel := context.WithCancel(ctx)
	var interrupted atomic.Bool
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.interrupt:
			interrupted.Store(true)
			cancel()
		case <-done:
		}
	}()
	err := c.do(ctx, line)
	close(done)
	<-watched
	cancel()
	switch {
	case errors.Is(err, errExit):
		return true
	case err == nil:
		c.ran++
		return false
	}
	c.ran++
	c.failed++
	if interrupted.Load() {
		fmt.Fprintf(c.errOut, "Interrupted: %s\n", strings.TrimSpace(line))
		return false
	}
	fmt.Fprintln(c.errOut, err)
	return false
}

// do runs one command line; the error, if any, is the sentence that says
// what went wrong.
func (c *client) do(ctx context.Context, line string) error {
	cmd, arg := strings.TrimSpace(line), ""
	if i := strings.IndexFunc(cmd, unicode.IsSpace); i >= 0 {
		cmd, arg = cmd[:i], strings.TrimSpace(cmd[i:])
	}
	if arg == "" {
		switch cmd {
		case "fetch", "query":
			return fmt.Errorf("usage: %s NAME", cmd)
		case "search":
			return errors.New("usage: search WORDS")
		case "hello":
			return fmt.Errorf("usage: %s URL", cmd)
		}
	}
	switch cmd {
	case "":
	case "help", "?":
		fmt.Fprint(c.out, helpText)
	case "search":
		return c.search(ctx, arg)
	case "fetch":
		return c.fetchArg(ctx, arg)
	case "query":
		return c.query(ctx, arg)
	case "list":
		return c.list(ctx)
	case "known":
		c.known()
	case "hello":
		err := c.hello(ctx, arg)
		if err == nil {
			fmt.Fprintf(c.out, "Peer %s is up.\n", c.helloURL(arg))
		}
		return err
	case "exit", "quit":
		return errExit
	default:
		//lint:ignore ST1005 the client prints it to its user, as a sentence
		return fmt.Errorf("Unknown command %q; type help for the list.", cmd)
	}
	return nil
}

// fetch downloads name and says which of Download's outcomes it was.
func (c *client) fetch(ctx context.Context, name string) error {
	c.watch.reset()
	var res peer.FetchResult
	err := c.withFetchBar(name, func() (err error) {
		res, err = c.node.Download(ctx, name, c.secret)
		return err
	})
	if err != nil {
		return c.failure("fetch", name, err)
	}
	fmt.Fprintln(c.out, fetchOutcome(res))
	return nil
}

// fetchOutcome says what a download did, for people.
func fetchOutcome(r peer.FetchResult) string {
	switch r.Status {
	case peer.AlreadyHere:
		return fmt.Sprintf("You have %s already.", r.Name)
	case peer.FetchedUnverified:
		// Its holder announced no hash: what came is stored as it came.
		return fmt.Sprintf("Fetched %s from a node that cannot vouch for it (not verified).", r.Name)
	case peer.Fetched:
		from := "from " + holders(len(r.Holders))
		if len(r.Holders) == 0 {
			from = "passed on by the nodes between" // no holder could be reached directly
		}
		kept := ""
		if r.Resumed > 0 {
			kept = ", " + cli.Size(r.Resumed) + " of it kept from an interrupted fetch"
		}
		return fmt.Sprintf("Fetched %s: %s, checked against its SHA-256, %s%s.", r.Name, cli.Size(r.Size), from, kept)
	}
	return fmt.Sprintf("Fetched %s: %s.", r.Name, r.Status) // a status this client does not know yet
}

// failure says why fetch or query failed.
func (c *client) failure(cmd, name string, err error) error {
	switch {
	case errors.Is(err, peer.ErrUnhandled):
		return errors.New("Couldn't find the file " + name) // the book's words
	case errors.Is(err, peer.ErrAccessDenied):
		// Our own secret is right, so the name itself was refused.
		//lint:ignore ST1005 the client prints it to its user, as a sentence
		return fmt.Errorf("Access denied: %q would lead out of %s.", name, c.dir)
	case cmd == "fetch" && c.isDir(name):
		//lint:ignore ST1005 the client prints it to its user, as a sentence
		return fmt.Errorf("Can't fetch %s: %s holds a directory of that name.", name, c.dir)
	}
	return fmt.Errorf("%s %s: %s", cmd, name, cli.Reason(err))
}

// isDir reports whether DIR holds a directory name, which no fetch can
// replace.
func (c *client) isDir(name string) bool {
	fi, err := c.root.Stat(name)
	return err == nil && fi.IsDir()
}

func (c *client) list(ctx context.Context) error {
	names, err := c.node.List(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("list: %s", cli.Reason(err))
	case len(names) == 0:
		fmt.Fprintf(c.out, "No files in %s.\n", c.dir)
	default:
		fmt.Fprintln(c.out, strings.Join(names, "\n"))
	}
	return nil
}

func (c *client) known() {
	peers := c.node.Peers()
	if len(peers) == 0 {
		fmt.Fprintln(c.out, "No known peers.")
		return
	}
	for _, p := range peers {
		fmt.Fprintf(c.out, "%s: %s\n", p.URL, cli.PeerState(p))
	}
}

// helloURL is the URL that hello uses for what the user typed.
func (c *client) helloURL(typed string) string {
	if u, err := cli.PeerURL(typed); err == nil {
		return u
	}
	return typed
}

// hello makes url a known peer and checks that it answers. A peer that
// does not answer is kept, as the book does: it may come up later, and the
// node forgets it once a query to it fails; the error then says so.
func (c *client) hello(ctx context.Context, typed string) error {
	url, err := cli.PeerURL(typed)
	if err != nil {
		return fmt.Errorf("hello: %v", err)
	}
	if err := c.node.Hello(ctx, url); err != nil {
		return fmt.Errorf("hello %s: %s", url, cli.Reason(err))
	}
	pctx, cancel := context.WithTimeout(ctx, cli.ProbeTimeout)
	defer cancel()
	if err := c.node.Ping(pctx, url); err != nil {
		//lint:ignore ST1005 the client prints it to its user, as a sentence
		return fmt.Errorf("Peer %s is unreachable for now: %s", url, cli.Reason(err))
	}
	return nil
}
