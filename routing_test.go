package peer_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

// confirmations are the searches an asker made of the holders a router
// named: a history at the limit, of the asker alone.
func confirmations(tr peertest.Trace, asker string, maxHistory int) peertest.Trace {
	return tr.Filter(func(c peertest.Call) bool {
		if c.Method != peertest.MethodSearch || c.Caller != asker || len(c.History) != maxHistory-1 {
			return false
		}
		for _, h := range c.History {
			if h != asker {
				return false
			}
		}
		return true
	})
}

// A node announces each file once hashed, with nobody searching: Start
// has its files hashed. It announces them again every ProvideInterval.
func TestRouterAnnouncesFiles(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.New(t, peertest.Routed(r))
	nd := net.Add("a")[0]
	hash := putRandom(t, nd.Dir(), "song.ogg", 3000, 1)
	nd.Crash()
	nd.Restart(peertest.KeepDir)
	ctx := fetchDeadline(t)
	require.NoError(t, r.AwaitProvides(ctx, nd.URL(), hash, 1))

	// A file added later is announced once hashed (Index, or a search).
	later := putRandom(t, nd.Dir(), "later.txt", 10, 2)
	require.NoError(t, nd.Peer().Index(ctx))
	require.NoError(t, r.AwaitProvides(ctx, nd.URL(), later, 1))
	require.Equal(t, 1, r.Provides(nd.URL(), hash), "not announced again within the interval")

	// With a short interval (and scans), each hash is announced again.
	r2 := peertest.NewRouter()
	net2 := peertest.New(t, peertest.Configure(func(c *peer.Config) {
		c.Router = r2.For(c.URL)
		c.ProvideInterval = time.Millisecond
		c.PingInterval = 10 * time.Millisecond // the scan's cadence
	}))
	b := net2.Add("b")[0]
	again := putRandom(t, b.Dir(), "again.bin", 100, 3)
	require.NoError(t, b.Peer().Index(ctx))
	require.NoError(t, r2.AwaitProvides(ctx, b.URL(), again, 3))

	_, err := peer.New(peer.Config{URL: "mem://x", Dir: t.TempDir(), ProvideInterval: -time.Second})
	require.ErrorContains(t, err, "ProvideInterval is negative")
}

// A search by hash asks the router first and the holder it names
// directly: one call, no flood. A search by name floods as ever.
func TestSearchByHashAsksRouterFirst(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.Line(t, 6, peertest.Routed(r))
	holder := net.Node("n5")
	hash := holders(t, net, "deep/file.bin", 5000, "n5")
	ctx := fetchDeadline(t)
	require.NoError(t, r.AwaitProvides(ctx, holder.URL(), hash, 1))
	putRandom(t, net.Node("n0").Dir(), "mine.bin", 5000, 7) // the same contents, here too
	require.NoError(t, net.Node("n0").Peer().Index(ctx))

	net.ResetTrace()
	hits, err := net.Node("n0").Peer().Search(ctx, "sha256:"+hash)
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{
		{Name: "mine.bin", Size: 5000, Hash: hash, Peer: "mem://n0", Hops: 0},
		{Name: "deep/file.bin", Size: 5000, Hash: hash, Peer: holder.URL(), Hops: 1},
	}, hits)
	tr := net.Trace()
	require.Len(t, tr, 1, "one call: the holder, asked directly\n%s", tr)
	require.Equal(t, "n5", tr[0].Callee)
	require.Len(t, confirmations(tr, "n0", net.MaxHistory()), 1)

	// SearchFunc likewise: both holders the router names, n0 now too.
	require.NoError(t, r.AwaitProvides(ctx, "mem://n0", hash, 1))
	var got []peer.Hit
	require.NoError(t, net.Node("n1").Peer().SearchFunc(ctx, "sha256:"+hash, func(h peer.Hit) bool {
		got = append(got, h)
		return true
	}))
	require.ElementsMatch(t, []peer.Hit{
		{Name: "deep/file.bin", Size: 5000, Hash: hash, Peer: holder.URL(), Hops: 1},
		{Name: "mine.bin", Size: 5000, Hash: hash, Peer: "mem://n0", Hops: 1},
	}, got)

	// By name, the network is searched as before.
	net.ResetTrace()
	hits, err = net.Node("n0").Peer().Search(ctx, "file.bin")
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "deep/file.bin", Size: 5000, Hash: hash, Peer: holder.URL(), Hops: 5}}, hits)
	require.Empty(t, confirmations(net.Trace(), "n0", net.MaxHistory()))
}

