package peer

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// A query that starts here (one that comes with an empty history: a
// local caller's Query or Fetch, or a front-end's query over the network)
// is sent first as a ring: to the known peers, with the history padded
// with this node's URL up to one short of the limit, so that each peer
// answers from its own files and passes it on to nobody. Only if none has
// the file does the query go to the full depth, under the same identity:
// each peer handles it again, since it now comes with a shorter history
// (see seenQueries). A query that comes with a history has started
// elsewhere, and is passed on as it is.
//
// In a dense network a hit one hop away then costs one call a peer rather
// than a flood: in Mesh(30), with 1 ms on every call, 29 calls where the
// flood had launched 225-701 before the answer came; thirty processes
// that all know each other spend 5 ms of CPU on such a hit instead of
// about 250 (TestMeshOfProcesses). A miss, and a hit further away, pay
// one call a peer more (870 calls a miss in Mesh(30), not 841) and one
// round trip more (TestRingsCostAndLatency).
//
// A second ring, two hops out, is not sent: in a mesh it costs as much
// as the full depth (every node is one hop away, and the second hop is
// all repeats), so a miss there would cost twice the calls (1,711 in
// Mesh(30)), to save calls only on hits two hops away in sparser
// networks (RandomRegular(1000, 6): 42 calls where the flood launched
// 156-181).
//
// Padding with the node's own URL changes nothing else about the query:
// a node never passes a query to a node in its history, and the origin is
// in it already. Book nodes honour the history's length as Go nodes do,
// so a ring stops at them too. A node of Fanout 1 walks as the book's
// node does, without rings.
const ringHops = 1

// A ring ends once every peer asked has answered, or once it has run
// ringPatience times as long as its first answer took, and at least
// ringMinWait: so a peer that is slow to answer (or never does) delays
// the full query by a few round trips, not by Config.QueryTimeout. The
// peers it cut short are asked again by the full query, and not blamed.
const (
	ringPatience = 4
	ringMinWait  = 10 * time.Millisecond
)

// errRingOver ends a ring whose clock ran out (see ringClock).
var errRingOver = errors.New("peer: the ring's time is up")

// ringed runs a query that starts here, with the identity id: the rings
// of n.rings, then passOn's full depth (see ringHops).
func (n *Node) ringed(ctx context.Context, name string, history []string, id string) (io.ReadCloser, error) {
	// One Config.QueryTimeout for the rings and the full depth together.
	deadline := time.Now().Add(n.queryTime)
	full := n.maxHistory - len(history) - 1 // the hops the full query reaches
	if n.fanout > 1 {
		self := n.URL()
		for _, hops := range n.rings {
			if hops >= full {
				break
			}
			padded := slices.Clip(history)
			for len(padded) < n.maxHistory-hops {
				padded = append(padded, self)
			}
			body, widen, err := n.ring(ctx, name, padded, id, deadline)
			if !widen {
				return body, err
			}
		}
	}
	return n.passOn(ctx, name, history, id, deadline)
}

// ring sends the query id with history, padded, to the known peers, and
// returns the body of the first find; widen says that nothing was found
// and the next ring is to be sent: every peer answered without the file,
// or the ring's clock ran out. A ring that runs into Config.QueryTimeout
// (no peer answered) ends the query: a wider ring would ask the same
// peers.
func (n *Node) ring(ctx context.Context, name string, history []string, id string, deadline time.Time) (body io.ReadCloser, widen bool, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	c := &ringClock{start: time.Now(), cancel: cancel, fired: make(chan struct{})}
	// Its error says no more than ctx's and the clock's do: unhandled,
	// or cancelled by one of them.
	body, _ = n.broadcast(rctx, name, history, id, deadline, c.ended)
	over := c.stop()
	switch {
	case ctx.Err() != nil:
		if body != nil {
			body.Close()
		}
		cancel(nil)
		return nil, false, ctx.Err()
	case body != nil && !over:
		// The body streams under rctx: keep it until the body is
		// closed.
		return relay(body, func() { cancel(nil) }), false, nil
	case body != nil:
		body.Close() // found as the clock ran out: cut, the next ring finds it again
	}
	cancel(nil)
	if !over && !time.Now().Before(deadline) {
		return nil, false, unhandled() // no peer answered in time
	}
	return nil, true, nil
}

// ringClock ends a ring that has waited long enough for its slowest
// peers: once it has run ringPatience times as long as its first answer
// took, and at least ringMinWait. Safe for concurrent use.
type ringClock struct {
	start  time.Time
	cancel context.CancelCauseFunc
	fired  chan struct{} // closed when end has run

	mu sync.Mutex
	// guards timer, won and over
	timer *time.Timer
	won   bool // a branch found the file: the clock stops
	over  bool // the clock ended the ring
}

// ended is broadcast's hook: a branch ended, and won says whether it
// found the file first.
func (c *ringClock) ended(won bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case won:
		c.won = true // end does nothing now; stop stops the timer
	case c.timer == nil && !c.won:
		took := time.Since(c.start)
		c.timer = time.AfterFunc(max(ringPatience*took, ringMinWait)-took, c.end)
	}
}

// end is the clock running out.
func (c *ringClock) end() {
	defer close(c.fired)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.won && !c.over {
		c.over = true
		c.cancel(errRingOver)
	}
}

// stop stops the clock once the ring has returned, and reports whether
// it ran out. It waits for an end already under way, so that no goroutine
// of the clock outlives the ring.
func (c *ringClock) stop() (over bool) {
	c.mu.Lock()
	c.won = true // no end after this
	t := c.timer
	c.mu.Unlock()
	if t != nil && !t.Stop() {
		<-c.fired
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}
