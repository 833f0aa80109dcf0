package peer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

const livingInterval = 10 * time.Second

// knownBy returns the live nodes that know the node named name.
func knownBy(net *peertest.Network, name string) []string {
	var by []string
	for _, nd := range net.Nodes() {
		if slices.Contains(nd.Known(), name) {
			by = append(by, nd.Name())
		}
	}
	return by
}

// In a 200-node network 60 nodes crash: within three ping intervals no
// live node knows a crashed one, and every file on a live node is found
// from the live nodes that can reach it; restarted nodes are known again
// within a few intervals. All on the bubble's clock.
func TestCrashedNodesForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.RandomRegular(t, 200, 4, peertest.Seed(16), peertest.Living(livingInterval), peertest.TraceLimit(1000))
		time.Sleep(2 * livingInterval) // discovery grows the graph
		synctest.Wait()

		r := rand.New(rand.NewPCG(16, 1))
		nodes := net.Nodes()
		r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		crashed, live := nodes[:60], nodes[60:]
		for _, nd := range crashed {
			nd.Crash()
		}
		start := time.Now()
		forgotten := func() bool {
			for _, nd := range crashed {
				if len(knownBy(net, nd.Name())) > 0 {
					return false
				}
			}
			return true
		}
		for !forgotten() && time.Since(start) < 3*livingInterval {
			time.Sleep(livingInterval / 10)
			synctest.Wait()
		}
		for _, nd := range crashed {
			require.Empty(t, knownBy(net, nd.Name()), "%s still known %v after crashing", nd.Name(), time.Since(start))
		}
		t.Logf("every crashed node forgotten %v after the crash (interval %v)", time.Since(start), livingInterval)

		for _, nd := range live {
			nd.Put("of-"+nd.Name()+".txt", "from "+nd.Name())
		}
		g := net.Graph()
		for i, from := range live {
			reach := g.Reach(from.Name(), net.MaxHistory())
			for _, holder := range []*peertest.Node{live[(i+1)%len(live)], live[(i+37)%len(live)]} {
				if _, ok := reach[holder.Name()]; !ok {
					continue
				}
				got, err := from.Query(context.Background(), "of-"+holder.Name()+".txt")
				require.NoError(t, err, "%s asks for %s's file", from.Name(), holder.Name())
				require.Equal(t, "from "+holder.Name(), string(got))
			}
		}
		for _, from := range live {
			require.Len(t, g.Reach(from.Name(), 1000), len(live), "the live nodes stay connected")
		}

		for _, nd := range crashed {
			nd.Restart(peertest.KeepDir)
		}
		start = time.Now()
		for time.Since(start) < 3*livingInterval {
			time.Sleep(livingInterval / 10)
			synctest.Wait()
		}
		for _, nd := range crashed {
			require.NotEmpty(t, knownBy(net, nd.Name()), "restarted %s known again", nd.Name())
		}
		g = net.Graph()
		for _, nd := range net.Nodes() {
			require.Len(t, g.Reach(nd.Name(), 1000), 200, "every node reaches every other after the restarts")
		}
	})
}

// A node started with one seed in a 500-node network knows its target
// number of peers within two intervals, and the graph stays connected.
func TestOneSeedJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.RandomRegular(t, 500, 4, peertest.Seed(5), peertest.Living(livingInterval), peertest.TraceLimit(1000))
		time.Sleep(livingInterval)
		synctest.Wait()
		net.Add("newbie")
		net.Link("newbie", "n123")
		start := time.Now()
		for len(net.Node("newbie").Known()) < peer.DefaultTargetPeers && time.Since(start) < 2*livingInterval {
			time.Sleep(livingInterval / 20)
			synctest.Wait()
		}
		took := time.Since(start)
		require.GreaterOrEqual(t, len(net.Node("newbie").Known()), peer.DefaultTargetPeers, "after %v", took)
		t.Logf("the newcomer knew %d peers %v after its one hello (interval %v)", len(net.Node("newbie").Known()), took, livingInterval)
		require.NotEmpty(t, knownBy(net, "newbie"), "peers it found know it")

		g := net.Graph()
		for _, nd := range net.Nodes() {
			require.Len(t, g.Reach(nd.Name(), 1000), 501, "%s reaches every node", nd.Name())
		}
		net.Node("n000").Put("far.txt", "found")
		got, err := net.Node("newbie").Query(context.Background(), "far.txt")
		require.NoError(t, err)
		require.Equal(t, "found", string(got))
	})
}

