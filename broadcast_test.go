package peer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
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
	require.Equal(t, 7+1+3, len(net.Trace().Steps()), "every leaf was asked once in the ring of the peers' own files, and n3, whose fault 1 says it is a book node, again with the book's query; then the kept peers at the full depth")
	require.ErrorIs(t, net.Trace().Between("n0", "n2")[0].Err, transport.ErrUnreachable)

	net.ResetTrace()
	_, err = net.Node("n0").Query(broadcastCtx(t), "missing.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	ring := slices.Repeat([]string{"n0"}, peer.DefaultMaxHistory-1)
	require.ElementsMatch(t, []peertest.Step{
		{Caller: "n0", Callee: "n1", History: ring},
		{Caller: "n0", Callee: "n3", History: ring},
		{Caller: "n0", Callee: "n4", History: ring},
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

// missCalls returns the node-to-node calls a miss at the first node made
// in net, and checks that every node was reached.
func missCalls(t testing.TB, net *peertest.Network) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	net.ResetTrace()
	_, err := net.Nodes()[0].Query(ctx, "nowhere.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.NoError(t, net.Idle(ctx))
	tr := net.Trace()
	require.Len(t, tr.Reached("nowhere.txt"), len(net.Reach(net.Nodes()[0].Name())))
	return len(tr.Steps())
}

// withLatency puts d on every call to every node of net.
func withLatency(net *peertest.Network, d time.Duration) *peertest.Network {
	for _, nd := range net.Nodes() {
		net.FaultNode(nd.Name(), peertest.Latency(d))
	}
	return net
}

// A query is handled once by each node, so a miss costs at most one call a
// directed link (each copy past the first is answered at once), however
// dense the network: in a mesh exactly that, the flood's (k-1)² and the
// ring's k-1 (ring.go); the book's walk, by contrast, tries every simple
// path within the limit. With the same latency on every call, on the
// bubble's clock, copies arrive in order of their hops and no node needs
// to handle one twice, so the bound is exact. Without latency, the copies
// race in the scheduler and a few nodes handle a shallower copy again
// (BenchmarkMissCalls reports how many calls that costs).
func TestQueryHandledOnce(t *testing.T) {
	for _, k := range []int{8, 12, 30, 100} {
		synctest.Test(t, func(t *testing.T) {
			net := withLatency(peertest.Mesh(t, k, peertest.TraceLimit(1<<20)), time.Millisecond)
			calls := missCalls(t, net)
			t.Logf("Mesh(%d): %d calls for a miss (%d directed links)", k, calls, k*(k-1))
			require.LessOrEqual(t, calls, k*(k-1))
			require.Positive(t, len(net.Trace().Filter(func(c peertest.Call) bool { return c.Repeat })), "copies are answered at once")
		})
	}
	synctest.Test(t, func(t *testing.T) {
		net := withLatency(peertest.RandomRegular(t, 1000, 6, peertest.Seed(1), peertest.TraceLimit(1<<20)), time.Millisecond)
		calls := missCalls(t, net)
		t.Logf("RandomRegular(1000, 6): %d calls for a miss", calls)
		require.LessOrEqual(t, calls, 6000)
	})
	book := peertest.Mesh(t, 8, peertest.Book(), peertest.TraceLimit(1<<20))
	t.Logf("Mesh(8) of book nodes: %d calls for a miss", missCalls(t, book))
}

// With 10 ms on every call, on the bubble's clock, a hit five hops away
// and a miss take about as long as the query's deepest path, since peers
// are asked at once, and the ring of the peers' own files before it: 60 ms
// (the book's walk, one peer at a time, took 1.51 s and 4.68 s of it).
func TestQueryLatencyOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := withLatency(peertest.RandomRegular(t, 300, 4, peertest.Seed(7)), 10*time.Millisecond)
		origin := net.Nodes()[0].Name()
		var far string
		for name, hops := range net.Reach(origin) {
			if hops == 5 {
				far = name
				break
			}
		}
		require.NotEmpty(t, far, "a node five hops away")
		net.Node(far).Put("far.txt", "five hops")

		start := time.Now()
		got, err := net.Node(origin).Query(broadcastCtx(t), "far.txt")
		hit := time.Since(start)
		require.NoError(t, err)
		require.Equal(t, "five hops", string(got))
		require.NoError(t, net.Idle(broadcastCtx(t)))

		start = time.Now()
		_, err = net.Node(origin).Query(broadcastCtx(t), "nowhere.txt")
		miss := time.Since(start)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		t.Logf("hit five hops away: %v; miss: %v (bubble time)", hit, miss)
		require.LessOrEqual(t, hit, 150*time.Millisecond)
		require.LessOrEqual(t, miss, 250*time.Millisecond)
	})
}

