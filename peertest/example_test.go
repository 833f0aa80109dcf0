package peertest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
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

	net := peertest.Edges(t, "a-b a-c b-d c-d")
	net.Node("d").Put("song.ogg", "la la")
	net.FaultLink("a", "b", peertest.Refuse())

	got, err := net.Node("a").Query(context.Background(), "song.ogg")
	fmt.Println(string(got), err)
	fmt.Println("a knows", net.Node("a").Known())
	fmt.Println("reached", net.Trace().Reached("song.ogg"))
	fmt.Print(traceLines(net))
	// Output:
	// la la <nil>
	// a knows [c]
	// reached [a c d]
	// #1 test>a query "song.ogg" [] hop 0: ok
	// #2<#1 a>b query "song.ogg" [a] hop 1: unreachable (link a>b: refuse)
	// #3<#1 a>c query "song.ogg" [a] hop 1: ok
	// #4<#3 c>d query "song.ogg" [a c] hop 2: ok
}

func traceLines(net *peertest.Network) string {
	s := ""
	for _, l := range net.Trace().Lines() {
		s += l + "\n"
	}
	return s
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