// A fetch by name searches by name, as ever, then asks the router, not
// the network, for the holders of the contents it chose.
func TestDownloadByNameAsksRouterForHolders(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.Line(t, 6, peertest.Routed(r))
	hash := holders(t, net, "deep/file.bin", 3<<20, "n5")
	ctx := fetchDeadline(t)
	require.NoError(t, r.AwaitProvides(ctx, "mem://n5", hash, 1))

	net.ResetTrace()
	res, err := net.Node("n0").Peer().Download(ctx, "deep/file.bin", net.Node("n0").Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, []string{"mem://n5"}, res.Holders)
	require.Equal(t, hash, fileHash(t, filepath.Join(net.Node("n0").Dir(), "deep/file.bin")))
	tr := net.Trace()
	byHash := tr.Filter(func(c peertest.Call) bool { return c.Method == peertest.MethodSearch && c.Name == "sha256:"+hash })
	require.Len(t, byHash, 1, "the holder alone is asked by hash\n%s", byHash)
	require.Equal(t, confirmations(tr, "n0", net.MaxHistory()), byHash)
	require.Len(t, tr.Filter(func(c peertest.Call) bool { return c.Method == peertest.MethodSearch }), 6, "five for the name, down the line, and one by hash")
}

// Download("sha256:<hex>") fetches contents by their hash alone, under
// their nearest holder's name (the next one's if that name is taken), or
// finds them already here; without a router it floods.
func TestDownloadByHash(t *testing.T) {
	net := peertest.Edges(t, "a-b b-c c-d x-a y-a")
	hash := putRandom(t, net.Node("b").Dir(), "near.bin", 3<<20, 9)
	putRandom(t, net.Node("d").Dir(), "far.bin", 3<<20, 9)
	for _, nd := range []string{"b", "d"} {
		require.NoError(t, net.Node(nd).Peer().Index(context.Background()))
	}
	a := net.Node("a")
	ctx := fetchDeadline(t)

	res, err := a.Peer().Download(ctx, "sha256:"+strings.ToUpper(hash), a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, "near.bin", res.Name)
	require.Equal(t, hash, res.Hash)
	require.Equal(t, int64(3<<20), res.Size)
	require.Equal(t, []string{"mem://b", "mem://d"}, res.Holders)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), "near.bin")))

	// The nearest holder's name taken by other contents: the next one's.
	x := net.Node("x")
	x.Put("near.bin", "other contents")
	res, err = x.Peer().Download(ctx, "sha256:"+hash, x.Secret())
	require.NoError(t, err)
	require.Equal(t, "far.bin", res.Name)
	require.Equal(t, hash, fileHash(t, filepath.Join(x.Dir(), "far.bin")))
	require.Equal(t, "other contents", readFile(t, filepath.Join(x.Dir(), "near.bin")))

	// Every name taken: a clear error, nothing written.
	y := net.Node("y")
	y.Put("near.bin", "mine")
	y.Put("far.bin", "mine too")
	res, err = y.Peer().Download(ctx, "sha256:"+hash, y.Secret())
	require.ErrorContains(t, err, "is taken in Dir")
	require.Equal(t, peer.FetchResult{Name: "sha256:" + hash, Size: 3 << 20, Hash: hash}, res)
	require.Equal(t, []string{"far.bin", "near.bin"}, y.Files())

	// Here already, under its own name, once hashed.
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(a.Dir(), "near.bin"), old, old))
	require.NoError(t, a.Peer().Index(ctx))
	res, err = a.Peer().Download(ctx, "sha256:"+hash, a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.FetchResult{Name: "near.bin", Status: peer.AlreadyHere, Size: 3 << 20}, res)

	// Nobody holds them.
	_, err = a.Peer().Download(ctx, "sha256:"+sha("nowhere"), a.Secret())
	require.ErrorIs(t, err, peer.ErrUnhandled)

	// The secret is checked first, as for a name.
	_, err = a.Peer().Download(ctx, "sha256:"+hash, "wrong")
	require.ErrorIs(t, err, peer.ErrAccessDenied)
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// A fetch by hash through the router finds a holder far away in a few
// calls, where the same fetch without it floods the network: both in the
// same network, bytes identical.
func TestDownloadByHashThroughRouter(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.RandomRegular(t, 40, 4, peertest.Seed(18), peertest.Configure(func(c *peer.Config) {
		if c.URL != "mem://n01" { // n01 floods
			c.Router = r.For(c.URL)
		}
	}))
	hash := holders(t, net, "wanted.bin", 2<<20, "n39")
	ctx := fetchDeadline(t)
	require.NoError(t, r.AwaitProvides(ctx, "mem://n39", hash, 1))

	count := func(getter string) (int, string) {
		net.ResetTrace()
		nd := net.Node(getter)
		res, err := nd.Peer().Download(ctx, "sha256:"+hash, nd.Secret())
		require.NoError(t, err)
		require.Equal(t, peer.Fetched, res.Status)
		require.Equal(t, []string{"mem://n39"}, res.Holders)
		require.Equal(t, hash, fileHash(t, filepath.Join(nd.Dir(), "wanted.bin")))
		require.NoError(t, net.Idle(ctx))
		tr := net.Trace()
		return len(tr), fmt.Sprint(len(tr.Filter(func(c peertest.Call) bool { return c.Method == peertest.MethodSearch })), " searches")
	}
	routed, routedSearches := count("n00")
	flooded, floodSearches := count("n01")
	t.Logf("fetch by hash of a 2 MiB file in RandomRegular(40, 4): %d calls through the router (%s), %d flooding (%s)", routed, routedSearches, flooded, floodSearches)
	// One search of the holder, its piece list, two pieces.
	require.Equal(t, 4, routed)
	require.Greater(t, flooded, 10*routed)
}