// A peer that fails one ping, or two, is kept; the third in a row
// forgets it, and OnPeer says so with the failure.
func TestForgottenAfterSeveralFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []peer.PeerEvent
		net := peertest.Edges(t, "a>b", peertest.Living(livingInterval), peertest.Configure(func(c *peer.Config) {
			c.TargetPeers = -1
			c.OnPeer = func(e peer.PeerEvent) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}
		}))
		rule := net.FaultLink("a", "b", peertest.Refuse())
		for i := 0; i < 100 && failedPings(net) < 2; i++ {
			time.Sleep(livingInterval / 20)
			synctest.Wait()
		}
		require.Equal(t, []string{"b"}, net.Node("a").Known(), "two failures do not forget a peer")
		rule.Clear()
		time.Sleep(3 * livingInterval)
		synctest.Wait()
		require.Equal(t, []string{"b"}, net.Node("a").Known(), "an answer clears the count")

		net.Node("b").Crash()
		time.Sleep(3 * livingInterval)
		synctest.Wait()
		require.Empty(t, net.Node("a").Known())
		mu.Lock()
		defer mu.Unlock()
		last := events[len(events)-1]
		require.Equal(t, peer.PeerForgotten, last.Kind)
		require.Equal(t, "mem://b", last.Peer)
		require.ErrorIs(t, last.Err, transport.ErrUnreachable)
		require.Equal(t, 2+peer.DefaultPingFailures, failedPings(net))
	})
}

// A node that leaves is forgotten by its peers at once; one that crashes
// is not told about, and a bye for a peer that still answers is ignored.
func TestLeaveIsForgottenAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var left []string
		net := peertest.Mesh(t, 4, peertest.Configure(func(c *peer.Config) {
			c.OnPeer = func(e peer.PeerEvent) {
				if e.Kind == peer.PeerLeft {
					mu.Lock()
					left = append(left, fmt.Sprint(c.URL, " ", e.Peer))
					mu.Unlock()
				}
			}
		}))
		// Pings are off here: nothing but the bye makes them forget.
		net.Node("n0").Leave()
		for _, nd := range net.Nodes()[1:] {
			require.NotContains(t, nd.Known(), "n0")
		}
		require.Len(t, left, 3)
	})
}

// A bye for a peer that still answers is ignored: a bye proves nothing
// by itself.
func TestForgedByeIgnored(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a", func(c *peer.Config) { c.PingInterval = -1 })
	b := startNode(t, mem, "mem://b")
	require.NoError(t, a.Hello(context.Background(), b.URL()))
	p, err := mem.Dial(a.URL())
	require.NoError(t, err)
	v, err := p.(transport.Caller).Call(context.Background(), "filepeer.bye", b.URL())
	require.NoError(t, err)
	require.Equal(t, false, v)
	require.Equal(t, []string{b.URL()}, a.Known())

	_, err = p.(transport.Caller).Call(context.Background(), "filepeer.bye")
	require.Error(t, err, "bye takes the URL")
	require.NoError(t, b.Close())
	require.Equal(t, []string{b.URL()}, a.Known(), "b was told nothing: a never said hello to it")
}

func failedPings(net *peertest.Network) int {
	fails := 0
	for _, c := range net.Trace() {
		if c.Method == peertest.MethodPing && c.Err != nil {
			fails++
		}
	}
	return fails
}
