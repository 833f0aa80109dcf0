package peertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/filepeer/peer/transport"
)

// ErrDropped is the error a caller sees when a Drop or DropReply fault
// loses its call, as a reset connection would show.
var ErrDropped = errors.New("peertest: message dropped")

// ErrCut is the error a reply's body fails with once a CutAfter fault
// has let its bytes through, as a connection reset in mid-file shows.
var ErrCut = errors.New("peertest: reply cut")

type action int

const (
	actLatency action = iota
	actRefuse
	actBlackHole
	actDrop
	actDropReply
	actFail
	actCorrupt // a body modifier: the call is delivered
	actCut     // a body modifier: the call is delivered
)

type position int

const (
	posAll position = iota
	posNth
	posFirst
	posEvery
)

// Fault is what goes wrong with a call: an action (Refuse, BlackHole,
// Latency…, Drop, DropReply, Fail) and which calls it hits (all of them
// unless narrowed with Only, Nth, First, Every or Rate). Set it on a link
// with Network.FaultLink or on a node with Network.FaultNode. A Fault is a
// value: its methods return a narrowed copy.
type Fault struct {
	act     action
	latency func(Call, *rand.Rand) time.Duration
	err     error
	desc    string

	methods []Method
	pos     position
	k       int
	rate    float64 // probability of a hit; 1 unless Rate was given
	cut     int64   // for CutAfter
	bad     error   // the first bad argument, reported when the fault is set
}

func newFault(act action, desc string) Fault { return Fault{act: act, desc: desc, rate: 1} }

// Refuse makes calls fail at once with transport.ErrUnreachable, as a dead
// host does. The protocol drops a peer that refuses.
func Refuse() Fault { return newFault(actRefuse, "refuse") }

// BlackHole makes calls wait until the caller's context ends and fail with
// its error, as a host that swallows packets does. The protocol does not
// blame a peer for the caller's deadline, so it keeps the peer. A
// black-holed call whose context has no deadline would hang: it fails the
// test instead.
func BlackHole() Fault { return newFault(actBlackHole, "black hole") }

// Latency delays calls by d before they are delivered; a caller whose
// context ends first gets its error.
func Latency(d time.Duration) Fault {
	f := newFault(actLatency, fmt.Sprint("latency ", d))
	if d < 0 {
		f.bad = fmt.Errorf("peertest: Latency(%v): negative", d)
	}
	f.latency = func(Call, *rand.Rand) time.Duration { return d }
	return f
}

// LatencyRange delays calls by a duration drawn uniformly from [lo, hi]
// with the network's seed.
func LatencyRange(lo, hi time.Duration) Fault {
	f := newFault(actLatency, fmt.Sprintf("latency %v-%v", lo, hi))
	if lo < 0 || hi < lo {
		f.bad = fmt.Errorf("peertest: LatencyRange(%v, %v): want 0 <= lo <= hi", lo, hi)
	}
	f.latency = func(_ Call, r *rand.Rand) time.Duration {
		return lo + time.Duration(r.Uint64N(uint64(hi-lo)+1))
	}
	return f
}

// LatencyFunc delays each call by what fn returns for it. fn gets the call
// (without its outcome) and a random source drawn from the network's seed;
// it is called with the network locked, so it must not call the Network.
// A negative result counts as zero.
func LatencyFunc(fn func(c Call, r *rand.Rand) time.Duration) Fault {
	f := newFault(actLatency, "latency func")
	if fn == nil {
		f.bad = errors.New("peertest: LatencyFunc(nil)")
	}
	f.latency = fn
	return f
}

// Drop makes calls fail at once with ErrDropped, before the callee sees
// them; the protocol drops the peer. For a lost message that the caller
// waits out, use BlackHole with the same narrowing.
func Drop() Fault { return newFault(actDrop, "drop") }

// DropReply delivers calls but loses their replies: the callee does the
// work (a relay, a fetch), and the caller gets ErrDropped.
func DropReply() Fault { return newFault(actDropReply, "drop reply") }

