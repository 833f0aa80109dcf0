package peertest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
)

func TestTraceOfALine(t *testing.T) {
	net := peertest.Line(t, 4)
	net.Node("n3").Put("f", "x")
	got, err := net.Node("n0").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Equal(t, "x", string(got))
	tr := net.Trace()
	// First the ring of n0's peers' own files: the history padded so
	// that n1 passes it to nobody; then the full depth.
	require.Equal(t, []string{
		`#1 test>n0 query "f" [] hop 0: ok`,
		`#2<#1 n0>n1 query "f" [n0 n0 n0 n0 n0] hop 1: fault 100`,
		`#3<#1 n0>n1 query "f" [n0] hop 1: ok`,
		`#4<#3 n1>n2 query "f" [n0 n1] hop 2: ok`,
		`#5<#4 n2>n3 query "f" [n0 n1 n2] hop 3: ok`,
	}, tr.Lines())
	require.Equal(t, 3, tr.MaxHop())
	require.Equal(t, []string{"n0", "n1", "n2", "n3"}, tr.Reached("f"))
	require.Equal(t, map[peertest.Link]int{{"n0", "n1"}: 2, {"n1", "n2"}: 1, {"n2", "n3"}: 1}, tr.PerLink())
	require.Len(t, tr.Between("", "n0"), 1)
	require.Empty(t, tr.Queries("other"))
	for _, c := range tr {
		require.True(t, c.Done)
		require.True(t, c.Delivered)
		require.GreaterOrEqual(t, c.Duration, time.Duration(0))
	}
	require.Contains(t, tr.String(), `#5<#4 n2>n3 query "f" [n0 n1 n2] hop 3: ok`)

	net.ResetTrace()
	require.Empty(t, net.Trace())
	_, err = net.Node("n3").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Equal(t, []string{`#6 test>n3 query "f" [] hop 0: ok`}, net.Trace().Lines(), "numbers go on")
}

func TestTraceOfFetch(t *testing.T) {
	net := peertest.Line(t, 2)
	net.Node("n1").Put("f", "x")
	require.NoError(t, net.Node("n0").Fetch(deadline(t), "f"))
	got, ok := net.Node("n0").Read("f")
	require.True(t, ok)
	require.Equal(t, "x", got)
	require.Equal(t, []string{"f"}, net.Node("n0").Files())
	// A fetch searches first, for holders that announce a hash; n1 has
	// not hashed f (it has not settled), so the query brings it whole:
	// its first ring, of the peers' own files, finds it.
	require.Equal(t, []string{
		`#1 test>n0 fetch "f": ok`,
		`#2<#1 n0>n1 filepeer.search "f" [n0] hop 1: ok`,
		`#3<#1 n0>n1 query "f" [n0 n0 n0 n0 n0] hop 1: ok`,
	}, net.Trace().Lines())
}

func TestTraceLimit(t *testing.T) {
	net := peertest.Line(t, 2, peertest.TraceLimit(3))
	for range 5 {
		net.Node("n0").Query(deadline(t), "f")
	}
	tr := net.Trace()
	require.Len(t, tr, 3)
	// Three calls a query: the test's, the ring's and the full depth's.
	require.Equal(t, []int{13, 14, 15}, []int{tr[0].Seq, tr[1].Seq, tr[2].Seq}, "the newest are kept, oldest first")

	off := peertest.Line(t, 2, peertest.TraceLimit(0))
	off.Node("n1").Put("f", "x")
	_, err := off.Node("n0").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Empty(t, off.Trace())
	require.NoError(t, off.Idle(deadline(t)))
}

func TestIdleWaitsForCallsInFlight(t *testing.T) {
	net := peertest.Edges(t, "a>b")
	net.FaultLink("a", "b", peertest.BlackHole())
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := net.Node("a").Query(ctx, "f")
		errc <- err
	}()
	require.NoError(t, net.WaitFor(deadline(t), func(tr peertest.Trace) bool {
		return len(tr.Between("a", "b")) == 1
	}))
	require.ErrorIs(t, net.Idle(short(t)), context.DeadlineExceeded, "a call is in flight")
	inflight := net.Trace().Filter(func(c peertest.Call) bool { return !c.Done })
	require.Len(t, inflight, 2)
	require.Equal(t, "in flight", inflight[1].Outcome())
	cancel()
	require.NoError(t, net.Idle(deadline(t)))
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Equal(t, "canceled", net.Trace().Between("a", "b")[0].Outcome())
}

func TestIdleUnderConcurrentQueries(t *testing.T) {
	net := peertest.Ring(t, 6)
	net.Node("n3").Put("f", "x")
	net.FaultLink("n0", "n1", peertest.Latency(time.Millisecond))
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			_, err := net.Node(fmt.Sprint("n", i%6)).Query(deadline(t), "f")
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, net.Idle(deadline(t)))
	for _, c := range net.Trace() {
		require.True(t, c.Done)
	}
}

// scenario runs a fixed sequence of queries on a random network with
// random faults and returns the trace's lines.
func scenario(t *testing.T, seed uint64) []string {
	// Book nodes ask one peer at a time: with peers asked at once, the
	// order of calls is the scheduler's, not the seed's.
	net := peertest.RandomGNP(t, 12, 0.25, peertest.Seed(seed), peertest.Directed(), peertest.Book())
	for i, nd := range net.Nodes() {
		if i%4 == 3 {
			nd.Put("f", nd.Name())
		}
	}
	for _, nd := range net.Nodes() {
		net.FaultNode(nd.Name(), peertest.Drop().Rate(0.1))
		net.FaultNode(nd.Name(), peertest.LatencyRange(0, time.Microsecond))
	}
	for _, nd := range net.Nodes() {
		nd.Query(deadline(t), "f")
		nd.Query(deadline(t), "g")
	}
	return net.Trace().Lines()
}

func TestSameSeedSameTrace(t *testing.T) {
	a, b, c := scenario(t, 5), scenario(t, 5), scenario(t, 6)
	require.NotEmpty(t, a)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
}

// logTB records what a network logs when its test has failed, running the
// network's cleanups itself.
type logTB struct {
	testing.TB
	logs     []string
	cleanups []func()
}

func (l *logTB) Failed() bool     { return true }
func (l *logTB) Cleanup(f func()) { l.cleanups = append(l.cleanups, f) }
func (l *logTB) Logf(format string, args ...any) {
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
}

func TestFailureLogsSeedAndTrace(t *testing.T) {
	l := &logTB{TB: t}
	net := peertest.Line(l, 2, peertest.Seed(42))
	net.Node("n0").Query(deadline(t), "f")
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
	log := strings.Join(l.logs, "\n")
	require.Contains(t, log, "seed 42 (replay with peertest.Seed(42))")
	require.Contains(t, log, `#3<#1 n0>n1 query "f" [n0] hop 1: fault 100`)
	require.True(t, net.Node("n0").Crashed(), "the cleanup closed the nodes")
	_, err := net.Node("n0").Query(deadline(t), "f")
	require.ErrorIs(t, err, peertest.ErrCrashed)
}

func TestCallOutcomes(t *testing.T) {
	for err, want := range map[error]string{
		nil:                      "ok",
		peer.ErrAccessDenied:     "fault 200",
		context.DeadlineExceeded: "deadline",
		peertest.ErrDropped:      "dropped",
		fmt.Errorf("boom"):       "error: boom",
	} {
		require.Equal(t, want, peertest.Call{Done: true, Err: err}.Outcome())
	}
}
