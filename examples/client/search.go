package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
)

// search lists, numbered, the files of the network whose names hold every
// word, and keeps them for fetch N.
func (c *client) search(ctx context.Context, words string) error {
	var hits []peer.Hit
	err := c.withProgress("searching", nil, func() error {
		var err error
		hits, err = c.node.Search(ctx, words)
		return err
	})
	switch {
	case errors.Is(err, peer.ErrBadSearch):
		//lint:ignore ST1005 the client prints it to its user, as a sentence
		return fmt.Errorf("Can't search for %s: %s.", printable(words), cli.Reason(err))
	case err != nil:
		return fmt.Errorf("search %s: %s", words, cli.Reason(err))
	}
	c.hits = hits
	if len(hits) == 0 {
		fmt.Fprintf(c.out, "No file matches %s.\n", printable(words))
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tNAME\tSIZE\tHOLDER\tHOPS")
	for i, h := range hits {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", i+1, printable(h.Name), cli.Size(h.Size), c.holder(h), h.Hops)
	}
	return tw.Flush()
}

// holder names the node that holds a hit, for people.
func (c *client) holder(h peer.Hit) string {
	if h.Peer == c.node.URL() {
		return "(here)"
	}
	return h.Peer
}

// printable returns name as typed, or quoted if it holds characters, such
// as tabs or newlines, that would break a line or a table.
func printable(name string) string {
	if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		return strconv.Quote(name)
	}
	return name
}

// fetchArg runs fetch: "fetch N" is result N of the last search when that
// search listed at least N results, "fetch -- NAME" always the file NAME
// (for a name made of digits), and anything else a name.
func (c *client) fetchArg(ctx context.Context, arg string) error {
	if rest, ok := strings.CutPrefix(arg, "--"); ok && (rest == "" || unicode.IsSpace(rune(rest[0]))) {
		name := strings.TrimSpace(rest)
		if name == "" {
			return errors.New("usage: fetch -- NAME")
		}
		return c.fetch(ctx, name)
	}
	if n, ok := resultNumber(arg); ok && n <= len(c.hits) {
		return c.fetch(ctx, c.hits[n-1].Name)
	}
	err := c.fetch(ctx, arg)
	if _, ok := resultNumber(arg); ok && err != nil && len(c.hits) > 0 {
		// The user may have meant a result that is not there.
		return fmt.Errorf("%w (the last search listed %d results; fetch -- %s fetches the file named %s)", err, len(c.hits), arg, arg)
	}
	return err
}

// resultNumber reads arg as a result's number: digits only, from 1.
func resultNumber(arg string) (int, bool) {
	if arg == "" || strings.TrimLeft(arg, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(arg)
	return n, err == nil && n >= 1
}

// query tells who holds the file name: this node, and the nodes a search
// reaches, each with its copy's size. Book nodes cannot be searched: when
// the search finds no holder, the book's query asks the network, which
// tells only that some node has it.
func (c *client) query(ctx context.Context, name string) error {
	var holders []peer.Hit
	err := c.withProgress("querying "+name, nil, func() error {
		// Every word of the name is in it: the search finds it, and
		// the names it also finds (longer ones, or other cases) are
		// dropped.
		return c.node.SearchFunc(ctx, name, func(h peer.Hit) bool {
			if h.Name == name {
				holders = append(holders, h)
			}
			return true
		})
	})
	if err != nil && !errors.Is(err, peer.ErrBadSearch) {
		return c.failure("query", name, err)
	}
	if len(holders) == 0 {
		// A book node may have it, or the name is none a search can
		// hold (such as "sha256:…").
		return c.bookQuery(ctx, name)
	}
	for _, h := range holders {
		if h.Peer == c.node.URL() {
			fmt.Fprintf(c.out, "%s is here, in %s: %s.\n", printable(name), c.dir, cli.Size(h.Size))
			continue
		}
		fmt.Fprintf(c.out, "%s is at %s, %s away: %s.\n", printable(name), h.Peer, hops(h.Hops), cli.Size(h.Size))
	}
	return nil
}

func hops(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}

// bookQuery asks the network for name as the book's query does, and tells
// its size: the holder is not known.
func (c *client) bookQuery(ctx context.Context, name string) error {
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
	if err != nil {
		return c.failure("query", name, err)
	}
	fmt.Fprintf(c.out, "%s is on the network, on a node that cannot search: %s.\n", printable(name), cli.Size(size.n.Load()))
	return nil
}
