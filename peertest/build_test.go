package peertest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/peertest"
)

// links writes a graph's links as an Edges spec of one-way links, sorted,
// which reads well in a failure message.
func links(g peertest.Graph) string {
	var s []string
	for _, l := range g.Links() {
		s = append(s, l.String())
	}
	return strings.Join(s, " ")
}

// both writes each pair of a spec of '-' links as two one-way links,
// sorted like links.
func both(t *testing.T, spec string) string {
	t.Helper()
	names, ls, err := peertest.ParseEdges(spec)
	require.NoError(t, err)
	return links(peertest.NewGraph(names, ls))
}

func TestBuilderShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB) *peertest.Network
		nodes []string
		want  string // an Edges spec
	}{
		{"line", func(t testing.TB) *peertest.Network { return peertest.Line(t, 3) },
			[]string{"n0", "n1", "n2"}, "n0-n1-n2"},
		{"line directed", func(t testing.TB) *peertest.Network { return peertest.Line(t, 3, peertest.Directed()) },
			[]string{"n0", "n1", "n2"}, "n0>n1>n2"},
		{"line of one", func(t testing.TB) *peertest.Network { return peertest.Line(t, 1) },
			[]string{"n0"}, "n0"},
		{"ring", func(t testing.TB) *peertest.Network { return peertest.Ring(t, 4) },
			[]string{"n0", "n1", "n2", "n3"}, "n0-n1-n2-n3-n0"},
		{"ring directed", func(t testing.TB) *peertest.Network { return peertest.Ring(t, 3, peertest.Directed()) },
			[]string{"n0", "n1", "n2"}, "n0>n1>n2>n0"},
		{"star", func(t testing.TB) *peertest.Network { return peertest.Star(t, 4) },
			[]string{"n0", "n1", "n2", "n3"}, "n0-n1 n0-n2 n0-n3"},
		{"star directed", func(t testing.TB) *peertest.Network { return peertest.Star(t, 3, peertest.Directed()) },
			[]string{"n0", "n1", "n2"}, "n0>n1 n0>n2"},
		{"mesh", func(t testing.TB) *peertest.Network { return peertest.Mesh(t, 3, peertest.Directed()) },
			[]string{"n0", "n1", "n2"}, "n0-n1-n2-n0"},
		{"grid", func(t testing.TB) *peertest.Network { return peertest.Grid(t, 2, 3) },
			[]string{"r0c0", "r0c1", "r0c2", "r1c0", "r1c1", "r1c2"},
			"r0c0-r0c1-r0c2 r1c0-r1c1-r1c2 r0c0-r1c0 r0c1-r1c1 r0c2-r1c2"},
		{"grid directed", func(t testing.TB) *peertest.Network { return peertest.Grid(t, 2, 2, peertest.Directed()) },
			[]string{"r0c0", "r0c1", "r1c0", "r1c1"}, "r0c0>r0c1>r1c1 r0c0>r1c0>r1c1"},
		{"tree", func(t testing.TB) *peertest.Network { return peertest.Tree(t, 2, 2) },
			[]string{"n0", "n1", "n2", "n3", "n4", "n5", "n6"}, "n0-n1 n0-n2 n1-n3 n1-n4 n2-n5 n2-n6"},
		{"tree directed", func(t testing.TB) *peertest.Network { return peertest.Tree(t, 3, 1, peertest.Directed()) },
			[]string{"n0", "n1", "n2", "n3"}, "n0>n1 n0>n2 n0>n3"},
		{"edges", func(t testing.TB) *peertest.Network { return peertest.Edges(t, "a-b b>c,c<d\ne") },
			[]string{"a", "b", "c", "d", "e"}, "a-b b>c d>c e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := tc.build(t)
			require.Equal(t, tc.nodes, net.Names())
			require.Equal(t, both(t, tc.want), links(net.Graph()))
			require.Equal(t, links(net.Graph()), links(peertest.NewGraph(net.Names(), net.Links())),
				"the recorded links are the known peers")
		})
	}
}

