package peertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// Method is a remote method of the protocol, named as on the wire.
type Method string

// The protocol's methods.
const (
	MethodQuery Method = "query"
	MethodHello Method = "hello"
	MethodFetch Method = "fetch"
	MethodList  Method = "list"
	// MethodSearch is the extension's search (filepeer.search): the trace
	// shows its text as Name, with its history and identity.
	MethodSearch Method = "filepeer.search"
	MethodPing   Method = "filepeer.ping"  // liveness
	MethodPeers  Method = "filepeer.peers" // discovery
	MethodBye    Method = "filepeer.bye"   // a node closing
	// MethodPieces is the piece list of some contents (filepeer.pieces).
	MethodPieces Method = "filepeer.pieces"
	// MethodRange is a ranged read of some contents (filepeer.range).
	MethodRange Method = "filepeer.range"
)

// Call is one call in a network's trace: a node calling another over the
// transport, or the test calling a node through Node.Query or Node.Fetch.
type Call struct {
	Seq     int      // order in which the calls started, from 1
	Parent  int      // Seq of the call during which this one was made; 0 if none
	Caller  string   // the calling node's name; "" for the test
	Callee  string   // the called node's name, or its URL if it is no node
	Method  Method   // the remote method
	Name    string   // the file name of a query or fetch, the URL of a hello
	History []string // a query's history as sent, as node names
	// ID is the identity a query carries between nodes that speak the
	// extension (filepeer.query); "" for the book's query.
	ID    string
	Fault string // the injected fault that hit the call; "" if none
	Err   error  // the error the caller saw; nil on success
	// Repeat is true for a copy of a query that its callee had already
	// handled, with as many hops left or more, and answered at once
	// without passing it on (see peer.IsRepeat).
	Repeat bool
	Done   bool // false while the call is in flight
	// Delivered is true once the callee has received the call: no fault
	// stopped it on the way, and the callee was up.
	Delivered bool
	// Bytes is how many bytes of file contents the call's reply carried
	// to the caller (a query's, a ranged read's): it grows as the
	// caller reads the body, which may be after Done.
	Bytes int64

	Start    time.Duration // when the call started, since the network was made
	Duration time.Duration // how long the call took, once Done
}

// Hop returns how many hops from the query's origin the callee is: the
// length of the history it was sent, counting once a node repeated in a
// row (a history padded with the origin's URL, to reach only so far, as
// a node's first ring of a query does). A call from the test is hop 0.
func (c Call) Hop() int { return len(slices.Compact(slices.Clone(c.History))) }

// OK reports whether the call has ended in success.
func (c Call) OK() bool { return c.Done && c.Err == nil }

// Outcome describes how the call ended: "ok", "fault 100",
// "unreachable", "deadline", "canceled", "dropped", "crashed", "in flight"
// or "error: …".
func (c Call) Outcome() string {
	if !c.Done {
		return "in flight"
	}
	return outcome(c.Err)
}

func outcome(err error) string {
	var f *transport.Fault
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &f):
		return fmt.Sprint("fault ", f.Code)
	case errors.Is(err, transport.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrDropped):
		return "dropped"
	case errors.Is(err, ErrCrashed):
		return "crashed"
	}
	return "error: " + err.Error()
}

// String describes the call on one line, without its timing, so that two
// runs from one seed give equal strings:
//
//	#3<#2 b>c query "f.txt" [a b] hop 2: fault 100
func (c Call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d", c.Seq)
	if c.Parent != 0 {
		fmt.Fprintf(&b, "<#%d", c.Parent)
	}
	caller := c.Caller
	if caller == "" {
		caller = "test"
	}
	fmt.Fprintf(&b, " %s>%s %s %q", caller, c.Callee, c.Method, c.Name)
	if c.Method == MethodQuery || c.Method == MethodSearch {
		fmt.Fprintf(&b, " [%s] hop %d", strings.Join(c.History, " "), c.Hop())
	}
	b.WriteString(": ")
	b.WriteString(c.Outcome())
	if c.Repeat {
		b.WriteString(" repeat")
	}
	if c.Fault != "" {
		fmt.Fprintf(&b, " (%s)", c.Fault)
	}
	return b.String()
}

