package peer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

// broadcastCtx bounds a test's query, so that a bug fails the test
// instead of hanging it.
func broadcastCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// knownOf returns what every node knows, to compare before and after.
func knownOf(net *peertest.Network) map[string][]string {
	return net.Graph()
}

// In the line n0>n1>…>n6 a query at n0 finds a file on n5, five hops away,
// and not one on n6; n1, a hop nearer, does. An honest fault 100 never
// costs a peer.
func TestBroadcastHistoryLimitOnLine(t *testing.T) {
	net := peertest.Line(t, 7, peertest.Directed())
	before := knownOf(net)
	net.Node("n5").Put("on-f.txt", "found five hops away")
	net.Node("n6").Put("on-g.txt", "too far")

	got, err := net.Node("n0").Query(broadcastCtx(t), "on-f.txt")
	require.NoError(t, err)
	require.Equal(t, "found five hops away", string(got))
	require.Equal(t, 5, net.Trace().MaxHop())

	net.ResetTrace()
	_, err = net.Node("n0").Query(broadcastCtx(t), "on-g.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	var f *peer.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, peer.Unhandled, f.Code)
	require.Equal(t, 5, net.Trace().MaxHop(), "n5 does not pass the query on")
	require.NotContains(t, net.Trace().Reached("on-g.txt"), "n6")

	got, err = net.Node("n1").Query(broadcastCtx(t), "on-g.txt")
	require.NoError(t, err)
	require.Equal(t, "too far", string(got))
	require.Equal(t, before, knownOf(net))
}

// For each history limit, a query finds exactly what the oracle says:
// the nodes within MaxHistory-1 hops.
func TestBroadcastMaxHistoryHonoured(t *testing.T) {
	for _, maxHistory := range []int{1, 2, 3, 6, 9} {
		t.Run(fmt.Sprint("MaxHistory=", maxHistory), func(t *testing.T) {
			net := peertest.Line(t, 10, peertest.Directed(), peertest.MaxHistory(maxHistory))
			reach := net.Reach("n0")
			require.Len(t, reach, maxHistory)
			for _, nd := range net.Nodes()[1:] {
				name := "on-" + nd.Name()
				nd.Put(name, "x")
				_, err := net.Node("n0").Query(broadcastCtx(t), name)
				if _, ok := reach[nd.Name()]; ok {
					require.NoError(t, err, nd.Name())
				} else {
					require.ErrorIs(t, err, peer.ErrUnhandled, nd.Name())
				}
			}
			require.LessOrEqual(t, net.Trace().MaxHop(), maxHistory-1)
		})
	}
}

// A query passes on the history it has so far, with each node added.
func TestBroadcastHistoryOnTheWire(t *testing.T) {
	net := peertest.Edges(t, "a>b>c")
	_, err := net.Node("a").Peer().Query(broadcastCtx(t), "x", []string{"mem://earlier"})
	require.ErrorIs(t, err, peer.ErrUnhandled)
	steps := net.Trace().Steps()
	require.Equal(t, []peertest.Step{
		{Caller: "a", Callee: "b", History: []string{"mem://earlier", "a"}},
		{Caller: "b", Callee: "c", History: []string{"mem://earlier", "a", "b"}},
	}, steps)
}

// Loops end among book nodes: no node is asked by a query whose history
// holds it. A query walks exactly the calls the oracle predicts.
func TestBroadcastLoopsEnd(t *testing.T) {
	for name, build := range map[string]func(testing.TB) *peertest.Network{
		"ring":          func(t testing.TB) *peertest.Network { return peertest.Ring(t, 6, peertest.Book()) },
		"directed ring": func(t testing.TB) *peertest.Network { return peertest.Ring(t, 6, peertest.Directed(), peertest.Book()) },
		"mesh":          func(t testing.TB) *peertest.Network { return peertest.Mesh(t, 6, peertest.Book()) },
	} {
		t.Run(name, func(t *testing.T) {
			net := build(t)
			route := net.Route("n0")
			_, err := net.Node("n0").Query(broadcastCtx(t), "nowhere.txt")
			require.ErrorIs(t, err, peer.ErrUnhandled)
			tr := net.Trace()
			require.Equal(t, route.Steps, tr.Steps())
			for _, c := range tr {
				require.NotContains(t, c.History, c.Callee, "call #%d", c.Seq)
				distinct := slices.Compact(slices.Sorted(slices.Values(c.History)))
				require.Len(t, distinct, len(c.History), "a history never repeats a node: call #%d", c.Seq)
			}
			if name == "directed ring" {
				for l, calls := range tr.PerLink() {
					require.Equal(t, 1, calls, "calls over %s", l)
				}
				require.Len(t, tr.PerLink(), 5, "the ring is walked once, and n5 does not ask n0")
			}

			net.Node("n3").Put("late.txt", "found")
			got, err := net.Node("n0").Query(broadcastCtx(t), "late.txt")
			require.NoError(t, err)
			require.Equal(t, "found", string(got))
		})
	}
}

// Book nodes ask peers in URL order and the first success wins, whatever
// is nearer: the oracle's Route and the network agree.
func TestBroadcastFirstSuccessWins(t *testing.T) {
	net := peertest.Edges(t, "x>c x>b x>a>d", peertest.Book())
	net.Node("b").Put("f", "from b")
	net.Node("c").Put("f", "from c")
	net.Node("d").Put("f", "from d")
	route := net.Route("x", "b", "c", "d")
	require.Equal(t, "d", route.Holder)
	got, err := net.Node("x").Query(broadcastCtx(t), "f")
	require.NoError(t, err)
	require.Equal(t, "from d", string(got), "a comes first, and a finds d")
	require.Equal(t, route.Steps, net.Trace().Steps())
}

// A partition refuses calls across it, so the book's rule drops the peers
// on the other side; once it heals, the peers must be introduced again.
// A partition that swallows calls costs no peer, and heals by itself.
func TestBroadcastPartitionHeals(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		net := peertest.Ring(t, 6)
		net.Node("n3").Put("f", "across")
		net.Partition([]string{"n0", "n1", "n5"}, []string{"n2", "n3", "n4"})
		_, err := net.Node("n0").Query(broadcastCtx(t), "f")
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.ElementsMatch(t, []string{"n0", "n1", "n5"}, net.Trace().Reached("f"))
		require.Equal(t, []string{"n0"}, net.Node("n1").Known(), "n1 dropped n2")
		require.Equal(t, []string{"n0"}, net.Node("n5").Known(), "n5 dropped n4")

		net.Heal()
		_, err = net.Node("n0").Query(broadcastCtx(t), "f")
		require.ErrorIs(t, err, peer.ErrUnhandled)
		net.Relink()
		got, err := net.Node("n0").Query(broadcastCtx(t), "f")
		require.NoError(t, err)
		require.Equal(t, "across", string(got))
	})
	t.Run("black-holed", func(t *testing.T) {
		net := peertest.Ring(t, 6)
		before := knownOf(net)
		net.Node("n3").Put("f", "across")
		net.PartitionWith(peertest.BlackHole(), []string{"n0", "n1", "n5"})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := net.Node("n0").Query(ctx, "f")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, net.Idle(broadcastCtx(t)))
		require.Equal(t, before, knownOf(net))

		net.Heal()
		got, err := net.Node("n0").Query(broadcastCtx(t), "f")
		require.NoError(t, err)
		require.Equal(t, "across", string(got))
	})
}