// No reach is lost: a query finds a file if and only if a holder is within
// the history limit, and the holder that answers is one of those, on
// random graphs.
func TestQueryFindsWhatTheOracleAllows(t *testing.T) {
	for seed := range uint64(8) {
		net := peertest.RandomGNP(t, 40, 0.08, peertest.Directed(), peertest.Seed(seed))
		holders := []string{"n07", "n19", "n33"}
		for _, h := range holders {
			net.Node(h).Put("f", h)
		}
		for _, nd := range net.Nodes() {
			may := net.Holders(nd.Name(), holders...)
			got, err := nd.Query(broadcastCtx(t), "f")
			if len(may) == 0 {
				require.ErrorIs(t, err, peer.ErrUnhandled, "seed %d from %s", seed, nd.Name())
				continue
			}
			require.NoError(t, err, "seed %d from %s", seed, nd.Name())
			require.Contains(t, may, string(got), "seed %d from %s", seed, nd.Name())
		}
		require.NoError(t, net.Idle(broadcastCtx(t)))
	}
}

// A copy that comes by a shorter path is handled again, so that it reaches
// as far as that path allows: here the long way reaches a first, too deep
// to pass the query on, and the direct link, slower, still finds h.
func TestShorterPathHandledAgain(t *testing.T) {
	net := peertest.Edges(t, "o>b>c>d>e>a o>a a>h")
	net.Node("h").Put("f", "on h")
	net.FaultLink("o", "a", peertest.Latency(50*time.Millisecond))
	got, err := net.Node("o").Query(broadcastCtx(t), "f")
	require.NoError(t, err)
	require.Equal(t, "on h", string(got))
	var hops []int
	// The ring's copy (hop 5, padded), slowed on the link, is cut by the
	// ring's clock before it reaches a.
	for _, c := range net.Trace().Filter(func(c peertest.Call) bool { return c.Callee == "a" && c.Delivered }) {
		require.False(t, c.Repeat)
		hops = append(hops, c.Hop())
	}
	require.ElementsMatch(t, []int{5, 1}, hops, "a handled the deep copy, then the shallow one")
}

// Peers are asked at once: the first to find the file wins, whatever the
// URL order, the slower branch is cancelled, and nobody is blamed.
func TestQueryFirstAnswerWins(t *testing.T) {
	net := peertest.Edges(t, "x>a x>b", peertest.TraceLimit(100))
	net.Node("a").Put("f", "from slow a")
	net.Node("b").Put("f", "from b")
	net.FaultNode("a", peertest.BlackHole())
	got, err := net.Node("x").Query(broadcastCtx(t), "f")
	require.NoError(t, err)
	require.Equal(t, "from b", string(got))
	require.NoError(t, net.Idle(broadcastCtx(t)), "the losing branch ended with the query")
	require.Equal(t, "canceled", net.Trace().Between("x", "a")[0].Outcome())
	require.Equal(t, []string{"a", "b"}, net.Node("x").Known())
}

