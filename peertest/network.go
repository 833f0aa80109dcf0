package peertest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// maxNodes bounds a network, so that a typo in a builder's arguments is a
// clear failure rather than a machine out of memory.
const maxNodes = 1 << 20

// URLPrefix starts every node's URL: the node named "a" is served at
// "mem://a".
const URLPrefix = "mem://"

// Network is a network of peer nodes on an in-memory transport, built for
// one test. Every call between nodes goes through it, so that it can inject
// faults and keep a trace. It is closed by the test's cleanup, which logs
// the seed and the trace if the test failed.
//
// Methods that take a testing.TB's place (builders, Add, Link, the fault
// setters) report bad arguments with t.Fatalf, so call them from the test's
// goroutine. The others are safe for concurrent use.
type Network struct {
	tb    testing.TB
	opts  options
	mem   *transport.Memory
	base  string // holds each node's directory
	wire  *wireNet
	trace *tracer

	mu sync.Mutex
	// guards nodes, byURL, links, closed, and the fault state
	nodes  map[string]*Node
	byURL  map[string]*Node
	links  map[Link]struct{}
	closed bool
	faults faultState
}

// Link is a directed link: From knows To.
type Link struct{ From, To string }

// String writes the link as Edges does: "a>b".
func (l Link) String() string { return l.From + ">" + l.To }

// New returns an empty network, closed when the test ends. Add nodes with
// Add and links with Link or Connect, or start from a builder such as Ring.
func New(t testing.TB, opts ...Option) *Network {
	t.Helper()
	o := buildOptions(opts)
	if o.err != nil {
		t.Fatal(o.err)
	}
	base := o.baseDir
	if base == "" {
		base = t.TempDir()
	} else {
		dir, err := os.MkdirTemp(base, "peertest-")
		if err != nil {
			t.Fatalf("peertest: BaseDir: %v", err)
		}
		base = dir
	}
	n := &Network{
		tb:     t,
		opts:   o,
		mem:    transport.NewMemory(),
		base:   base,
		trace:  newTracer(o.traceLimit),
		nodes:  make(map[string]*Node),
		byURL:  make(map[string]*Node),
		links:  make(map[Link]struct{}),
		faults: newFaultState(),
	}
	if o.wire {
		n.wire = newWireNet(n.tb)
	}
	t.Cleanup(n.close)
	return n
}

// close ends every node and, if the test failed, logs what a reader needs
// to understand and replay the run.
func (n *Network) close() {
	n.mu.Lock()
	n.closed = true
	nodes := slices.Collect(maps.Values(n.nodes))
	n.mu.Unlock()
	for _, nd := range nodes {
		nd.down.Store(true) // the test is over: no byes
	}
	for _, nd := range nodes {
		nd.stop()
	}
	if n.opts.baseDir != "" {
		os.RemoveAll(n.base)
	}
	if n.tb.Failed() {
		n.tb.Logf("peertest: seed %d (replay with peertest.Seed(%d))\n%s", n.opts.seed, n.opts.seed, n.trace.snapshot().tail(200))
	}
}

// Seed returns the seed of the network's random choices.
func (n *Network) Seed() uint64 { return n.opts.seed }

// MaxHistory returns the nodes' history limit, as the oracle assumes it.
func (n *Network) MaxHistory() int { return cmp.Or(n.opts.maxHistory, peer.DefaultMaxHistory) }

// rand returns a source for one stream of the network's random choices:
// each stream is fixed by the seed alone, whatever the other streams draw.
func (n *Network) rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(n.opts.seed, stream))
}

// Add starts a node for each name, each with its own directory and no known
// peers, and returns them in the order given. A name is letters, digits,
// '_' and '.', not starting with '.'; the node's URL is URLPrefix+name.
func (n *Network) Add(names ...string) []*Node {
	n.tb.Helper()
	nodes, err := n.add(names)
	if err != nil {
		n.tb.Fatal(err)
	}
	return nodes
}

func (n *Network) add(names []string) ([]*Node, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("peertest: network is closed")
	}
	if len(n.nodes)+len(names) > maxNodes {
		n.mu.Unlock()
		return nil, fmt.Errorf("peertest: %d nodes is more than the %d a network may hold", len(n.nodes)+len(names), maxNodes)
	}
	fresh := make(map[string]bool, len(names))
	for _, name := range names {
		if err := checkName(name); err != nil {
			n.mu.Unlock()
			return nil, err
		}
		if n.nodes[name] != nil || fresh[name] {
			n.mu.Unlock()
			return nil, fmt.Errorf("peertest: node %q added twice", name)
		}
		fresh[name] = true
	}
	nodes := make([]*Node, len(names))
	for i, name := range names {
		nd := &Node{net: n, name: name, url: URLPrefix + name, dir: filepath.Join(n.base, name), secret: "secret of " + name}
		nodes[i] = nd
		n.nodes[name] = nd
		n.byURL[nd.url] = nd
	}
	n.mu.Unlock()
	err := parallel(len(nodes), func(i int) error {
		nd := nodes[i]
		if err := os.Mkdir(nd.dir, 0o755); err != nil {
			return fmt.Errorf("peertest: node %s: %w", nd.name, err)
		}
		return nd.start()
	})
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

