package peertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/filepeer/peer"
)

// ErrCrashed is returned by a Node's calls while it is crashed.
var ErrCrashed = errors.New("peertest: node is crashed")

// DirMode says what Restart does with a crashed node's directory.
type DirMode int

const (
	KeepDir DirMode = iota // restart with the files the node had
	WipeDir                // restart with an empty directory
)

// Node is one node of a Network: a *peer.Node with its name, directory and
// secret, which can crash and restart. Safe for concurrent use, except for
// the methods that report to the test with Fatalf (Put, Restart).
type Node struct {
	net    *Network
	name   string
	url    string
	dir    string
	secret string

	// down is set while the node crashes or is crashed: the network
	// carries no call from it, so that a crash says no bye.
	down atomic.Bool

	mu sync.Mutex
	// guards p
	p *peer.Node // nil while crashed
}

// Name returns the node's name.
func (nd *Node) Name() string { return nd.name }

// URL returns the node's URL: URLPrefix + Name.
func (nd *Node) URL() string { return nd.url }

// Dir returns the node's shared directory.
func (nd *Node) Dir() string { return nd.dir }

// Secret returns the node's secret, which Fetch needs.
func (nd *Node) Secret() string { return nd.secret }

// Peer returns the running *peer.Node, or nil while the node is crashed.
// Calls made on it directly are traced only when they reach other nodes.
func (nd *Node) Peer() *peer.Node {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.p
}

func (nd *Node) start() error {
	n := nd.net
	book := n.opts.isBook(nd.name)
	cfg := peer.Config{
		URL:        nd.url,
		Dir:        nd.dir,
		Secret:     nd.secret,
		Transport:  &nodeTransport{net: n, from: nd.name, src: nd, book: book},
		MaxHistory: n.opts.maxHistory,
		MaxKnown:   n.opts.maxKnown,
		// No background work unless the test asks for it (Living), so
		// that traces hold only the calls a test makes.
		PingInterval: -1,
		TargetPeers:  -1,
	}
	if n.opts.living > 0 {
		cfg.PingInterval, cfg.TargetPeers = n.opts.living, 0
	}
	if book {
		cfg.Fanout = 1
	}
	for _, f := range n.opts.configure {
		f(&cfg)
	}
	if cfg.URL != nd.url || cfg.Dir != nd.dir {
		return fmt.Errorf("peertest: node %s: Configure must not change URL or Dir", nd.name)
	}
	p, err := peer.New(cfg)
	if err != nil {
		return fmt.Errorf("peertest: node %s: %w", nd.name, err)
	}
	if err := p.Start(); err != nil {
		p.Close()
		return fmt.Errorf("peertest: node %s: %w", nd.name, err)
	}
	nd.mu.Lock()
	nd.p = p
	nd.mu.Unlock()
	return nil
}

// stop closes the running node, if any, and reports whether there was one.
func (nd *Node) stop() bool {
	nd.mu.Lock()
	p := nd.p
	nd.p = nil
	nd.mu.Unlock()
	if p == nil {
		return false
	}
	p.Close()
	return true
}

// Crash stops the node at once: its calls in flight end, it sends nothing
// more (not the bye a closing node sends), and it is a dead host to its
// peers (they see transport.ErrUnreachable) until Restart. Crashing a
// crashed node does nothing.
func (nd *Node) Crash() {
	nd.down.Store(true)
	nd.stop()
}

// Leave closes the node as a program closes it: unlike Crash, it tells its
// peers it is going (filepeer.bye), and they forget it at once. It is
// then crashed, as far as Restart and Crashed are concerned.
func (nd *Node) Leave() {
	nd.stop()
	nd.down.Store(true)
}

// Crashed reports whether the node is crashed.
func (nd *Node) Crashed() bool { return nd.Peer() == nil }