// A router's answer is hostile: bad URLs are never called, this node's
// own and the policy's refusals neither, at most 16 URLs are asked, the
// non-holders it names pass the search to nobody, and when none holds
// the contents the network is searched as without a router.
func TestRouterLiesAreBounded(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.Edges(t, "a-b b-c c-d", peertest.Routed(r), peertest.Configure(func(c *peer.Config) {
		c.PeerPolicy = func(u *url.URL) error {
			if strings.HasPrefix(u.Hostname(), "10.") {
				return errors.New("not on our LAN")
			}
			return nil
		}
	}))
	net.Add("e", "f")
	net.Connect("e", "f")
	hash := holders(t, net, "x.bin", 100, "d")
	r.Lie(func(asker, _ string) []string {
		urls := []string{
			asker, "", "not a url", "http://0.0.0.0:80", "http://[fe80::1]:80", "http://10.1.2.3:80",
			"http://user:pw@127.0.0.1:1/", "http://127.0.0.1:1/admin?x=1", "mem://" + strings.Repeat("z", 5000),
			"mem://e", "mem://f", "mem://e",
		}
		for i := range 1000 {
			urls = append(urls, fmt.Sprintf("mem://nowhere-%d", i))
		}
		return append(urls, "mem://d") // the holder, past the cut
	})
	ctx := fetchDeadline(t)

	// b floods and finds d, after asking the router's 16 first.
	net.ResetTrace()
	hits, err := net.Node("b").Peer().Search(ctx, "sha256:"+hash)
	require.NoError(t, err)
	require.Equal(t, []peer.Hit{{Name: "x.bin", Size: 100, Hash: hash, Peer: "mem://d", Hops: 2}}, hits)
	tr := net.Trace()
	asked := confirmations(tr, "b", net.MaxHistory())
	var callees []string
	for _, c := range asked {
		callees = append(callees, c.Callee)
	}
	want := []string{"e", "f"}
	for i := range 14 {
		want = append(want, fmt.Sprintf("mem://nowhere-%d", i))
	}
	require.ElementsMatch(t, want, callees)
	for _, c := range tr {
		require.False(t, strings.HasPrefix(c.Callee, "http"), "called %s", c.Callee)
		require.NotContains(t, []string{"e", "f"}, c.Caller, "a non-holder passed the search on: %s", c)
	}

	// A fetch by hash the same way: from d, by flood.
	res, err := net.Node("a").Peer().Download(ctx, "sha256:"+hash, net.Node("a").Secret())
	require.NoError(t, err)
	require.Equal(t, []string{"mem://d"}, res.Holders)
}