// Trace is a list of calls, in the order they started.
type Trace []Call

// String prints the trace one call a line, with timings.
func (t Trace) String() string {
	var b strings.Builder
	for _, c := range t {
		fmt.Fprintf(&b, "%-70s %9s +%s\n", c.String(), c.Duration.Round(time.Microsecond), c.Start.Round(time.Microsecond))
	}
	return b.String()
}

// tail prints the last n calls, saying how many it left out.
func (t Trace) tail(n int) string {
	if len(t) <= n {
		return "trace:\n" + t.String()
	}
	return fmt.Sprintf("trace (last %d of %d calls kept):\n%s", n, len(t), t[len(t)-n:].String())
}

// Lines returns each call's String: what two runs of one seed share.
func (t Trace) Lines() []string {
	lines := make([]string, len(t))
	for i, c := range t {
		lines[i] = c.String()
	}
	return lines
}

// Filter returns the calls for which keep is true.
func (t Trace) Filter(keep func(Call) bool) Trace {
	var out Trace
	for _, c := range t {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// Queries returns the query calls for the file name, the test's included.
func (t Trace) Queries(name string) Trace {
	return t.Filter(func(c Call) bool { return c.Method == MethodQuery && c.Name == name })
}

// Between returns the calls from caller to callee; caller "" is the test.
func (t Trace) Between(caller, callee string) Trace {
	return t.Filter(func(c Call) bool { return c.Caller == caller && c.Callee == callee })
}

// Reached returns the names of the nodes that received a query for the
// file name (see Call.Delivered), sorted; the node the test asked is among
// them.
func (t Trace) Reached(name string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, c := range t.Queries(name) {
		if c.Delivered && !seen[c.Callee] {
			seen[c.Callee] = true
			out = append(out, c.Callee)
		}
	}
	slices.Sort(out)
	return out
}

// PerLink counts the calls over each directed link between nodes; calls
// from the test are not counted.
func (t Trace) PerLink() map[Link]int {
	m := make(map[Link]int)
	for _, c := range t {
		if c.Caller != "" {
			m[Link{c.Caller, c.Callee}]++
		}
	}
	return m
}

// MaxHop returns the deepest hop of any query in the trace.
func (t Trace) MaxHop() int {
	deepest := 0
	for _, c := range t {
		if c.Method == MethodQuery {
			deepest = max(deepest, c.Hop())
		}
	}
	return deepest
}

// Steps returns the node-to-node queries of the trace as Steps, to compare
// with what the oracle's Route predicts.
func (t Trace) Steps() []Step {
	var steps []Step
	for _, c := range t {
		if c.Caller != "" && c.Method == MethodQuery {
			steps = append(steps, Step{Caller: c.Caller, Callee: c.Callee, History: c.History})
		}
	}
	return steps
}

// Bytes sums the file-content bytes the calls carried (Call.Bytes).
func (t Trace) Bytes() int64 {
	var sum int64
	for _, c := range t {
		sum += c.Bytes
	}
	return sum
}

// carried adds k bytes of file contents to the call c.
func (t *tracer) carried(c *Call, k int64) {
	if c == nil || k == 0 {
		return
	}
	t.mu.Lock()
	c.Bytes += k
	t.mu.Unlock()
}

// tracer records calls and counts those in flight.
type tracer struct {
	limit int
	epoch time.Time

	mu sync.Mutex
	// guards the fields below
	seq      int
	calls    []*Call // a ring of at most limit calls, oldest at head
	head     int
	inflight int
	changed  chan struct{} // closed at the next begin or end; nil if nobody waits
}

func newTracer(limit int) *tracer { return &tracer{limit: limit, epoch: time.Now()} }

// callKey is the context key under which a call's *callCtx travels, to
// the callee and on to the calls it makes.
type callKey struct{ t *tracer }

// callCtx is what a call's context tells the network about the call.
type callCtx struct {
	seq       int         // so that the calls it causes know their Parent
	delivered atomic.Bool // set when the callee's served Peer is entered
}

// markDelivered records that the call whose context is ctx reached its
// callee.
func (t *tracer) markDelivered(ctx context.Context) {
	if cc, ok := ctx.Value(callKey{t}).(*callCtx); ok {
		cc.delivered.Store(true)
	}
}

// begin records the start of a call and returns the context for it.
func (t *tracer) begin(ctx context.Context, n *Network, caller, callee string, m Method, name string, history []string, id string) (*Call, context.Context) {
	var c *Call
	if t.limit > 0 {
		parent := 0
		if cc, ok := ctx.Value(callKey{t}).(*callCtx); ok {
			parent = cc.seq
		}
		c = &Call{Parent: parent, Caller: caller, Callee: callee, Method: m, Name: name, History: n.names(history), ID: id}
	}
	now := time.Now()
	t.mu.Lock()
	t.seq++
	t.inflight++
	if c != nil {
		c.Seq = t.seq
		c.Start = now.Sub(t.epoch)
		if len(t.calls) < t.limit {
			t.calls = append(t.calls, c)
		} else {
			t.calls[t.head] = c
			t.head = (t.head + 1) % t.limit
		}
	}
	t.notify()
	t.mu.Unlock()
	if c != nil {
		ctx = context.WithValue(ctx, callKey{t}, &callCtx{seq: c.Seq})
	}
	return c, ctx
}

// delivered reports whether the call whose context begin returned reached
// its callee.
func (t *tracer) delivered(ctx context.Context) bool {
	cc, ok := ctx.Value(callKey{t}).(*callCtx)
	return ok && cc.delivered.Load()
}

// end records how a call ended; fault names the injected fault, if any.
func (t *tracer) end(c *Call, err error, fault string, delivered bool) {
	now := time.Now()
	t.mu.Lock()
	t.inflight--
	if c != nil {
		c.Done, c.Err, c.Fault, c.Delivered = true, err, fault, delivered
		c.Repeat = peer.IsRepeat(err)
		c.Duration = now.Sub(t.epoch) - c.Start
	}
	t.notify()
	t.mu.Unlock()
}

func (t *tracer) notify() {
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
}

// snapshotLocked copies the kept calls, oldest first.
func (t *tracer) snapshotLocked() Trace {
	out := make(Trace, 0, len(t.calls))
	for i := range t.calls {
		out = append(out, *t.calls[(t.head+i)%len(t.calls)])
	}
	return out
}

func (t *tracer) snapshot() Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snapshotLocked()
}

// wait blocks until cond, called with the tracer locked, holds or ctx ends.
func (t *tracer) wait(ctx context.Context, cond func() bool) error {
	for {
		t.mu.Lock()
		if cond() {
			t.mu.Unlock()
			return nil
		}
		if t.changed == nil {
			t.changed = make(chan struct{})
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("peertest: wait: %w", ctx.Err())
		}
	}
}

// Trace returns the calls kept so far (see TraceLimit), oldest first; calls
// in flight have Done false.
func (n *Network) Trace() Trace { return n.trace.snapshot() }

// ResetTrace forgets the calls kept so far, so that a test can look at the
// calls of one step alone. Sequence numbers go on.
func (n *Network) ResetTrace() {
	t := n.trace
	t.mu.Lock()
	t.calls, t.head = nil, 0
	t.mu.Unlock()
}

// Idle waits until no call is in flight in the network, or ctx ends.
func (n *Network) Idle(ctx context.Context) error {
	t := n.trace
	return t.wait(ctx, func() bool { return t.inflight == 0 })
}

// WaitFor waits until cond holds for the trace, or ctx ends. cond is
// called again each time a call starts or ends; it must not call the
// Network.
func (n *Network) WaitFor(ctx context.Context, cond func(Trace) bool) error {
	t := n.trace
	return t.wait(ctx, func() bool { return cond(t.snapshotLocked()) })
}
