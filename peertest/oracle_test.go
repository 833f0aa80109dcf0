package peertest_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
)

// randomGraph draws a small directed graph, its density drawn too.
func randomGraph(r *rand.Rand) ([]string, []peertest.Link) {
	k := 1 + r.IntN(8)
	p := r.Float64()
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprint("v", i)
	}
	var links []peertest.Link
	for _, a := range names {
		for _, b := range names {
			if a != b && r.Float64() < p {
				links = append(links, peertest.Link{From: a, To: b})
			}
		}
	}
	return names, links
}

// simplePaths finds, by enumerating every simple path from `from` of at
// most maxHops hops, the nodes at their ends and the fewest hops to each:
// the brute force the oracle's claim is checked against.
func simplePaths(g peertest.Graph, from string, maxHops int) map[string]int {
	best := map[string]int{}
	var walk func(path []string)
	walk = func(path []string) {
		end := path[len(path)-1]
		if h, ok := best[end]; !ok || len(path)-1 < h {
			best[end] = len(path) - 1
		}
		if len(path)-1 == maxHops {
			return
		}
		for _, next := range g[end] {
			if !slices.Contains(path, next) {
				walk(append(slices.Clip(path), next))
			}
		}
	}
	walk([]string{from})
	return best
}

// The claim: a node's files are found from X iff a simple path of at most
// MaxHistory-1 hops leads there. Reach (a BFS) is checked against the
// enumeration of simple paths, and against Route, which plays the
// protocol's rules step by step.
func TestReachIsSimplePathsWithinTheLimit(t *testing.T) {
	for seed := range uint64(500) {
		r := rand.New(rand.NewPCG(seed, 0))
		names, links := randomGraph(r)
		g := peertest.NewGraph(names, links)
		maxHistory := 1 + r.IntN(7)
		for _, from := range names {
			reach := g.Reach(from, maxHistory)
			require.Equal(t, simplePaths(g, from, maxHistory-1), reach, "seed %d from %s", seed, from)
			for _, y := range names {
				route, err := g.Route(from, maxHistory, y)
				require.NoError(t, err)
				_, want := reach[y]
				require.Equal(t, want, route.Found, "seed %d: %s finds %s", seed, from, y)
				if route.Found {
					require.GreaterOrEqual(t, route.Hops(), reach[y], "the walk's path is no shorter than the shortest")
					require.Equal(t, from, route.Path[0])
					require.Equal(t, y, route.Path[len(route.Path)-1])
				}
			}
		}
	}
}

// And a network of book nodes agrees with the oracle: what is found, by
// whom, and every call made on the way.
func TestOracleMatchesTheNetwork(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 1))
		names, links := randomGraph(r)
		maxHistory := 1 + r.IntN(6)
		net := peertest.New(t, peertest.MaxHistory(maxHistory), peertest.Seed(seed), peertest.Book())
		net.Add(names...)
		for _, l := range links {
			net.Link(l.From, l.To)
		}
		g := net.Graph()
		require.Equal(t, peertest.NewGraph(names, links), g)
		var holders []string
		for _, n := range names {
			if r.IntN(3) == 0 {
				holders = append(holders, n)
				net.Node(n).Put("f", n)
			}
		}
		for _, from := range names {
			net.ResetTrace()
			want := net.Route(from, holders...)
			got, err := net.Node(from).Query(deadline(t), "f")
			if want.Found {
				require.NoError(t, err, "seed %d from %s", seed, from)
				require.Equal(t, want.Holder, string(got), "seed %d from %s", seed, from)
			} else {
				require.ErrorIs(t, err, peer.ErrUnhandled, "seed %d from %s", seed, from)
			}
			require.Equal(t, want.Steps, net.Trace().Steps(), "seed %d from %s", seed, from)
			found := len(holders) > 0 && slices.ContainsFunc(holders, func(h string) bool {
				_, ok := net.Reach(from)[h]
				return ok
			})
			require.Equal(t, found, want.Found)
		}
	}
}

// The walk is depth first in URL order, so the answer can come from
// further away than the nearest copy.
func TestFirstFoundIsNotNearest(t *testing.T) {
	net := peertest.Edges(t, "x>a>c>y x>b>y", peertest.Book())
	net.Node("y").Put("f", "y")
	require.Equal(t, 2, net.Reach("x")["y"])
	route := net.Route("x", "y")
	require.Equal(t, []string{"x", "a", "c", "y"}, route.Path)
	require.Equal(t, 3, route.Hops())
	_, err := net.Node("x").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Equal(t, 3, net.Trace().MaxHop())
	require.Empty(t, net.Trace().Between("x", "b"))
}

func TestReachOnALine(t *testing.T) {
	net := peertest.Line(t, 8, peertest.Directed())
	require.Equal(t, map[string]int{"n0": 0, "n1": 1, "n2": 2, "n3": 3, "n4": 4, "n5": 5}, net.Reach("n0"))
	g := net.Graph()
	require.Equal(t, map[string]int{"n0": 0}, g.Reach("n0", 1))
	require.Equal(t, net.Reach("n0"), g.Reach("n0", 0), "0 means the default")
	require.Equal(t, map[string]int{"nobody": 0}, g.Reach("nobody", 6))
	r, err := g.Route("n0", 6)
	require.NoError(t, err)
	require.False(t, r.Found)
	require.Equal(t, -1, r.Hops())
	require.Len(t, r.Steps, 5)
}

func TestRouteIsBounded(t *testing.T) {
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprint("m", i)
	}
	var links []peertest.Link
	for _, a := range names {
		for _, b := range names {
			links = append(links, peertest.Link{From: a, To: b})
		}
	}
	_, err := peertest.NewGraph(names, links).Route("m0", 12)
	require.ErrorContains(t, err, "more than 65536 steps")
}