// Fail makes calls fail with err before the callee sees them, as if the
// callee had answered it: a *transport.Fault such as
// &transport.Fault{Code: 1, Message: "TypeError"}, or any error for
// garbage on the wire.
func Fail(err error) Fault {
	f := newFault(actFail, fmt.Sprintf("fail: %v", err))
	if err == nil {
		f.bad = errors.New("peertest: Fail(nil)")
	}
	f.err = err
	return f
}

// Corrupt delivers calls but alters the file contents their replies
// carry (a query's, a ranged read's), keeping their length: the low bit
// of the first byte of every KiB is flipped, so no reply of a byte or more
// comes through intact. Other replies are left alone. Corrupt combines
// with other faults on the same call.
func Corrupt() Fault { return newFault(actCorrupt, "corrupt") }

// CutAfter delivers calls but makes the body of a reply that carries file
// contents fail with ErrCut once n bytes of contents have come through, as
// a connection reset in mid-file does; a reply of n bytes or fewer comes
// whole.
func CutAfter(n int64) Fault {
	f := newFault(actCut, fmt.Sprint("cut after ", n))
	if n < 0 {
		f.bad = fmt.Errorf("peertest: CutAfter(%d): negative", n)
	}
	f.cut = n
	return f
}

// Only narrows the fault to calls of the given methods.
func (f Fault) Only(methods ...Method) Fault {
	for _, m := range methods {
		if !slices.Contains([]Method{MethodQuery, MethodHello, MethodFetch, MethodList, MethodSearch, MethodRange, MethodPieces}, m) {
			f.setBad(fmt.Errorf("peertest: Only(%q): unknown method", m))
		}
	}
	if len(methods) == 0 {
		f.setBad(errors.New("peertest: Only(): no method"))
	}
	f.methods = slices.Clone(methods)
	return f
}

// Nth narrows the fault to the k-th call it sees (from 1), counting only
// calls of its methods since it was set.
func (f Fault) Nth(k int) Fault { return f.position(posNth, k, "Nth") }

// First narrows the fault to the first k calls it sees.
func (f Fault) First(k int) Fault { return f.position(posFirst, k, "First") }

// Every narrows the fault to every k-th call it sees: the k-th, the 2k-th…
func (f Fault) Every(k int) Fault { return f.position(posEvery, k, "Every") }

func (f Fault) position(p position, k int, name string) Fault {
	if k < 1 {
		f.setBad(fmt.Errorf("peertest: %s(%d): must be at least 1", name, k))
	}
	f.pos, f.k = p, k
	return f
}

// Rate narrows the fault to a random share p of the calls it would hit,
// drawn with the network's seed; 0 hits none, 1 all.
func (f Fault) Rate(p float64) Fault {
	if !(p >= 0 && p <= 1) {
		f.setBad(fmt.Errorf("peertest: Rate(%v): want 0 <= p <= 1", p))
	}
	f.rate = p
	return f
}

func (f *Fault) setBad(err error) {
	if f.bad == nil {
		f.bad = err
	}
}

// String describes the fault, as the trace names it.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.desc)
	if f.desc == "" {
		b.WriteString("no fault")
	}
	if f.methods != nil {
		fmt.Fprintf(&b, " only %v", f.methods)
	}
	switch f.pos {
	case posNth:
		fmt.Fprintf(&b, " nth %d", f.k)
	case posFirst:
		fmt.Fprintf(&b, " first %d", f.k)
	case posEvery:
		fmt.Fprintf(&b, " every %d", f.k)
	}
	if f.rate != 1 {
		fmt.Fprintf(&b, " rate %v", f.rate)
	}
	return b.String()
}

// Rule is a fault set on a link or a node, until Clear.
type Rule struct {
	net     *Network
	f       Fault
	scope   string
	rng     *rand.Rand // guarded by net.mu, as are seen, hits and cleared
	seen    int
	hits    int
	cleared bool
}