// Restart starts a crashed node again at its URL, with its directory kept
// or wiped, and makes its recorded links again, as the book's client hellos
// its URL file at start. Peers that dropped it while it was down do not
// know it again until Relink. Restarting a running node crashes it first.
func (nd *Node) Restart(mode DirMode) {
	tb := nd.net.tb
	tb.Helper()
	nd.Crash()
	nd.down.Store(false)
	if mode == WipeDir {
		if err := os.RemoveAll(nd.dir); err != nil {
			tb.Fatalf("peertest: restart %s: %v", nd.name, err)
		}
		if err := os.Mkdir(nd.dir, 0o755); err != nil {
			tb.Fatalf("peertest: restart %s: %v", nd.name, err)
		}
	} else if mode != KeepDir {
		tb.Fatalf("peertest: restart %s: unknown DirMode %d", nd.name, mode)
	}
	if err := nd.start(); err != nil {
		tb.Fatal(err)
	}
	var own []Link
	for _, l := range nd.net.Links() {
		if l.From == nd.name {
			own = append(own, l)
		}
	}
	if err := nd.net.linkAll(own); err != nil {
		tb.Fatal(err)
	}
}

// Put writes a file into the node's directory, making the directories on
// its slash-separated path.
func (nd *Node) Put(name, content string) {
	tb := nd.net.tb
	tb.Helper()
	if !fs.ValidPath(name) || name == "." {
		tb.Fatalf("peertest: put %q on %s: not a clean relative slash-separated path", name, nd.name)
	}
	p := filepath.Join(nd.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatalf("peertest: put %q on %s: %v", name, nd.name, err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatalf("peertest: put %q on %s: %v", name, nd.name, err)
	}
}

// Read returns the contents of the file name in the node's directory, and
// whether it is there.
func (nd *Node) Read(name string) (string, bool) {
	if !fs.ValidPath(name) {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(nd.dir, filepath.FromSlash(name)))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Files returns the slash-separated names of the regular files in the
// node's directory, sorted, including any temporary or partial file a
// fetch left.
func (nd *Node) Files() []string {
	var names []string
	filepath.WalkDir(nd.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(nd.dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// Known returns the names of the node's known peers, in the order it asks
// them. A crashed node knows nobody.
func (nd *Node) Known() []string {
	p := nd.Peer()
	if p == nil {
		return nil
	}
	known := p.Known()
	for i, u := range known {
		known[i] = nd.net.nameOf(u)
	}
	return known
}

// Query asks the node for the file name, as its trusted front-end would:
// the call appears in the trace as coming from the test, with hop 0.
func (nd *Node) Query(ctx context.Context, name string) ([]byte, error) {
	p := nd.Peer()
	c, ctx := nd.net.trace.begin(ctx, nd.net, "", nd.name, MethodQuery, name, nil, "")
	var b []byte
	err := fmt.Errorf("peertest: query %q on %s: %w", name, nd.name, ErrCrashed)
	if p != nil {
		b, err = p.Query(ctx, name, nil)
	}
	nd.net.trace.carried(c, int64(len(b)))
	nd.net.trace.end(c, err, "", p != nil)
	return b, err
}

// Fetch asks the node, with its own secret, to fetch the file name; the
// call appears in the trace as coming from the test.
func (nd *Node) Fetch(ctx context.Context, name string) error {
	p := nd.Peer()
	c, ctx := nd.net.trace.begin(ctx, nd.net, "", nd.name, MethodFetch, name, nil, "")
	err := fmt.Errorf("peertest: fetch %q on %s: %w", name, nd.name, ErrCrashed)
	if p != nil {
		err = p.Fetch(ctx, name, nd.secret)
	}
	nd.net.trace.end(c, err, "", p != nil)
	return err
}

// String returns the node's name, marked if it is crashed.
func (nd *Node) String() string {
	var b strings.Builder
	b.WriteString(nd.name)
	if nd.Crashed() {
		b.WriteString(" (crashed)")
	}
	return b.String()
}