// A peer whose call fails (down, refused, dropped, garbage) is dropped
// and not asked again; one that answers a fault, any fault, meant it and
// stays.
func TestBroadcastDeadPeersDropped(t *testing.T) {
	net := peertest.Star(t, 8, peertest.Directed())
	net.Node("n2").Crash()
	net.FaultNode("n3", peertest.Fail(&peer.Fault{Code: 1, Message: "TypeError"}))
	net.FaultNode("n4", peertest.Fail(peer.ErrAccessDenied))
	net.FaultNode("n5", peertest.Fail(errors.New("garbage on the wire")))
	net.FaultNode("n6", peertest.Refuse())
	net.FaultNode("n7", peertest.Drop())

	_, err := net.Node("n0").Query(broadcastCtx(t), "missing.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Equal(t, []string{"n1", "n3", "n4"}, net.Node("n0").Known())
	require.Equal(t, 7+1, len(net.Trace().Steps()), "every leaf was asked once, and n3, whose fault 1 says it is a book node, again with the book's query")
	require.ErrorIs(t, net.Trace().Between("n0", "n2")[0].Err, transport.ErrUnreachable)

	net.ResetTrace()
	_, err = net.Node("n0").Query(broadcastCtx(t), "missing.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.ElementsMatch(t, []peertest.Step{
		{Caller: "n0", Callee: "n1", History: []string{"n0"}},
		{Caller: "n0", Callee: "n3", History: []string{"n0"}},
		{Caller: "n0", Callee: "n4", History: []string{"n0"}},
	}, net.Trace().Steps(), "dropped peers are not asked again")

	// Back up and introduced again, a peer is asked again.
	net.Node("n2").Restart(peertest.KeepDir)
	net.Node("n2").Put("missing.txt", "here now")
	net.Relink()
	got, err := net.Node("n0").Query(broadcastCtx(t), "missing.txt")
	require.NoError(t, err)
	require.Equal(t, "here now", string(got))
}

// Among book nodes, a black-holed peer holds a query only until the
// caller's deadline, at any depth; nobody is blamed, so nobody is dropped,
// and no peer after it is asked.
func TestBroadcastBlackHoleBoundedByDeadline(t *testing.T) {
	net := peertest.Edges(t, "a>b>c>d a>e", peertest.Book())
	before := knownOf(net)
	net.Node("e").Put("f", "on e")
	hole := net.FaultNode("d", peertest.BlackHole())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := net.Node("a").Query(ctx, "f")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, net.Idle(broadcastCtx(t)))
	require.Equal(t, 1, hole.Hits())
	require.Empty(t, net.Trace().Between("a", "e"), "the deadline ended the query before e")
	for _, c := range net.Trace() {
		require.True(t, c.Done)
		require.False(t, c.OK(), "call #%d", c.Seq)
	}
	require.Equal(t, before, knownOf(net))

	hole.Clear()
	net.Node("d").Put("f", "on d")
	got, err := net.Node("a").Query(broadcastCtx(t), "f")
	require.NoError(t, err)
	require.Equal(t, "on d", string(got), "b comes before e, and the way to d is open again")
}

// A network of book nodes agrees with the oracle on random graphs: what
// is found, and every call made on the way.
func TestBroadcastMatchesOracleOnRandomGraphs(t *testing.T) {
	for seed := range uint64(8) {
		net := peertest.RandomGNP(t, 25, 0.12, peertest.Directed(), peertest.Seed(seed), peertest.Book())
		holders := []string{"n07", "n19"}
		for _, h := range holders {
			net.Node(h).Put("f", h)
		}
		for _, nd := range net.Nodes() {
			net.ResetTrace()
			route := net.Route(nd.Name(), holders...)
			got, err := nd.Query(broadcastCtx(t), "f")
			if route.Found {
				require.NoError(t, err)
				require.Equal(t, route.Holder, string(got))
			} else {
				require.ErrorIs(t, err, peer.ErrUnhandled)
			}
			require.Equal(t, route.Steps, net.Trace().Steps(), "seed %d from %s", seed, nd.Name())
		}
	}
}
