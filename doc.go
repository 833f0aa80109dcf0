// Package peer is a peer of a small file-sharing network, after the "File
// Sharing with XML-RPC" project of Beginning Python.
//
// A [Node] has a URL, a shared directory, a secret and a set of known
// peers. Other nodes call three remote methods on it:
//
//   - query(name, history) returns the file name from the shared directory
//     or, failing that, asks the known peers, adding the node's URL to
//     history. Peers already in the history are skipped, so loops end,
//     and once the history reaches MaxHistory (6, so five hops) the query
//     goes no further. A node asks Config.Fanout peers at once and takes
//     the first answer; between Go nodes a query also carries an identity
//     (filepeer.query, see PROTOCOL.md in the module), so that each node
//     handles it once however many paths lead there. A query that starts
//     at a node asks its peers for their own files first, and goes the
//     whole way only if none has the file: a hit one hop away costs one
//     call a peer rather than a flood.
//   - hello(url) adds a peer to the known set.
//   - fetch(name, secret) is for the node's trusted party: it runs the query
//     and stores the file in the shared directory.
//
// A query that finds nothing is fault 100 ([ErrUnhandled]); a wrong secret,
// or a name that would leave the shared directory, is fault 200
// ([ErrAccessDenied]). Both match with errors.Is whether they were raised
// here or came back from a peer.
//
// Beyond the book, between nodes that speak filepeer's extension:
// [Node.Search] finds every copy of a file on the network by name or
// content hash; [Node.Download] fetches a file in verified pieces from
// several holders at once, resuming an interrupted fetch, by name or by
// content hash; a [ContentRouter] (Config.Router: a DHT, say) finds the
// holders of contents without a flood; and from Start
// to Close a node pings its peers, finds new ones, says goodbye and keeps
// its peers in Config.PeersFile ([Node.Peers] tells a front-end how each
// is doing). A program can serve and call methods of its own
// ([Node.Handle], [Node.Call]).
//
// Nodes talk over a [transport.Transport]: XML-RPC over HTTP by default
// (package transport/xmlrpc), which the book's Python nodes speak too, or
// [transport.NewMemory] to run a whole network in one test. Package
// peertest builds such networks; the nested module transport/libp2p
// reaches beyond one LAN.
//
// A minimal node:
//
//	n, err := peer.New(peer.Config{
//		URL:    "http://127.0.0.1:4242",
//		Dir:    "files",
//		Secret: peer.NewSecret(),
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer n.Close()
//	if err := n.Start(); err != nil {
//		log.Fatal(err)
//	}
//	n.Hello(ctx, "http://127.0.0.1:4243")
//	data, err := n.Query(ctx, "test.txt", nil)
package peer
