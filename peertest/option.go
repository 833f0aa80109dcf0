package peertest

import (
	"fmt"
	"time"

	"github.com/filepeer/peer"
)

// An Option configures a Network: its nodes' Config, its seed, its trace,
// and how a builder lays out its links.
type Option func(*options)

type options struct {
	maxHistory int
	maxKnown   int
	configure  []func(*peer.Config)
	seed       uint64
	seedSet    bool
	directed   bool
	traceLimit int
	wire       bool
	book       map[string]bool // nil: none; empty: all
	baseDir    string
	living     time.Duration // Living's interval; 0: no background work
	err        error         // the first bad option, reported by New
}

// defaultTraceLimit keeps enough calls for any test's assertions while
// bounding the memory of a long benchmark.
const defaultTraceLimit = 10_000

func buildOptions(opts []Option) options {
	o := options{traceLimit: defaultTraceLimit}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if !o.seedSet {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("peertest: "+format, args...)
	}
}

// MaxHistory sets every node's Config.MaxHistory, and the limit the oracle
// assumes. If not given, it is peer.DefaultMaxHistory.
func MaxHistory(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.fail("MaxHistory(%d): must be at least 1", n)
			return
		}
		o.maxHistory = n
	}
}

// MaxKnown sets every node's Config.MaxKnown.
func MaxKnown(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.fail("MaxKnown(%d): must be at least 1", n)
			return
		}
		o.maxKnown = n
	}
}

// Configure lets f adjust each node's Config (a Logger, say) after the
// network has filled it in. f must not change URL, Dir or Transport: they
// are how the network reaches and traces the node.
func Configure(f func(*peer.Config)) Option {
	return func(o *options) {
		if f == nil {
			o.fail("Configure(nil)")
			return
		}
		o.configure = append(o.configure, f)
	}
}

// Seed fixes the seed from which every random choice of the network is
// drawn: random graphs, fault rates, latency ranges. Without it the seed
// comes from the clock; either way a failing test logs it, so that the run
// can be replayed with Seed.
func Seed(seed uint64) Option {
	return func(o *options) { o.seed, o.seedSet = seed, true }
}

// Directed makes a builder's links one-way, in the direction the builder
// documents (a line's nodes each know the next, a tree's parents know their
// children…). Without it every link is known both ways. Edges has its own
// syntax for direction and refuses this option.
func Directed() Option {
	return func(o *options) { o.directed = true }
}

// Book makes the named nodes, or every node if none is named, speak only
// the book's methods and ask one peer at a time, as the book's Python node
// does: they neither serve nor make filepeer's extension calls, so the
// others reach them with the book's query, which carries no identity. A
// network of book nodes walks exactly as the oracle's Route predicts.
func Book(names ...string) Option {
	return func(o *options) {
		if o.book == nil {
			o.book = make(map[string]bool)
		}
		if len(names) == 0 {
			clear(o.book)
			o.book[""] = true
		}
		for _, name := range names {
			o.book[name] = true
		}
	}
}

func (o *options) isBook(name string) bool { return o.book[""] || o.book[name] }

// TraceLimit keeps at most n calls in the trace, dropping the oldest; 0
// turns tracing off, for benchmarks. If not given, the trace keeps the last
// 10,000 calls.
func TraceLimit(n int) Option {
	return func(o *options) {
		if n < 0 {
			o.fail("TraceLimit(%d): must not be negative", n)
			return
		}
		o.traceLimit = n
	}
}

// BaseDir makes the nodes' directories under dir instead of under the
// test's temporary directory, for instance on a tmpfs when a benchmark
// builds thousands of nodes. The network removes what it made there.
func BaseDir(dir string) Option {
	return func(o *options) {
		if dir == "" {
			o.fail("BaseDir: empty path")
			return
		}
		o.baseDir = dir
	}
}

// Living turns on the nodes' background work, which a network's nodes
// otherwise do without so that traces hold only a test's own calls: pings
// every interval (peer.Config.PingInterval) and discovery up to
// peer.DefaultTargetPeers (TargetPeers 0). Configure can adjust both.
// Inside a testing/synctest bubble the intervals pass on the bubble's
// clock, so a test of many of them takes no wall time.
func Living(interval time.Duration) Option {
	return func(o *options) {
		if interval <= 0 {
			o.fail("Living(%v): the interval must be positive", interval)
			return
		}
		o.living = interval
	}
}