// parallel runs fn(0) … fn(k-1) on as many goroutines as there are CPUs,
// since starting a node is mostly system calls, and returns the first
// error. It returns when every call has.
func parallel(k int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (k+63)/64)
	if workers <= 1 {
		for i := range k {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				if err := fn(i); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					next.Store(int64(k)) // stop handing out work
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func checkName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return fmt.Errorf("peertest: bad node name %q: %s", name, problem)
	}
	return nil
}

// nameProblem says what is wrong with a node name, or "" if nothing is.
func nameProblem(name string) string {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return "want 1 to 64 letters, digits, '_' or '.', not starting with '.'"
	}
	for _, r := range name {
		if !isNameRune(r) {
			return fmt.Sprintf("%q is not a letter, digit, '_' or '.'", r)
		}
	}
	return ""
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.'
}

// Node returns the node called name, failing the test if there is none.
func (n *Network) Node(name string) *Node {
	n.tb.Helper()
	nd := n.lookup(name)
	if nd == nil {
		n.tb.Fatalf("peertest: no node %q", name)
	}
	return nd
}

func (n *Network) lookup(name string) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[name]
}

// Nodes returns every node, sorted by name (so by URL, the order in which
// a node asks its peers).
func (n *Network) Nodes() []*Node {
	n.mu.Lock()
	nodes := slices.Collect(maps.Values(n.nodes))
	n.mu.Unlock()
	slices.SortFunc(nodes, func(a, b *Node) int { return strings.Compare(a.name, b.name) })
	return nodes
}

// Names returns every node's name, sorted.
func (n *Network) Names() []string {
	n.mu.Lock()
	names := make([]string, 0, len(n.nodes))
	for name := range n.nodes {
		names = append(names, name)
	}
	n.mu.Unlock()
	slices.Sort(names)
	return names
}

// nameOf returns the name of the node at url, or url itself for a URL
// that is no node of the network.
func (n *Network) nameOf(url string) string {
	n.mu.Lock()
	nd := n.byURL[url]
	n.mu.Unlock()
	if nd == nil {
		return url
	}
	return nd.name
}

// names maps a history of URLs to node names.
func (n *Network) names(urls []string) []string {
	if len(urls) == 0 {
		return nil
	}
	out := make([]string, len(urls))
	n.mu.Lock()
	for i, u := range urls {
		if nd := n.byURL[u]; nd != nil {
			out[i] = nd.name
		} else {
			out[i] = u
		}
	}
	n.mu.Unlock()
	return out
}

// Link makes from know to (from says hello to itself on to's behalf, as the
// book's client does) and records the link, so that Relink and Restart can
// make it again after the protocol dropped it.
func (n *Network) Link(from, to string) {
	n.tb.Helper()
	if err := n.link(from, to); err != nil {
		n.tb.Fatal(err)
	}
}

// Connect links a and b both ways.
func (n *Network) Connect(a, b string) {
	n.tb.Helper()
	n.Link(a, b)
	n.Link(b, a)
}

func (n *Network) link(from, to string) error {
	return n.linkAll([]Link{{from, to}})
}

// linkAll records the links and makes each from say hello to itself on
// to's behalf, many at a time, as a builder makes thousands.
func (n *Network) linkAll(links []Link) error {
	type pair struct{ from, to *Node }
	pairs := make([]pair, len(links))
	n.mu.Lock()
	for i, l := range links {
		f, t := n.nodes[l.From], n.nodes[l.To]
		var err error
		switch {
		case f == nil:
			err = fmt.Errorf("peertest: link %s: no node %q", l, l.From)
		case t == nil:
			err = fmt.Errorf("peertest: link %s: no node %q", l, l.To)
		case f == t:
			err = fmt.Errorf("peertest: link %s: a node cannot know itself", l)
		}
		if err != nil {
			n.mu.Unlock()
			return err
		}
		n.links[l] = struct{}{}
		pairs[i] = pair{f, t}
	}
	n.mu.Unlock()
	return parallel(len(pairs), func(i int) error {
		p := pairs[i].from.Peer()
		if p == nil {
			return nil // crashed: Restart makes the link
		}
		if err := p.Hello(context.Background(), pairs[i].to.url); err != nil {
			return fmt.Errorf("peertest: link %s: %w", links[i], err)
		}
		return nil
	})
}

// Unlink makes from forget to, and drops the link from the record.
func (n *Network) Unlink(from, to string) {
	n.tb.Helper()
	f := n.Node(from)
	t := n.Node(to)
	n.mu.Lock()
	delete(n.links, Link{from, to})
	n.mu.Unlock()
	if p := f.Peer(); p != nil {
		p.Forget(t.url)
	}
}

// Links returns the links made with Link, Connect or a builder and not
// removed with Unlink, sorted. The nodes' actual known peers may be fewer,
// because the protocol drops a peer that fails; see Graph.
func (n *Network) Links() []Link {
	n.mu.Lock()
	links := make([]Link, 0, len(n.links))
	for l := range n.links {
		links = append(links, l)
	}
	n.mu.Unlock()
	slices.SortFunc(links, func(a, b Link) int {
		return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	return links
}

// Relink makes every recorded link again, restoring the peers the protocol
// dropped (after a partition heals, say). Crashed nodes are skipped.
func (n *Network) Relink() {
	n.tb.Helper()
	if err := n.linkAll(n.Links()); err != nil {
		n.tb.Fatal(err)
	}
}
