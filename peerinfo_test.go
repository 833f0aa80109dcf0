package peer_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
)

// Peers tells a front-end which peers answer, which fail and which are
// book nodes.
func TestPeers(t *testing.T) {
	net := peertest.Edges(t, "a>b a>c a>d", peertest.Book("c"))
	a := net.Node("a").Peer()
	require.Equal(t, []peer.PeerInfo{
		{URL: "mem://b"}, {URL: "mem://c"}, {URL: "mem://d"},
	}, a.Peers(), "nothing known of them yet")
	// A miss: every peer is asked, and answers.
	_, err := a.Query(broadcastCtx(t), "nowhere.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.NoError(t, net.Idle(context.Background()))
	require.Equal(t, []peer.PeerInfo{
		{URL: "mem://b", Answered: true},
		{URL: "mem://c", Answered: true, Book: true},
		{URL: "mem://d", Answered: true},
	}, a.Peers())
}

// A peer whose pings fail is shown failing, until the node forgets it.
func TestPeersFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := peertest.Edges(t, "a>b", peertest.Living(10*time.Second))
		a := net.Node("a").Peer()
		time.Sleep(15 * time.Second)
		require.Equal(t, []peer.PeerInfo{{URL: "mem://b", Answered: true}}, a.Peers())
		net.Node("b").Crash()
		for a.Peers()[0].Failures == 0 {
			time.Sleep(time.Second)
		}
		require.Equal(t, 1, a.Peers()[0].Failures)
		for len(a.Peers()) > 0 {
			time.Sleep(time.Second)
		}
	})
}