// Hits returns how many calls the rule has hit so far.
func (r *Rule) Hits() int {
	r.net.mu.Lock()
	defer r.net.mu.Unlock()
	return r.hits
}

// Clear removes the rule; calls already delayed or black-holed by it go
// on. Clearing twice does nothing.
func (r *Rule) Clear() {
	n := r.net
	n.mu.Lock()
	defer n.mu.Unlock()
	r.cleared = true
	fs := &n.faults
	for l, rules := range fs.link {
		fs.link[l] = slices.DeleteFunc(rules, func(x *Rule) bool { return x == r })
	}
	for node, rules := range fs.node {
		fs.node[node] = slices.DeleteFunc(rules, func(x *Rule) bool { return x == r })
	}
}

// String names the rule as the trace does: where it is set, and its fault.
func (r *Rule) String() string { return r.scope + ": " + r.f.String() }

// hit reports whether the rule hits a call of method m, and counts it.
// The network must be locked.
func (r *Rule) hit(m Method) bool {
	if r.cleared || (r.f.methods != nil && !slices.Contains(r.f.methods, m)) {
		return false
	}
	r.seen++
	switch r.f.pos {
	case posNth:
		if r.seen != r.f.k {
			return false
		}
	case posFirst:
		if r.seen > r.f.k {
			return false
		}
	case posEvery:
		if r.seen%r.f.k != 0 {
			return false
		}
	}
	if r.f.rate < 1 && !(r.rng.Float64() < r.f.rate) {
		return false
	}
	r.hits++
	return true
}

// faultState is what the network does to calls; guarded by Network.mu.
type faultState struct {
	link   map[Link][]*Rule
	node   map[string][]*Rule
	group  map[string]int // partition group of each named node; others are 0
	groups int            // groups handed out so far
	part   *Rule          // what a call between groups meets
	serial uint64         // rules made so far, each its own random stream
}

func newFaultState() faultState {
	return faultState{link: make(map[Link][]*Rule), node: make(map[string][]*Rule)}
}

func (n *Network) newRule(f Fault, scope string) *Rule {
	n.faults.serial++
	// Stream 0 is the builders'; rules take the ones after it.
	return &Rule{net: n, f: f, scope: scope, rng: n.rand(n.faults.serial)}
}

