package peer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/filepeer/peer/transport"
)

const (
	// probeWait is how long a hello from the network waits for its
	// peer to answer the probe before it leaves the probe to the
	// background and answers.
	probeWait = time.Second
	// Probes left to the background at once, and waiting: a hello past
	// them is answered, and its peer not added.
	probesAtOnce  = 16
	probesWaiting = 1024
)

// ErrNoAnswer is returned, wrapped, by a hello from the network for a
// peer that did not answer like a peer.
var ErrNoAnswer = errors.New("peer: the peer did not answer like a peer")

// admit is a hello that came over the network (its context names a
// caller address): the peer is added only once it has answered like a
// peer, a ping answered with anything (a book node's fault for a method
// it does not know is an answer). A peer that answers within probeWait
// is added before hello returns, as the book's hello adds at once; one
// that refuses the call is not added, and the hello fails; one that has
// not answered by then is probed further in the background and added if
// it answers, since a single-threaded peer (the book's Python server)
// that says hello for itself cannot answer until its hello is answered.
// Close waits for the background probes.
func (n *Node) admit(ctx context.Context, url string) error {
	wait, cancel := context.WithTimeout(ctx, probeWait)
	err := n.ping(wait, url)
	slow := wait.Err() != nil && ctx.Err() == nil
	cancel()
	switch {
	case err == nil:
		return n.join(url)
	case slow:
		if !n.probes.add(url) {
			n.log.Debug("hello not followed: too many peers waiting for a probe", "peer", url)
		}
		return nil
	}
	return fmt.Errorf("%w: %s (%v)", ErrNoAnswer, truncate(url), err)
}

// probe is admit's background work: ping url, and add it if it answered.
func (n *Node) probe(ctx context.Context, url string) {
	if err := n.ping(ctx, url); err != nil {
		n.log.Info("not adding a peer that does not answer", "peer", url, "err", err)
		return
	}
	n.join(url)
}

// fromNetwork reports whether a call came over the network rather than
// from the node's own program.
func fromNetwork(ctx context.Context) bool {
	_, ok := transport.CallerAddr(ctx)
	return ok
}