// A holder the router names that sends wrong bytes is dropped, and the
// fetch goes on by flood, from an honest holder.
func TestRouterLyingHolderFallsBackToFlood(t *testing.T) {
	r := peertest.NewRouter()
	net := peertest.Edges(t, "a-b b-c", peertest.Routed(r))
	liar := net.Add("liar")[0] // known to nobody: only the router names it
	hash := putRandom(t, liar.Dir(), "bait.bin", 3<<20, 4)
	putRandom(t, net.Node("c").Dir(), "real.bin", 3<<20, 4)
	require.NoError(t, liar.Peer().Index(context.Background()))
	require.NoError(t, net.Node("c").Peer().Index(context.Background()))
	net.FaultNode("liar", peertest.Corrupt().Only(peertest.MethodRange))
	r.Lie(func(string, string) []string { return []string{liar.URL()} })
	a := net.Node("a")
	ctx := fetchDeadline(t)

	res, err := a.Peer().Download(ctx, "sha256:"+hash, a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, []string{"mem://c"}, res.Holders)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), res.Name)))
	require.Equal(t, "bait.bin", res.Name, "the name is chosen before the fetch, from the nearest holder")
	require.NotEmpty(t, net.Trace().Filter(func(c peertest.Call) bool {
		return c.Callee == "liar" && c.Method == peertest.MethodRange
	}), "the liar was asked for pieces first")
}

// blockingRouter's Provide waits for its context, as a router whose
// network has gone would.
type blockingRouter struct{ started chan string }

func (b blockingRouter) Provide(ctx context.Context, hash string) error {
	b.started <- hash
	<-ctx.Done()
	return ctx.Err()
}

func (blockingRouter) FindHolders(ctx context.Context, hash string, max int) ([]string, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Close ends the announcements at work, and nothing outlives it (goleak,
// in TestMain).
func TestRouterCloseEndsAnnouncing(t *testing.T) {
	dir := t.TempDir()
	hash := putRandom(t, dir, "f.bin", 10, 5)
	b := blockingRouter{started: make(chan string, 8)}
	n, err := peer.New(peer.Config{URL: "mem://a", Dir: dir, Router: b, Transport: transport.NewMemory(), PingInterval: -1, TargetPeers: -1})
	require.NoError(t, err)
	require.NoError(t, n.Start())
	require.Equal(t, hash, <-b.started)
	require.NoError(t, n.Close())
	_, err = n.Search(context.Background(), "sha256:"+hash)
	require.ErrorIs(t, err, peer.ErrClosed)
	require.NoError(t, os.Remove(filepath.Join(dir, "f.bin")))
}

// Holders a router names that never answer do not hold up a search: once
// the real holder has confirmed, the others get as long again, and if
// none confirms, the search floods after a quarter of QueryTimeout. On
// the bubble's clock, so the times are exact.
func TestRouterBlackHolesDoNotHoldUpSearch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := peertest.NewRouter()
		net := peertest.Edges(t, "a-b b-c", peertest.Routed(r), peertest.Configure(func(c *peer.Config) {
			c.QueryTimeout = 20 * time.Second
		}))
		var holes []string
		for i := range 15 {
			name := fmt.Sprintf("hole%d", i)
			net.Add(name)
			net.FaultNode(name, peertest.BlackHole())
			holes = append(holes, "mem://"+name)
		}
		hash := holders(t, net, "x.bin", 100, "c")
		ctx := context.Background()

		r.Lie(func(string, string) []string { return append(slices.Clone(holes), "mem://c") })
		start := time.Now()
		hits, err := net.Node("a").Peer().Search(ctx, "sha256:"+hash)
		require.NoError(t, err)
		require.Equal(t, []peer.Hit{{Name: "x.bin", Size: 100, Hash: hash, Peer: "mem://c", Hops: 1}}, hits)
		require.Less(t, time.Since(start), time.Second, "the black holes held up the search")

		r.Lie(func(string, string) []string { return holes })
		start = time.Now()
		hits, err = net.Node("a").Peer().Search(ctx, "sha256:"+hash)
		require.NoError(t, err)
		require.Equal(t, []peer.Hit{{Name: "x.bin", Size: 100, Hash: hash, Peer: "mem://c", Hops: 2}}, hits)
		took := time.Since(start)
		require.GreaterOrEqual(t, took, 5*time.Second)
		require.Less(t, took, 6*time.Second, "the search waited for the black holes past its share")
	})
}