// FaultLink sets f on the directed link from→to: it applies to the calls
// from makes to to. Faults set on one link apply in the order they were set.
func (n *Network) FaultLink(from, to string, f Fault) *Rule {
	n.tb.Helper()
	n.Node(from)
	n.Node(to)
	if f.bad != nil {
		n.tb.Fatal(f.bad)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	l := Link{from, to}
	r := n.newRule(f, "link "+l.String())
	n.faults.link[l] = append(n.faults.link[l], r)
	return r
}

// FaultNode sets f on the node: it applies to every call the node
// receives from another node, after any fault of the link.
func (n *Network) FaultNode(node string, f Fault) *Rule {
	n.tb.Helper()
	n.Node(node)
	if f.bad != nil {
		n.tb.Fatal(f.bad)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.newRule(f, "node "+node)
	n.faults.node[node] = append(n.faults.node[node], r)
	return r
}

// ClearFaults removes every fault set on links and nodes; partitions stay
// until Heal.
func (n *Network) ClearFaults() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, rules := range n.faults.link {
		for _, r := range rules {
			r.cleared = true
		}
	}
	for _, rules := range n.faults.node {
		for _, r := range rules {
			r.cleared = true
		}
	}
	n.faults.link = make(map[Link][]*Rule)
	n.faults.node = make(map[string][]*Rule)
}

// Partition splits the network into the given groups of node names; nodes
// named in no group form one more group together. Calls between groups
// are refused, so the protocol drops the peers on the other side: after
// Heal, Relink restores them. It replaces any earlier partition.
func (n *Network) Partition(groups ...[]string) { n.tb.Helper(); n.PartitionWith(Refuse(), groups...) }

// PartitionWith is Partition with calls between groups meeting f instead,
// BlackHole say, for a partition that peers wait out.
func (n *Network) PartitionWith(f Fault, groups ...[]string) {
	n.tb.Helper()
	if f.bad != nil {
		n.tb.Fatal(f.bad)
	}
	group := make(map[string]int)
	for i, g := range groups {
		for _, name := range g {
			n.Node(name)
			if _, dup := group[name]; dup {
				n.tb.Fatalf("peertest: partition: node %q is in two groups", name)
			}
			group[name] = i + 1
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults.group, n.faults.groups = group, len(groups)
	n.faults.part = n.newRule(f, "partition")
}

// Isolate cuts node off from every other node, both ways, on top of any
// partition: calls to and from it are refused (or meet the fault of the
// current PartitionWith). Heal ends it.
func (n *Network) Isolate(node string) {
	n.tb.Helper()
	n.Node(node)
	n.mu.Lock()
	defer n.mu.Unlock()
	fs := &n.faults
	if fs.group == nil {
		fs.group = make(map[string]int)
	}
	if fs.part == nil {
		fs.part = n.newRule(Refuse(), "partition")
	}
	fs.groups++
	fs.group[node] = fs.groups
}

// Heal ends every partition and isolation.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults.group, n.faults.groups, n.faults.part = nil, 0, nil
}

// plan is what the network does to one call.
type plan struct {
	latency time.Duration
	act     action // actLatency: deliver after the latency
	err     error  // for actFail
	faults  []string
	corrupt bool  // alter the contents of the reply
	cut     int64 // fail the reply's body after this many bytes; -1: never
}

func (p *plan) add(r *Rule, c func() Call) (final bool) {
	p.faults = append(p.faults, r.String())
	switch r.f.act {
	case actLatency:
		p.latency += max(0, r.f.latency(c(), r.rng))
		return false
	case actCorrupt:
		p.corrupt = true
		return false
	case actCut:
		if p.cut < 0 || r.f.cut < p.cut {
			p.cut = r.f.cut
		}
		return false
	}
	p.act, p.err = r.f.act, r.f.err
	return true
}

// decide consults the partition, the link's rules and the callee's rules,
// in that order, for a call; the first rule that fails the call ends the
// consultation.
func (n *Network) decide(from, to string, m Method, c func() Call) plan {
	p := plan{cut: -1}
	n.mu.Lock()
	defer n.mu.Unlock()
	fs := &n.faults
	if fs.part != nil && fs.group[from] != fs.group[to] && fs.part.hit(m) && p.add(fs.part, c) {
		return p
	}
	for _, r := range fs.link[Link{from, to}] {
		if r.hit(m) && p.add(r, c) {
			return p
		}
	}
	for _, r := range fs.node[to] {
		if r.hit(m) && p.add(r, c) {
			return p
		}
	}
	return p
}

// apply carries out the plan before delivery: it returns nil if the call
// is to be delivered, or the error the caller sees.
func (p *plan) apply(ctx context.Context, n *Network, from, to, url string) error {
	if p.latency > 0 {
		t := time.NewTimer(p.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	switch p.act {
	case actRefuse:
		return fmt.Errorf("transport: %s: %w (peertest: %s)", url, transport.ErrUnreachable, p.fault())
	case actBlackHole:
		if _, ok := ctx.Deadline(); !ok {
			err := fmt.Errorf("peertest: call %s>%s is black-holed but its context has no deadline, so it would hang: give the test's call a context with a timeout", from, to)
			n.tb.Error(err)
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	case actDrop:
		return fmt.Errorf("transport: %s: %w", url, ErrDropped)
	case actFail:
		return p.err
	}
	return nil
}

func (p *plan) fault() string { return strings.Join(p.faults, "; ") }
