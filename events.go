package peer

// PeerEventKind says what happened to a known peer.
type PeerEventKind int

const (
	// PeerJoined: the peer was added to the known peers, by Hello, by
	// discovery or from Config.PeersFile.
	PeerJoined PeerEventKind = iota + 1
	// PeerLeft: the peer said it was going (filepeer.bye), and the node
	// checked that it no longer answers.
	PeerLeft
	// PeerForgotten: the peer was dropped for failed calls, to make room
	// in a full known list, or by the program's Forget.
	PeerForgotten
)

// String names the kind: "joined", "left" or "forgotten".
func (k PeerEventKind) String() string {
	switch k {
	case PeerJoined:
		return "joined"
	case PeerLeft:
		return "left"
	case PeerForgotten:
		return "forgotten"
	}
	return "unknown"
}

// PeerEvent is a change of a node's known peers, as Config.OnPeer
// receives it.
type PeerEvent struct {
	Kind PeerEventKind
	Peer string // the peer's URL
	Err  error  // for PeerForgotten after failed calls, the last failure; else nil
}

// emit tells the program's OnPeer, if any, of an event. It is called with
// no lock of the node held.
func (n *Node) emit(kind PeerEventKind, url string, err error) {
	if n.onPeer != nil {
		n.onPeer(PeerEvent{Kind: kind, Peer: url, Err: err})
	}
}
