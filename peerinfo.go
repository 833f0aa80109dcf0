package peer

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
