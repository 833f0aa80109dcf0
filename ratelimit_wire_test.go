package peer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// clientFrom returns an XML-RPC transport whose calls come from ip, a
// loopback address (Linux routes all of 127.0.0.0/8 to lo).
func clientFrom(t *testing.T, ip string) *xmlrpc.Transport {
	t.Helper()
	rt := &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext,
		Proxy:       nil,
	}
	tr := xmlrpc.New(xmlrpc.Config{RoundTripper: rt})
	t.Cleanup(func() { tr.Close(); rt.CloseIdleConnections() })
	return tr
}

// TestHelloFloodLeavesRoom checks the row of 100,000 hellos of
// made-up peers: one address gets a burst and then one a second, and a
// list filled from many addresses by peers that never answered still
// takes a real peer's hello. Before, the flood filled the list and the
// real peer was refused.
func TestHelloFloodLeavesRoom(t *testing.T) {
	xr := xmlrpc.New(xmlrpc.Config{})
	defer xr.Close()
	const maxKnown = 16
	n := startNode(t, xr, "http://"+testenv.FreeAddr(t), func(c *peer.Config) { c.MaxKnown = maxKnown })
	ctx := context.Background()

	flood, err := clientFrom(t, "127.0.0.1").Dial(n.URL())
	require.NoError(t, err)
	start := time.Now()
	accepted, limited := 0, 0
	for i := range 500 {
		err := flood.Hello(ctx, fmt.Sprintf("http://127.0.0.1:%d", 10000+i))
		switch {
		case errors.Is(err, peer.ErrNoAnswer) || strings.Contains(err.Error(), "did not answer"):
			accepted++ // taken, and probed: nothing answers there
		default:
			require.ErrorContains(t, err, "too many calls")
			limited++
		}
	}
	// A burst, then one a second for as long as the flood took.
	require.LessOrEqual(t, accepted, peer.HelloBurst+int(time.Since(start).Seconds())+1)
	require.Positive(t, limited)

	// Made-up peers from many addresses, which answer nothing, never get
	// in (each is probed, in the background)...
	for i := range 4 {
		c, err := clientFrom(t, fmt.Sprintf("127.0.0.%d", 10+i)).Dial(n.URL())
		require.NoError(t, err)
		for j := range peer.HelloBurst {
			c.Hello(ctx, fmt.Sprintf("http://127.0.%d.%d:1", 10+i, j+1))
		}
	}
	// ...and a real one does.
	real := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	c, err := clientFrom(t, "127.0.0.2").Dial(n.URL())
	require.NoError(t, err)
	require.NoError(t, c.Hello(ctx, real.URL()))
	require.Equal(t, []string{real.URL()}, n.Known())
}

// TestWrongSecretsLimited checks the row of 6,145 guesses a
// second: after GuessBurst wrong secrets, every fetch from that address
// is refused, the right secret included.
func TestWrongSecretsLimited(t *testing.T) {
	xr := xmlrpc.New(xmlrpc.Config{})
	defer xr.Close()
	n := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	n.put(t, "here.txt", "here")
	c, err := clientFrom(t, "127.0.0.3").Dial(n.URL())
	require.NoError(t, err)
	for range peer.GuessBurst {
		require.ErrorIs(t, c.Fetch(context.Background(), "here.txt", "guess"), peer.ErrAccessDenied)
	}
	require.ErrorIs(t, c.Fetch(context.Background(), "here.txt", n.secret), peer.ErrAccessDenied)
	other, err := clientFrom(t, "127.0.0.4").Dial(n.URL())
	require.NoError(t, err)
	require.NoError(t, other.Fetch(context.Background(), "here.txt", n.secret))
}
