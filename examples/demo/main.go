// Command demo shows a small filepeer network at work, with nothing to set
// up: it starts four nodes on 127.0.0.1, introduces them in a line, lets a
// query cross the line and a fetch land, shows the two faults, then closes
// the nodes and removes their files.
//
//	go run ./examples/demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: demo\n\nStarts four nodes on 127.0.0.1 and shows a query and a fetch crossing them.")
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// member is one node of the demo and what it shares at the start. The
// demo plays every node's trusted party, so it keeps their secrets.
type member struct {
	name   string
	files  map[string]string
	node   *peer.Node
	secret string
}

// run plays the demo on tr, or on XML-RPC over loopback if tr is nil.
func run(ctx context.Context, out io.Writer, tr transport.Transport) (err error) {
	tmp, err := os.MkdirTemp("", "filepeer-demo-")
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, os.RemoveAll(tmp))
		if err == nil {
			fmt.Fprintf(out, "\nClosed every node and removed %s.\n", tmp)
		}
	}()

	network, onLoopback := "on 127.0.0.1, over XML-RPC", tr == nil
	if onLoopback {
		x := xmlrpc.New(xmlrpc.Config{})
		defer x.Close()
		tr = x
	} else {
		network = "on an in-memory network"
	}
	trace := &tracer{Transport: tr, out: out, names: map[string]string{}}

	members := []*member{
		{name: "A"},
		{name: "B", files: map[string]string{"notes.txt": "B's notes\n"}},
		{name: "C"},
		{name: "D", files: map[string]string{"hello.txt": "Hello from D!\n"}},
	}
	fmt.Fprintf(out, "Starting %d nodes %s, each sharing a directory of its own:\n", len(members), network)
	for _, m := range members {
		if err := m.start(tmp, trace, onLoopback); err != nil {
			return err
		}
		defer m.node.Close()
		trace.names[m.node.URL()] = m.name
		fmt.Fprintf(out, "  %s  %-24s shares %s\n", m.name, m.node.URL(), sharing(m.files))
	}

	fmt.Fprint(out, "\nIntroducing each to the next, so that they form a line: A → B → C → D.\n")
	for i := 0; i+1 < len(members); i++ {
		if err := members[i].node.Hello(ctx, members[i+1].node.URL()); err != nil {
			return err
		}
	}

	a := members[0].node
	fmt.Fprint(out, "\nA queries hello.txt, which only D holds: A asks its peer B first whether B holds it\nitself, then sends the query on the whole way, across three hops:\n")
	body, err := a.Query(ctx, "hello.txt", nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "A got %q.\n", body)

	fmt.Fprint(out, "\nA fetches hello.txt, with its secret: the file lands in A's directory.\n")
	if err := a.Fetch(ctx, "hello.txt", members[0].secret); err != nil {
		return err
	}
	names, err := a.List(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "A now shares %s.\n", strings.Join(names, ", "))

	fmt.Fprint(out, "\nA fetches missing.txt, which nobody holds:\n")
	err = a.Fetch(ctx, "missing.txt", members[0].secret)
	if !errors.Is(err, peer.ErrUnhandled) {
		return fmt.Errorf("fetch of missing.txt: want fault 100, got %v", err)
	}
	fmt.Fprintf(out, "A says: %v.\n", err)

	fmt.Fprint(out, "\nA queries ../etc/passwd, a name that leads out of its directory:\n")
	_, err = a.Query(ctx, "../etc/passwd", nil)
	if !errors.Is(err, peer.ErrAccessDenied) {
		return fmt.Errorf("query of ../etc/passwd: want fault 200, got %v", err)
	}
	fmt.Fprintf(out, "A says: %v, and asks nobody else.\n", err)

	for _, m := range members {
		if err := m.node.Close(); err != nil {
			return err
		}
	}
	return nil
}

// start makes the member's directory and node, and starts it: on a free
// port of 127.0.0.1 if onLoopback, else at mem://NAME.
func (m *member) start(tmp string, tr transport.Transport, onLoopback bool) error {
	dir := filepath.Join(tmp, m.name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, content := range m.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// A port found free may be taken before the node listens on it:
	// rare, so a few tries will do.
	m.secret = peer.NewSecret()
	for try := 1; ; try++ {
		url := "mem://" + m.name
		if onLoopback {
			var err error
			if url, err = freeURL(); err != nil {
				return err
			}
		}
		n, err := peer.New(peer.Config{URL: url, Dir: dir, Secret: m.secret, Transport: tr})
		if err != nil {
			return err
		}
		if err = n.Start(); err == nil {
			m.node = n
			return nil
		}
		n.Close()
		if !onLoopback || !errors.Is(err, syscall.EADDRINUSE) || try == 5 {
			return fmt.Errorf("node %s: %w", m.name, err)
		}
	}
}

// freeURL returns the URL of a port of 127.0.0.1 that was free a moment ago.
func freeURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "http://" + l.Addr().String(), nil
}

func sharing(files map[string]string) string {
	if len(files) == 0 {
		return "nothing"
	}
	return strings.Join(slices.Sorted(maps.Keys(files)), ", ")
}
