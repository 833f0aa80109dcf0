package peer_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// A hello over the network adds its peer only once the peer has answered
// a probe: at once for a peer that answers, never for a URL where nothing
// answers like a peer, and in the background for one slow to answer (a
// single-threaded peer busy with its own hello, say).
func TestHelloProbesThePeer(t *testing.T) {
	xr := xmlrpc.New(xmlrpc.Config{})
	defer xr.Close()
	n := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	client, err := xr.Dial(n.URL())
	require.NoError(t, err)
	ctx := context.Background()

	live := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	require.NoError(t, client.Hello(ctx, live.URL()))
	require.Equal(t, []string{live.URL()}, n.Known(), "added before hello answered")

	require.ErrorContains(t, client.Hello(ctx, "http://"+testenv.FreeAddr(t)), "did not answer like a peer")
	require.Equal(t, []string{live.URL()}, n.Known())

	// A peer whose pings take twice the probe's wait: the hello is
	// answered at once, and the peer added when its ping is.
	slow := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("filepeer.ping")) {
			time.Sleep(2 * time.Second)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		slow.ServeHTTP(w, r)
	}))
	defer srv.Close()
	require.NoError(t, client.Hello(ctx, srv.URL))
	require.NotContains(t, n.Known(), srv.URL, "not yet: its probe goes on in the background")
	require.Eventually(t, func() bool { return slices.Contains(n.Known(), srv.URL) }, 20*time.Second, 10*time.Millisecond)

	// The node's own program is trusted: its hellos add at once.
	require.NoError(t, n.Hello(ctx, "http://"+testenv.FreeAddr(t)))
	require.Len(t, n.Known(), 3)
}
