package peer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
)

// A hit one hop away costs one call a peer: the ring of the peers' own
// files finds it, and no peer passes the query on, however dense the
// network.
func TestRingHitOneHopAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := withLatency(peertest.Mesh(t, 30, peertest.TraceLimit(1<<20)), time.Millisecond)
		net.Node("n17").Put("near.txt", "one hop")
		start := time.Now()
		got, err := net.Node("n00").Query(broadcastCtx(t), "near.txt")
		took := time.Since(start)
		require.NoError(t, err)
		require.Equal(t, "one hop", string(got))
		require.NoError(t, net.Idle(broadcastCtx(t)))
		require.Equal(t, time.Millisecond, took, "one call's latency")
		steps := net.Trace().Steps()
		require.Len(t, steps, 29)
		for _, s := range steps {
			require.Equal(t, "n00", s.Caller, "nobody passed it on")
			require.Equal(t, slices.Repeat([]string{"n00"}, peer.DefaultMaxHistory-1), s.History)
		}
	})
}

// A miss widens the ring at once, as soon as every peer has answered: it
// costs the ring's calls more than the flood, and one call's latency.
func TestRingMissWidensAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := withLatency(peertest.RandomRegular(t, 300, 4, peertest.Seed(7), peertest.TraceLimit(1<<20)), 10*time.Millisecond)
		origin := net.Nodes()[0]
		start := time.Now()
		_, err := origin.Query(broadcastCtx(t), "nowhere.txt")
		took := time.Since(start)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.NoError(t, net.Idle(broadcastCtx(t)))
		require.Equal(t, 60*time.Millisecond, took, "10 ms for the ring, 50 for the five hops")
		padded := slices.Repeat([]string{origin.Name()}, peer.DefaultMaxHistory-1)
		ring := net.Trace().Filter(func(c peertest.Call) bool { return slices.Equal(c.History, padded) })
		require.Len(t, ring, 4, "each of the origin's peers once")
		require.Len(t, net.Trace().Reached("nowhere.txt"), len(net.Reach(origin.Name())), "the full depth reaches all it did")
	})
}

// A peer that never answers holds the ring back only a little: once the
// others have answered, the ring waits four times as long as the first
// answer took, at least 10 ms, and the full query goes on; the peer is
// not blamed.
func TestRingSlowPeerDoesNotStall(t *testing.T) {
	for _, tc := range []struct {
		latency, took time.Duration
	}{
		{0, 10 * time.Millisecond}, // the ring's least wait, then no time
		// b answers the ring at 10 ms, which ends at 40; then x>b and
		// b>c take 10 ms each.
		{10 * time.Millisecond, 60 * time.Millisecond},
	} {
		t.Run(fmt.Sprint("latency=", tc.latency), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				net := peertest.Edges(t, "x>a x>b b>c")
				if tc.latency > 0 {
					withLatency(net, tc.latency)
				}
				net.FaultNode("a", peertest.BlackHole())
				net.Node("c").Put("f", "on c")
				start := time.Now()
				got, err := net.Node("x").Query(broadcastCtx(t), "f")
				took := time.Since(start)
				require.NoError(t, err)
				require.Equal(t, "on c", string(got))
				require.Equal(t, tc.took, took)
				require.NoError(t, net.Idle(broadcastCtx(t)))
				require.Equal(t, []string{"a", "b"}, net.Node("x").Known())
			})
		})
	}
}

// If no peer answers the ring within QueryTimeout, the query ends there:
// the full depth would ask the same peers.
func TestRingSilentPeersEndTheQuery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.Edges(t, "x>a x>b", peertest.Configure(func(c *peer.Config) { c.QueryTimeout = time.Second }))
		net.FaultNode("a", peertest.BlackHole())
		net.FaultNode("b", peertest.BlackHole())
		start := time.Now()
		_, err := net.Node("x").Query(broadcastCtx(t), "f")
		took := time.Since(start)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Equal(t, time.Second, took)
		require.NoError(t, net.Idle(broadcastCtx(t)))
		require.Len(t, net.Trace().Steps(), 2, "the ring alone")
		require.Equal(t, []string{"a", "b"}, net.Node("x").Known())
	})
}

// The ring and the full depth share one Config.QueryTimeout: a peer
// that takes 0.7 s over every call (the timeout is 1 s) answers the ring,
// and the full query is cut when the second runs out, 1 s after the
// query began, not 1 s after the ring ended.
func TestRingAndFullDepthShareTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.Edges(t, "x>a a>b", peertest.Configure(func(c *peer.Config) { c.QueryTimeout = time.Second }))
		net.FaultNode("a", peertest.Latency(700*time.Millisecond))
		start := time.Now()
		_, err := net.Node("x").Query(broadcastCtx(t), "f")
		took := time.Since(start)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Equal(t, time.Second, took)
		require.NoError(t, net.Idle(broadcastCtx(t)))
	})
}