// QueryTimeout bounds the search: peers that never answer cost a query no
// more than that, and are not blamed for it.
func TestQueryTimeout(t *testing.T) {
	net := peertest.Edges(t, "x>a x>b", peertest.Configure(func(c *peer.Config) { c.QueryTimeout = 20 * time.Millisecond }))
	net.FaultNode("a", peertest.BlackHole())
	net.FaultNode("b", peertest.BlackHole())
	_, err := net.Node("x").Query(broadcastCtx(t), "f")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Equal(t, []string{"a", "b"}, net.Node("x").Known())
}

// A node that knows aliases of itself (the same node under other URLs)
// answers their copies of a query at once: each costs one call a ring
// (the ring of its peers' own files, then the full depth), where the
// book's walk made one miss cost 111,110 calls for 10 aliases.
func TestSelfAliasesCostOneCallEach(t *testing.T) {
	var calls atomic.Int64
	tr := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { tr.Close() })
	srv := httptest.NewUnstartedServer(nil)
	n, err := peer.New(peer.Config{URL: "http://" + srv.Listener.Addr().String(), Dir: t.TempDir(), Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		n.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	// Hello refuses query strings now, so the aliases are the ones a
	// peer's address may still have: a path of / or /RPC2, and a name.
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	aliases := []string{srv.URL + "/", srv.URL + "/RPC2", local, local + "/", local + "/RPC2"}
	for _, a := range aliases {
		require.NoError(t, n.Hello(broadcastCtx(t), a))
	}
	_, err = n.Query(broadcastCtx(t), "nowhere.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	t.Logf("%d calls for a miss with %d aliases", calls.Load(), len(aliases))
	require.LessOrEqual(t, calls.Load(), int64(2*len(aliases)))
	require.Len(t, n.Known(), len(aliases), "an alias answers: it is kept")
}

// BenchmarkMissCalls reports the calls one miss makes (calls/miss) in
// dense and large networks: with no latency, where copies race in the
// scheduler, and with 1 ms on every call, where they arrive nearly in
// order of their hops, as on a real network; and for book nodes, which walk
// every simple path (Mesh(12) is the largest they finish in seconds).
//
//	go test -run NONE -bench MissCalls -benchtime 1x .
func BenchmarkMissCalls(b *testing.B) {
	type shape struct {
		name  string
		build func(testing.TB, ...peertest.Option) *peertest.Network
	}
	shapes := []shape{}
	for _, k := range []int{8, 12, 30, 100} {
		shapes = append(shapes, shape{fmt.Sprintf("Mesh(%d)", k), func(t testing.TB, o ...peertest.Option) *peertest.Network { return peertest.Mesh(t, k, o...) }})
	}
	shapes = append(shapes, shape{"RandomRegular(10000,6)", func(t testing.TB, o ...peertest.Option) *peertest.Network {
		return peertest.RandomRegular(t, 10000, 6, append(o, peertest.Seed(1))...)
	}})
	count := func(b *testing.B, net *peertest.Network) {
		calls := 0
		for b.Loop() {
			calls += missCalls(b, net)
		}
		b.ReportMetric(float64(calls)/float64(b.N), "calls/miss")
		b.ReportMetric(float64(len(net.Graph().Links())), "links")
	}
	for _, s := range shapes {
		b.Run("latency=0/"+s.name, func(b *testing.B) {
			count(b, s.build(b, peertest.TraceLimit(1<<22)))
		})
		b.Run("latency=1ms/"+s.name, func(b *testing.B) {
			net := s.build(b, peertest.TraceLimit(1<<22))
			withLatency(net, time.Millisecond)
			count(b, net)
		})
	}
	for _, k := range []int{8, 12} {
		b.Run(fmt.Sprintf("book/Mesh(%d)", k), func(b *testing.B) {
			count(b, peertest.Mesh(b, k, peertest.Book(), peertest.TraceLimit(1<<22)))
		})
	}
}
