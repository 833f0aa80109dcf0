package peertest_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/stretchr/testify/require"
)

// newExampleT stands in for the *testing.T that a real test gets, which an
// example has not; done runs the cleanups a test would.
func newExampleT() (testing.TB, func()) {
	t := &exampleTB{}
	return t, func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}
}

type exampleTB struct {
	testing.TB // nil: peertest calls only the methods below
	cleanups   []func()
	failed     bool
}

func (t *exampleTB) Helper()                         {}
func (t *exampleTB) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (t *exampleTB) Failed() bool                    { return t.failed }
func (t *exampleTB) Logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (t *exampleTB) Error(args ...any)               { t.failed = true; fmt.Println(args...) }
func (t *exampleTB) Fatal(args ...any)               { t.Error(args...); panic("fatal") }
func (t *exampleTB) Fatalf(format string, args ...any) {
	t.Fatal(fmt.Sprintf(format, args...))
}

func (t *exampleTB) TempDir() string {
	dir, err := os.MkdirTemp("", "peertest-example-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Test a topology of your own: build it from an edge list, put a file,
// break a link, and check what the query found and whom it reached.
func Example() {
	t, done := newExampleT()
	defer done()

	// One peer at a time, so that every run drops b before c answers.
	net := peertest.Edges(t, "a-b a-c b-d c-d", peertest.Configure(func(c *peer.Config) { c.Fanout = 1 }))
	net.Node("d").Put("song.ogg", "la la")
	net.FaultLink("a", "b", peertest.Refuse())

	got, err := net.Node("a").Query(context.Background(), "song.ogg")
	fmt.Println(string(got), err)
	fmt.Println("a knows", net.Node("a").Known())
	fmt.Println("reached", net.Trace().Reached("song.ogg"))
	fmt.Print(calls(net))
	// Output:
	// la la <nil>
	// a knows [c]
	// reached [a c d]
	// hop 0 test>a: ok
	// hop 1 a>b: unreachable
	// hop 1 a>c: ok
	// hop 2 c>d: ok
}

// calls lists the trace's calls by hop, caller and callee: a node asks
// its peers at once, so the order in which they start is the scheduler's.
func calls(net *peertest.Network) string {
	var lines []string
	for _, c := range net.Trace() {
		lines = append(lines, fmt.Sprintf("hop %d %s>%s: %s", c.Hop(), cmp.Or(c.Caller, "test"), c.Callee, c.Outcome()))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// The oracle says which nodes' files a query can find: here, on a line of
// eight, those at most MaxHistory-1 = 5 hops away.
func ExampleGraph_Reach() {
	t, done := newExampleT()
	defer done()

	net := peertest.Line(t, 8)
	fmt.Println(net.Reach("n0"))
	// Output:
	// map[n0:0 n1:1 n2:2 n3:3 n4:4 n5:5]
}

// Route predicts the walk itself: depth first, peers in URL order.
func ExampleGraph_Route() {
	g := peertest.NewGraph(nil, []peertest.Link{{"x", "a"}, {"a", "y"}, {"x", "b"}, {"b", "y"}})
	r, _ := g.Route("x", peer.DefaultMaxHistory, "y")
	fmt.Println(r.Path, r.Steps)
	// Output:
	// [x a y] [x>a [x] a>y [x a]]
}

// A partition refuses calls across it, so the protocol drops the peers on
// the other side: healing alone does not bring them back.
func ExampleNetwork_Partition() {
	t, done := newExampleT()
	defer done()

	net := peertest.Line(t, 3)
	net.Node("n2").Put("f", "far")
	ctx := context.Background()

	net.Partition([]string{"n0", "n1"}, []string{"n2"})
	_, err := net.Node("n0").Query(ctx, "f")
	fmt.Println(errors.Is(err, peer.ErrUnhandled), net.Node("n1").Known())

	net.Heal()
	net.Relink()
	got, _ := net.Node("n0").Query(ctx, "f")
	fmt.Println(string(got))
	// Output:
	// true [n0]
	// far
}

// A black hole holds a call until the caller's deadline; the protocol does
// not blame the peer for it.
func ExampleBlackHole() {
	t, done := newExampleT()
	defer done()

	net := peertest.Edges(t, "a>b")
	net.FaultNode("b", peertest.BlackHole())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := net.Node("a").Query(ctx, "f")
	fmt.Println(err, net.Node("a").Known())
	// Output:
	// context deadline exceeded [b]
}

// The README's example, kept true by running it.
func TestREADMEDiamond(t *testing.T) {
	net := peertest.Edges(t, "a-b a-c b-d c-d")
	net.Node("d").Put("song.ogg", "la la")
	net.FaultLink("a", "b", peertest.Refuse())

	got, err := net.Node("a").Query(context.Background(), "song.ogg")
	require.NoError(t, err)
	require.Equal(t, "la la", string(got))
	require.Equal(t, 2, net.Trace().MaxHop())
}

// The README's network on the bubble's clock: 10 ms on every call, and a
// miss that crosses five hops of them, in no wall time. synctest.Test
// fails if a node's goroutine outlives the bubble or blocks outside it.
func TestREADMESlowNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.RandomRegular(t, 300, 4, peertest.Seed(7))
		for _, nd := range net.Nodes() {
			net.FaultNode(nd.Name(), peertest.Latency(10*time.Millisecond))
		}
		start := time.Now()
		_, err := net.Node("n000").Query(context.Background(), "nowhere.txt")
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Less(t, time.Since(start), 100*time.Millisecond) // bubble time: no flake
	})
}

// A network whose nodes share a content router: the holder announces the
// hash of its file once it has hashed it, and a search for that hash
// asks the holder the router names, one call, instead of flooding.
func ExampleRouter() {
	t, done := newExampleT()
	defer done()

	r := peertest.NewRouter()
	net := peertest.Line(t, 5, peertest.Routed(r))
	holder := net.Node("n4")
	holder.Put("song.ogg", "la la")
	long := time.Now().Add(-time.Hour) // settled, so the node hashes it
	os.Chtimes(filepath.Join(holder.Dir(), "song.ogg"), long, long)
	ctx := context.Background()
	holder.Peer().Index(ctx)
	hash := fmt.Sprintf("%x", sha256.Sum256([]byte("la la")))
	r.AwaitProvides(ctx, holder.URL(), hash, 1)

	net.ResetTrace()
	hits, err := net.Node("n0").Peer().Search(ctx, "sha256:"+hash)
	fmt.Println(err, hits[0].Peer, hits[0].Hops, len(net.Trace()))
	// Output:
	// <nil> mem://n4 1 1
}
