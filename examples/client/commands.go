package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// client runs the commands typed at the prompt against its node.
type client struct {
	node     *peer.Node
	secret   string
	dir      string
	root     *os.Root // dir, to tell local files from fetched ones
	tr       transport.Transport
	fetched  *countWriter // bytes written by the running fetch
	out      io.Writer
	terminal bool
}

const helpText = `Commands:
  fetch NAME   find the file NAME on the network and store it here
  query NAME   find the file NAME, here or on the network, and tell its size
  list         list the files shared here
  known        list the known peers
  hello URL    introduce this node to the peer at URL
  help         show this help
  exit         leave (so does end of input)
A NAME is the rest of the line, so it may hold spaces.
`

// loop reads and runs commands until exit, the end of input or ctx ends.
func (c *client) loop(ctx context.Context, in lineReader) error {
	for {
		line, err := readLine(ctx, in)
		switch {
		case errors.Is(err, io.EOF):
			fmt.Fprintln(c.out) // leave the shell's prompt on a line of its own
			return nil
		case ctx.Err() != nil:
			return nil // interrupted: run closes the node
		case err != nil:
			return err
		}
		if c.do(ctx, line) {
			return nil
		}
	}
}

// do runs one command line and reports whether it was exit.
func (c *client) do(ctx context.Context, line string) (exit bool) {
	cmd, arg := strings.TrimSpace(line), ""
	if i := strings.IndexFunc(cmd, unicode.IsSpace); i >= 0 {
		cmd, arg = cmd[:i], strings.TrimSpace(cmd[i:])
	}
	needArg := func(what string) bool {
		if arg == "" {
			fmt.Fprintf(c.out, "usage: %s %s\n", cmd, what)
		}
		return arg != ""
	}
	switch cmd {
	case "":
	case "help", "?":
		fmt.Fprint(c.out, helpText)
	case "fetch":
		if needArg("NAME") {
			c.fetch(ctx, arg)
		}
	case "query":
		if needArg("NAME") {
			c.query(ctx, arg)
		}
	case "list":
		c.list(ctx)
	case "known":
		c.known()
	case "hello":
		if needArg("URL") {
			c.hello(ctx, arg)
		}
	case "exit", "quit":
		return true
	default:
		fmt.Fprintf(c.out, "Unknown command %q; type help for the list.\n", cmd)
	}
	return false
}

func (c *client) fetch(ctx context.Context, name string) {
	if c.isLocal(name) {
		fmt.Fprintf(c.out, "You have %s already.\n", name)
		return
	}
	c.fetched.n.Store(0)
	err := c.withProgress("fetching "+name, c.fetched, func() error {
		return c.node.Fetch(ctx, name, c.secret)
	})
	switch {
	case err == nil:
		fmt.Fprintf(c.out, "Fetched %s.\n", name)
	case errors.Is(err, peer.ErrUnhandled):
		fmt.Fprintln(c.out, "Couldn't find the file", name) // the book's words
	default:
		c.failed("fetch", name, err)
	}
}

func (c *client) query(ctx context.Context, name string) {
	local := c.isLocal(name)
	var size countWriter
	err := c.withProgress("querying "+name, &size, func() error {
		body, err := c.node.QueryReader(ctx, name, nil)
		if err != nil {
			return err
		}
		defer body.Close()
		_, err = io.Copy(&size, body)
		return err
	})
	switch {
	case err == nil && local:
		fmt.Fprintf(c.out, "%s is here, in %s: %s.\n", name, c.dir, sizeOf(size.n.Load()))
	case err == nil:
		fmt.Fprintf(c.out, "%s is on the network: %s.\n", name, sizeOf(size.n.Load()))
	case errors.Is(err, peer.ErrUnhandled):
		fmt.Fprintln(c.out, "Couldn't find the file", name)
	default:
		c.failed("query", name, err)
	}
}

// failed reports an error of fetch or query other than "not found".
func (c *client) failed(cmd, name string, err error) {
	if errors.Is(err, peer.ErrAccessDenied) {
		// Our own secret is right, so the name itself was refused.
		fmt.Fprintf(c.out, "Access denied: %q would lead out of %s.\n", name, c.dir)
		return
	}
	fmt.Fprintf(c.out, "%s %s: %v\n", cmd, name, err)
}

// isLocal reports whether DIR holds a file name. The os.Root keeps a name
// such as ../x from looking outside DIR.
func (c *client) isLocal(name string) bool {
	fi, err := c.root.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

func (c *client) list(ctx context.Context) {
	names, err := c.node.List(ctx)
	switch {
	case err != nil:
		fmt.Fprintln(c.out, "list:", err)
	case len(names) == 0:
		fmt.Fprintf(c.out, "No files in %s.\n", c.dir)
	default:
		fmt.Fprintln(c.out, strings.Join(names, "\n"))
	}
}

func (c *client) known() {
	urls := c.node.Known()
	if len(urls) == 0 {
		fmt.Fprintln(c.out, "No known peers.")
		return
	}
	fmt.Fprintln(c.out, strings.Join(urls, "\n"))
}

// hello makes url a known peer and reports whether it answers. A peer
// that does not answer is kept, as the book does: it may come up later,
// and the node forgets it once a query to it fails.
func (c *client) hello(ctx context.Context, url string) {
	if err := c.node.Hello(ctx, url); err != nil {
		fmt.Fprintf(c.out, "hello %s: %v\n", url, err)
		return
	}
	if err := c.probe(ctx, url); err != nil {
		fmt.Fprintf(c.out, "Peer %s is unreachable for now: %v\n", url, err)
		return
	}
	fmt.Fprintf(c.out, "Peer %s is up.\n", url)
}

// probeTimeout bounds the check that a peer answers.
const probeTimeout = 5 * time.Second

// probe checks that a node answers at url. It asks for a file with a
// history as long as the book allows, so that any node, Go or Python,
// answers at once with a fault instead of passing the query on: any fault
// means the node is up.
func (c *client) probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := c.tr.Dial(url)
	if err != nil {
		return err
	}
	history := slices.Repeat([]string{c.node.URL()}, peer.DefaultMaxHistory-1)
	body, err := p.Query(ctx, "filepeer client probe", history)
	if err == nil {
		return body.Close()
	}
	var f *peer.Fault
	if errors.As(err, &f) {
		return nil
	}
	return err
}

// sizeOf formats a size for people.
func sizeOf(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 10_000:
		return fmt.Sprintf("%d bytes", n)
	}
	size, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if size < 1024 {
			break
		}
		size, unit = size/1024, u
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", size, unit, n)
}