func TestNamesArePaddedToSortByIndex(t *testing.T) {
	net := peertest.Line(t, 12)
	names := net.Names()
	require.Equal(t, "n00", names[0])
	require.Equal(t, "n11", names[11])
	require.True(t, slices.IsSorted(names))
	require.Equal(t, []string{"n01"}, net.Node("n00").Known())
	require.Equal(t, "mem://n03", net.Node("n03").URL())
	require.Equal(t, "r03c05", peertest.GridName(12, 100, 3, 5))
}

func TestParseEdges(t *testing.T) {
	names, ls, err := peertest.ParseEdges(" x>y<z  x-y ")
	require.NoError(t, err)
	require.Equal(t, []string{"x", "y", "z"}, names)
	require.Equal(t, []peertest.Link{{"x", "y"}, {"z", "y"}, {"y", "x"}}, ls, "in order, without repeats")

	names, ls, err = peertest.ParseEdges("")
	require.NoError(t, err)
	require.Empty(t, names)
	require.Empty(t, ls)

	for spec, want := range map[string]string{
		"a--b":    "a link needs a node name on each side",
		"a-":      "a link needs a node name on each side",
		">b":      "a link needs a node name on each side",
		"a-a":     "a links to itself",
		"a-b/c":   `bad node name "b/c"`,
		"a-.b":    `bad node name ".b"`,
		"a=b":     `bad node name "a=b"`,
		"é-b":     `bad node name "é"`,
		"a-b\x00": `bad node name "b\x00"`,
	} {
		_, _, err := peertest.ParseEdges(spec)
		require.ErrorContains(t, err, want, "%q", spec)
	}
}

func TestBuilderBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB)
		want  string
	}{
		{"line of 0", func(t testing.TB) { peertest.Line(t, 0) }, "Line(0): want 1 to"},
		{"ring of 2", func(t testing.TB) { peertest.Ring(t, 2) }, "Ring(2): want 3 to"},
		{"negative star", func(t testing.TB) { peertest.Star(t, -1) }, "Star(-1)"},
		{"huge mesh", func(t testing.TB) { peertest.Mesh(t, 1<<21) }, "Mesh(2097152)"},
		{"grid 0", func(t testing.TB) { peertest.Grid(t, 0, 3) }, "Grid(0, 3)"},
		{"grid overflow", func(t testing.TB) { peertest.Grid(t, 1<<40, 1<<40) }, "at most"},
		{"tree arity 0", func(t testing.TB) { peertest.Tree(t, 0, 3) }, "Tree(0, 3)"},
		{"tree too deep", func(t testing.TB) { peertest.Tree(t, 10, 60) }, "more than"},
		{"regular odd", func(t testing.TB) { peertest.RandomRegular(t, 5, 3) }, "k*d even"},
		{"regular d >= k", func(t testing.TB) { peertest.RandomRegular(t, 4, 4) }, "0 <= d < k"},
		{"gnp p > 1", func(t testing.TB) { peertest.RandomGNP(t, 4, 1.5) }, "0 <= p <= 1"},
		{"gnp NaN", func(t testing.TB) { peertest.RandomGNP(t, 4, nan()) }, "0 <= p <= 1"},
		{"edges directed", func(t testing.TB) { peertest.Edges(t, "a-b", peertest.Directed()) }, "write a>b"},
		{"edges bad", func(t testing.TB) { peertest.Edges(t, "a-") }, "a node name on each side"},
		{"bad option", func(t testing.TB) { peertest.Line(t, 2, peertest.MaxHistory(0)) }, "MaxHistory(0)"},
		{"bad trace limit", func(t testing.TB) { peertest.New(t, peertest.TraceLimit(-1)) }, "TraceLimit(-1)"},
		{"nil configure", func(t testing.TB) { peertest.New(t, peertest.Configure(nil)) }, "Configure(nil)"},
		{"bad name", func(t testing.TB) { peertest.New(t).Add("a b") }, `bad node name "a b"`},
		{"name twice", func(t testing.TB) { peertest.New(t).Add("a", "a") }, `"a" added twice`},
		{"unknown node", func(t testing.TB) { peertest.Line(t, 2).Node("zz") }, `no node "zz"`},
		{"self link", func(t testing.TB) { peertest.Line(t, 2).Link("n0", "n0") }, "cannot know itself"},
		{"link to nobody", func(t testing.TB) { peertest.Line(t, 2).Link("n0", "x") }, `no node "x"`},
		{"put outside", func(t testing.TB) { peertest.Line(t, 1).Node("n0").Put("../x", "") }, "not a clean relative"},
		{"restart mode", func(t testing.TB) { peertest.Line(t, 1).Node("n0").Restart(peertest.DirMode(7)) }, "unknown DirMode 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, fatalOf(t, tc.build), tc.want)
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestRandomRegular(t *testing.T) {
	for _, tc := range []struct{ k, d int }{{10, 3}, {50, 4}, {7, 6}, {6, 0}, {200, 7}} {
		t.Run(fmt.Sprint(tc.k, "x", tc.d), func(t *testing.T) {
			net := peertest.RandomRegular(t, tc.k, tc.d, peertest.Seed(uint64(tc.k)))
			g := net.Graph()
			require.Len(t, g, tc.k)
			for name, known := range g {
				require.Len(t, known, tc.d, "degree of %s", name)
				for _, p := range known {
					require.Contains(t, g[p], name, "undirected: %s>%s has its way back", name, p)
				}
			}
		})
	}
	t.Run("directed", func(t *testing.T) {
		g := peertest.RandomRegular(t, 30, 29, peertest.Directed(), peertest.Seed(1)).Graph()
		for name, known := range g {
			require.Len(t, known, 29, "out-degree of %s", name)
		}
		g = peertest.RandomRegular(t, 40, 3, peertest.Directed(), peertest.Seed(2)).Graph()
		for name, known := range g {
			require.Len(t, known, 3, "out-degree of %s", name)
			require.NotContains(t, known, name)
		}
	})
}

func TestRandomGNP(t *testing.T) {
	for _, directed := range []bool{false, true} {
		t.Run(fmt.Sprint("directed=", directed), func(t *testing.T) {
			opts := []peertest.Option{peertest.Seed(7)}
			if directed {
				opts = append(opts, peertest.Directed())
			}
			const k = 60
			require.Empty(t, peertest.RandomGNP(t, k, 0, opts...).Graph().Links())
			require.Len(t, peertest.RandomGNP(t, 8, 1, opts...).Graph().Links(), 8*7)

			g := peertest.RandomGNP(t, k, 0.1, opts...).Graph()
			n := len(g.Links())
			// k(k-1) = 3540 ordered pairs at p = 0.1: 354 links expected,
			// with a standard deviation of 18 (directed) or 25
			// (undirected, links come in pairs); 6 sigma is far.
			require.InDelta(t, 354, n, 150, "links")
			if !directed {
				for _, l := range g.Links() {
					require.Contains(t, g[l.To], l.From)
				}
			}
		})
	}
}

func TestSameSeedSameGraph(t *testing.T) {
	for _, build := range []func(testing.TB, uint64) *peertest.Network{
		func(t testing.TB, s uint64) *peertest.Network {
			return peertest.RandomRegular(t, 40, 4, peertest.Seed(s))
		},
		func(t testing.TB, s uint64) *peertest.Network {
			return peertest.RandomGNP(t, 40, 0.1, peertest.Seed(s))
		},
		func(t testing.TB, s uint64) *peertest.Network {
			return peertest.RandomGNP(t, 40, 0.1, peertest.Seed(s), peertest.Directed())
		},
	} {
		a, b, c := links(build(t, 1).Graph()), links(build(t, 1).Graph()), links(build(t, 2).Graph())
		require.Equal(t, a, b)
		require.NotEqual(t, a, c)
	}
}
