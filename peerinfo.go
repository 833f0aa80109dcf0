package peer

import (
	"context"
	"fmt"
)

// PeerInfo is what a node knows of one of its known peers, for a
// front-end to show.
type PeerInfo struct {
	URL string
	// Answered is true once the peer has answered a call (a reply or a
	// fault) since it became known, or was added by the node's own
	// program and has answered since.
	Answered bool
	// Failures counts the pings that failed in a row; the node forgets
	// the peer at Config.PingFailures. 0 while it answers.
	Failures int
	// Book is true for a peer that speaks only the book's methods (a
	// Python node): it is asked queries, never searched.
	Book bool
}

// Peers returns what the node knows of its known peers, sorted by URL.
func (n *Node) Peers() []PeerInfo {
	known := n.peers()
	out := make([]PeerInfo, len(known))
	for i, url := range known {
		st := n.states.get(url)
		out[i] = PeerInfo{URL: url, Answered: st.answered, Failures: n.vitals.failures(url), Book: st.speech == speechBook}
	}
	return out
}

// Ping asks the peer at url whether it is there, and returns nil if it
// answered at all: a book node's fault for a method it does not know is
// an answer. What it learns shows in Peers. A ping has no side effect at
// the peer: it never makes a book node pass a query on.
func (n *Node) Ping(ctx context.Context, url string) error {
	if err := n.register(); err != nil {
		return err
	}
	defer n.calls.Done()
	if err := n.ping(ctx, url); err != nil {
		return fmt.Errorf("peer: ping %s: %w", truncate(url), err)
	}
	return nil
}
