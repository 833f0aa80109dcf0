package peer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
)

// putOld puts a file on nd and makes it an hour old, so that the node
// trusts its stamp and hashes it (see filestamp.Settled).
func putOld(t testing.TB, nd *peertest.Node, name, content string) {
	t.Helper()
	nd.Put(name, content)
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(nd.Dir(), filepath.FromSlash(name)), old, old))
}

// indexAll hashes every node's files.
func indexAll(t testing.TB, net *peertest.Network) {
	t.Helper()
	for _, nd := range net.Nodes() {
		require.NoError(t, nd.Peer().Index(context.Background()))
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// A search finds every file whose name holds each word, case aside, on
// the node and every node within the limit, once per holder and name,
// with sizes, hashes and hops; what the oracle predicts.
func TestSearch(t *testing.T) {
	net := peertest.Edges(t, "a-b b-c c-d d-e e-f f-g a-x")
	putOld(t, net.Node("a"), "Songs/Blue Moon.ogg", "a's moon")
	putOld(t, net.Node("c"), "blue moon (live).OGG", "c's moon, longer")
	putOld(t, net.Node("x"), "moon.txt", "not blue")
	putOld(t, net.Node("f"), "blue moon.ogg", "five hops")
	putOld(t, net.Node("g"), "blue moon.ogg", "six hops: too far")
	indexAll(t, net)

	hits, err := net.Node("a").Peer().Search(broadcastCtx(t), "MOON blue")
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{
		{Name: "Songs/Blue Moon.ogg", Size: 8, Hash: sha("a's moon"), Peer: "mem://a", Hops: 0},
		{Name: "blue moon (live).OGG", Size: 16, Hash: sha("c's moon, longer"), Peer: "mem://c", Hops: 2},
		{Name: "blue moon.ogg", Size: 9, Hash: sha("five hops"), Peer: "mem://f", Hops: 5},
	}, hits)
	require.Equal(t, net.SearchHits("a", "MOON blue"), hits)

	hits, err = net.Node("a").Peer().Search(broadcastCtx(t), "sha256:"+sha("not blue"))
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "moon.txt", Size: 8, Hash: sha("not blue"), Peer: "mem://x", Hops: 1}}, hits)

	_, err = net.Node("a").Peer().Search(broadcastCtx(t), "sha256:nothex")
	require.ErrorIs(t, err, peer.ErrBadSearch)
	require.NoError(t, net.Idle(broadcastCtx(t)))
}

// In 1,000-node random graphs, a search returns exactly the hits the
// oracle predicts, and costs at most a call a directed link (RandomRegular(1000, 6): 6,000): on the
// bubble's clock, with the same latency on every call, copies arrive in
// order of their hops.
func TestSearchMatchesOracleOnRandomGraphs(t *testing.T) {
	for seed := range uint64(2) {
		synctest.Test(t, func(t *testing.T) {
			net := peertest.RandomRegular(t, 1000, 6, peertest.Seed(seed), peertest.TraceLimit(1<<20))
			r := rand.New(rand.NewPCG(seed, 2))
			nodes := net.Nodes()
			for i := range 60 {
				nd := nodes[r.IntN(len(nodes))]
				putOld(t, nd, fmt.Sprintf("track %02d.ogg", i%20), fmt.Sprintf("contents %d", i%30))
			}
			indexAll(t, net)
			withLatency(net, time.Millisecond)
			for _, from := range []string{nodes[0].Name(), nodes[500].Name()} {
				for _, q := range []string{"track", "TRACK 07", "sha256:" + sha("contents 3")} {
					net.ResetTrace()
					hits, err := net.Node(from).Peer().Search(broadcastCtx(t), q)
					require.NoError(t, err)
					require.Equal(t, net.SearchHits(from, q), hits, "seed %d from %s: %q", seed, from, q)
					calls := len(net.Trace().Filter(func(c peertest.Call) bool { return c.Method == peertest.MethodSearch }))
					t.Logf("seed %d from %s, %q: %d hits, %d calls (6,000 directed links)", seed, from, q, len(hits), calls)
					require.LessOrEqual(t, calls, 6*1000, "seed %d from %s: %q", seed, from, q)
				}
			}
		})
	}
}

// A file changed between two searches is reported with its new size and
// hash; while its new version is not hashed, with no hash, never the old.
func TestSearchSeesChanges(t *testing.T) {
	net := peertest.Edges(t, "a-b")
	putOld(t, net.Node("b"), "f.txt", "version one")
	indexAll(t, net)
	hits, err := net.Node("a").Peer().Search(broadcastCtx(t), "f.txt")
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "f.txt", Size: 11, Hash: sha("version one"), Peer: "mem://b", Hops: 1}}, hits)

	net.Node("b").Put("f.txt", "version two, longer")
	hits, err = net.Node("a").Peer().Search(broadcastCtx(t), "f.txt")
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "f.txt", Size: 19, Hash: "", Peer: "mem://b", Hops: 1}}, hits,
		"just written: not hashed yet, and the old hash is not reported")

	putOld(t, net.Node("b"), "f.txt", "version 3, longer")
	indexAll(t, net)
	hits, err = net.Node("a").Peer().Search(broadcastCtx(t), "f.txt")
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "f.txt", Size: 17, Hash: sha("version 3, longer"), Peer: "mem://b", Hops: 1}}, hits)
	require.NoError(t, net.Idle(broadcastCtx(t)))
}

// Config.MaxHits caps a search, and SearchFunc shows hits as they come
// and stops when asked.
func TestSearchCapAndStream(t *testing.T) {
	net := peertest.Star(t, 10, peertest.Configure(func(c *peer.Config) { c.MaxHits = 5 }))
	for _, nd := range net.Nodes() {
		putOld(t, nd, "song of "+nd.Name(), nd.Name())
	}
	hits, err := net.Node("n0").Peer().Search(broadcastCtx(t), "song")
	require.NoError(t, err)
	require.Len(t, hits, 5)

	var got []peer.Hit
	err = net.Node("n0").Peer().SearchFunc(broadcastCtx(t), "song", func(h peer.Hit) bool {
		got = append(got, h)
		return len(got) < 2
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.NoError(t, net.Idle(broadcastCtx(t)))
}

// Book nodes cannot search: a search passes over them, and finds nothing
// behind them; the first extension call a book node answers with a fault
// teaches that, and it is asked nothing from then on.
func TestSearchPassesOverBookNodes(t *testing.T) {
	net := peertest.Edges(t, "a-b b-c a-d", peertest.Book("b"))
	putOld(t, net.Node("b"), "song.ogg", "on b")
	putOld(t, net.Node("c"), "song.ogg", "on c")
	putOld(t, net.Node("d"), "song.ogg", "on d")
	indexAll(t, net)
	for range 2 {
		hits, err := net.Node("a").Peer().Search(broadcastCtx(t), "song")
		require.NoError(t, err)
		require.Equal(t, net.SearchHits("a", "song"), hits)
		require.Equal(t, []string{"mem://d"}, peers(hits))
	}
	require.Len(t, net.Trace().Filter(func(c peertest.Call) bool {
		return c.Method == peertest.MethodSearch && c.Callee == "b"
	}), 1, "b was asked once, and answered a fault")
	require.Equal(t, []string{"b", "d"}, net.Node("a").Known(), "and was kept")
}

func peers(hits []peer.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Peer)
	}
	return out
}