// A node of Fanout 1 walks as the book's node does: no ring.
func TestRingNotForTheBooksWalk(t *testing.T) {
	net := peertest.Edges(t, "a>b>c", peertest.Configure(func(c *peer.Config) { c.Fanout = 1 }))
	_, err := net.Node("a").Query(broadcastCtx(t), "x")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Equal(t, []peertest.Step{
		{Caller: "a", Callee: "b", History: []string{"a"}},
		{Caller: "b", Callee: "c", History: []string{"a", "b"}},
	}, net.Trace().Steps())
}

// A Python node in the middle of a chain honours the ring's padded
// history as a Go node does: it answers from its own files and passes the
// ring to nobody, so the Go node behind it is asked once a query, by the
// full depth. Go → Python → Go, with the file on the Python node, then
// on the far Go node, then nowhere.
func TestInteropRingStopsAtPython(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var calls atomic.Int64
	srv := httptest.NewUnstartedServer(nil)
	farDir := t.TempDir()
	far, err := peer.New(peer.Config{URL: "http://" + srv.Listener.Addr().String(), Dir: farDir, Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { far.Close() })
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		far.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	origin, p := goNode(t, tr), startPyNode(t, py)
	// The origin knows the Python node through a proxy that counts the
	// calls it gets.
	var pyCalls atomic.Int64
	target, err := url.Parse(p.url)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pyCalls.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	require.NoError(t, origin.Hello(ctx, front.URL))
	pyHello(t, py, p, far.URL())
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "near.txt"), []byte("on Python"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(farDir, "far.txt"), []byte("behind Python"), 0o644))

	got, err := origin.Query(ctx, "near.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "on Python", string(got))
	require.Zero(t, calls.Load(), "the ring found it on the Python node")

	pyCalls.Store(0)
	got, err = origin.Query(ctx, "far.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "behind Python", string(got))
	require.EqualValues(t, 2, pyCalls.Load(), "the ring, then the full depth")
	require.EqualValues(t, 1, calls.Load(), "the Python node did not pass the ring on")
	require.Equal(t, []string{front.URL}, origin.Known(), "and answered it: it is kept")

	_, err = origin.Query(ctx, "nowhere.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.EqualValues(t, 2, calls.Load(), "a miss reaches the far node once")
}

// ringRow is one schedule's figures in one network: per distance of the
// holder (0 for a miss), the calls (least and most of three queries) and
// the bubble time of a query.
type ringRow struct {
	net      string
	latency  time.Duration
	schedule []int
	calls    map[int][2]int
	took     map[int]time.Duration
}

// ringFigures measures each schedule (nil: the full depth at once, as
// before rings) in net, on the bubble's clock: a query from the first
// node for a file held hops away, for each distance in reach among 1, 2,
// 3 and 5, and a miss.
func ringFigures(t *testing.T, name string, net *peertest.Network, latency time.Duration, schedules [][]int) []ringRow {
	withLatency(net, latency)
	origin := net.Nodes()[0]
	dists := []int{}
	for _, d := range []int{1, 2, 3, 5} {
		var at []string
		for name, h := range net.Reach(origin.Name()) {
			if h == d {
				at = append(at, name)
			}
		}
		if len(at) > 0 {
			net.Node(slices.Min(at)).Put(fmt.Sprint("at-", d), "x")
			dists = append(dists, d)
		}
	}
	dists = append(dists, 0)
	var rows []ringRow
	for _, s := range schedules {
		for _, nd := range net.Nodes() {
			peer.SetRings(nd.Peer(), s)
		}
		row := ringRow{net: name, latency: latency, schedule: s, calls: map[int][2]int{}, took: map[int]time.Duration{}}
		for _, d := range dists {
			lo, hi := 1<<62, 0
			for range 3 {
				net.ResetTrace()
				start := time.Now()
				_, err := origin.Query(broadcastCtx(t), fmt.Sprint("at-", d))
				row.took[d] = max(row.took[d], time.Since(start))
				if d == 0 {
					require.ErrorIs(t, err, peer.ErrUnhandled)
				} else {
					require.NoError(t, err)
				}
				require.NoError(t, net.Idle(broadcastCtx(t)))
				calls := len(net.Trace().Steps())
				lo, hi = min(lo, calls), max(hi, calls)
			}
			row.calls[d] = [2]int{lo, hi}
		}
		rows = append(rows, row)
	}
	return rows
}

// The ring of the peers' own files pays where it was meant to: a hit one
// hop away costs one call a peer of the origin, where the flood launched
// tens to thousands; a miss costs at most 1.2 times the flood's calls,
// and a hit five hops away at most 1.2 times its latency (one call's
// latency more). Measured side by side with the flood (rings off) and
// with wider schedules, which a miss in a mesh pays twice for (every node
// is one hop away, so a ring of two hops costs a full flood). The table
// is logged (go test -v -run TestRingsCostAndLatency .); the race
// detector and -short keep to the two smaller networks at 1 ms.
func TestRingsCostAndLatency(t *testing.T) {
	type network struct {
		name    string
		build   func(testing.TB) *peertest.Network
		latency time.Duration
	}
	mesh := func(k int) func(testing.TB) *peertest.Network {
		return func(t testing.TB) *peertest.Network { return peertest.Mesh(t, k, peertest.TraceLimit(1<<21)) }
	}
	rr := func(t testing.TB) *peertest.Network {
		return peertest.RandomRegular(t, 1000, 6, peertest.Seed(1), peertest.TraceLimit(1<<21))
	}
	nets := []network{{"Mesh(30)", mesh(30), time.Millisecond}, {"RandomRegular(1000,6)", rr, time.Millisecond}}
	schedules := [][]int{nil, {1}}
	if !raceEnabled && !testing.Short() {
		nets = append(nets, network{"Mesh(100)", mesh(100), time.Millisecond},
			network{"Mesh(30)", mesh(30), 10 * time.Millisecond},
			network{"Mesh(100)", mesh(100), 10 * time.Millisecond},
			network{"RandomRegular(1000,6)", rr, 10 * time.Millisecond})
		schedules = append(schedules, []int{2}, []int{1, 2})
	}
	var table strings.Builder
	table.WriteString("| network | a call | rings | hit at 1 | at 2 | at 3 | at 5 | miss |\n|---|---|---|---|---|---|---|---|\n")
	for _, nw := range nets {
		synctest.Test(t, func(t *testing.T) {
			net := nw.build(t)
			rows := ringFigures(t, nw.name, net, nw.latency, schedules)
			for _, r := range rows {
				fmt.Fprintf(&table, "| %s | %v | %s |", r.net, r.latency, schedule(r.schedule))
				for _, d := range []int{1, 2, 3, 5, 0} {
					c, ok := r.calls[d]
					switch {
					case !ok:
						table.WriteString(" – |")
					case c[0] == c[1]:
						fmt.Fprintf(&table, " %d, %v |", c[0], r.took[d])
					default:
						fmt.Fprintf(&table, " %d–%d, %v |", c[0], c[1], r.took[d])
					}
				}
				table.WriteString("\n")
			}
			flood, ringed := rows[0], rows[1]
			peers := len(net.Nodes()[0].Known())
			require.Equal(t, [2]int{peers, peers}, ringed.calls[1], "a hit one hop away: one call a peer")
			require.LessOrEqual(t, float64(ringed.calls[0][1]), 1.2*float64(flood.calls[0][0]), "a miss's calls")
			if _, ok := ringed.took[5]; ok {
				require.LessOrEqual(t, ringed.took[5], flood.took[5]+nw.latency, "a hit five hops away: one call's latency more")
			}
			require.LessOrEqual(t, ringed.took[0], flood.took[0]+nw.latency, "a miss: one call's latency more")
		})
	}
	t.Log("calls (least–most of three queries), bubble time:\n" + table.String())
}

// schedule names a ring schedule as the table shows it.
func schedule(hops []int) string {
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, "%d → ", h)
	}
	return b.String() + "full"
}

// BenchmarkHitOneHopAway reports what a hit one hop away costs in
// Mesh(30), in one process with no latency: with the flood alone (as
// before rings) and with the ring of the peers' own files first. The
// time is the CPU's, nearly: no call waits on anything but the others.
//
//	go test -run NONE -bench HitOneHopAway .
func BenchmarkHitOneHopAway(b *testing.B) {
	for _, s := range []struct {
		name  string
		rings []int
	}{{"flood", nil}, {"ring", []int{1}}} {
		b.Run(s.name, func(b *testing.B) {
			net := peertest.Mesh(b, 30, peertest.TraceLimit(1<<20))
			for _, nd := range net.Nodes() {
				peer.SetRings(nd.Peer(), s.rings)
			}
			net.Node("n17").Put("near.txt", "one hop")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			calls := 0
			for b.Loop() {
				net.ResetTrace()
				_, err := net.Node("n00").Query(ctx, "near.txt")
				require.NoError(b, err)
				require.NoError(b, net.Idle(ctx))
				calls += len(net.Trace().Steps())
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/hit")
		})
	}
}
