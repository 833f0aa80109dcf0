// Package peertest builds networks of filepeer nodes in memory, for unit
// tests of topologies, faults and the query protocol, as net/http/httptest
// does for HTTP.
//
// A Network is made from a test: its nodes live in the test's temporary
// directory on a transport.Memory, and close when the test ends. Builders
// lay out common shapes (Line, Ring, Star, Mesh, Grid, Tree, RandomRegular,
// RandomGNP) or any graph written as an edge list (Edges). Links are
// directed, as in the protocol, where a node knows its peers but they need
// not know it: builders link both ways unless given Directed, and Edges
// writes "a-b" for both ways, "a>b" for a knowing b.
//
// Every call between nodes passes through the network, which
//
//   - injects faults, per directed link (FaultLink) or per node (FaultNode),
//     set and cleared while the network runs: Refuse, BlackHole, Latency,
//     Drop, DropReply, Fail, and, on the file contents a reply carries,
//     Corrupt and CutAfter, narrowed to some calls with Only, Nth, First,
//     Every and Rate; partitions (Partition, Isolate, Heal); and crashes
//     (Node.Crash, Node.Restart);
//   - keeps a Trace: who called whom, with which history (so at what hop),
//     how it ended and how many bytes of file contents it carried
//     (Call.Bytes); a failing test logs it, with the seed;
//   - can wait, without sleeping, until no call is in flight (Idle) or the
//     trace shows something (WaitFor);
//   - can pass each call through the XML-RPC codec (WireCodec).
//
// A Router gives the nodes a content router in memory (Routed): a test
// sees what they announce (Provides, AwaitProvides) and can make it lie
// (Lie).
//
// The oracle says what a query should do on the known-peer graph: Reach,
// the nodes whose files a query can find and how near they are, Holders,
// which holders may answer, and Route, the exact walk of book nodes. Every random choice (graphs, fault
// rates, latencies) comes from one seed: Seed replays a failing run.
//
// Testing a topology of your own takes a few lines:
//
//	func TestDiamond(t *testing.T) {
//		net := peertest.Edges(t, "a-b a-c b-d c-d")
//		net.Node("d").Put("song.ogg", "la la")
//		net.FaultLink("a", "b", peertest.Refuse())
//
//		got, err := net.Node("a").Query(context.Background(), "song.ogg")
//		require.NoError(t, err)
//		require.Equal(t, "la la", string(got))
//		require.Equal(t, 2, net.Trace().MaxHop())
//	}
//
// Nodes ask their peers at once and handle each query once, as filepeer's
// nodes do by default: the trace shows each query's identity (Call.ID) and
// the copies answered at once (Call.Repeat), and Holders says which holders
// may answer. Book makes some or all nodes speak only the book's methods,
// one peer at a time, as the book's Python node does; Route predicts their
// walk call by call.
//
// A network built inside a testing/synctest bubble runs its latency faults,
// its nodes' timeouts and every other timer on the bubble's clock, so a
// test of seconds of latency takes no wall time:
//
//	synctest.Test(t, func(t *testing.T) {
//		net := peertest.RandomRegular(t, 300, 4, peertest.Seed(7))
//		for _, nd := range net.Nodes() {
//			net.FaultNode(nd.Name(), peertest.Latency(10*time.Millisecond))
//		}
//		start := time.Now()
//		net.Node("n000").Query(context.Background(), "nowhere.txt")
//		t.Log(time.Since(start)) // 50ms of bubble time
//	})
package peertest
