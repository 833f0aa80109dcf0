package peer_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// TestHelloRefusesNonPeerURLs checks the row of hellos with
// userinfo, the link-local metadata address and an admin URL with a
// query: each is refused with a clear fault, before anything is sent to
// it, and the password never reaches the log. Before, all were added and
// the next query POSTed to each.
func TestHelloRefusesNonPeerURLs(t *testing.T) {
	var hits atomic.Int32
	victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer victim.Close()
	vhost := strings.TrimPrefix(victim.URL, "http://")

	var logs bytes.Buffer
	xr := xmlrpc.New(xmlrpc.Config{})
	defer xr.Close()
	n := startNode(t, xr, "http://"+testenv.FreeAddr(t), func(c *peer.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	client, err := xr.Dial(n.URL())
	require.NoError(t, err)
	for _, u := range []string{
		"http://user:hunter2@" + vhost,
		"http://" + vhost + "/admin/delete?all=1",
		"http://169.254.169.254:80/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::a9fe:a9fe]:80/",
		"http://" + vhost + "/#frag",
	} {
		err := client.Hello(context.Background(), u)
		var f *peer.Fault
		require.ErrorAs(t, err, &f, u)
		require.Contains(t, f.Message, "not a peer's address", u)
		require.NotContains(t, f.Message, "hunter2")
	}
	// Checked before any query, so that nothing is ever sent to those
	// URLs, even by a node that took them.
	require.Empty(t, n.Known())
	_, err = n.Query(context.Background(), "missing.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Zero(t, hits.Load())
	require.NotContains(t, logs.String(), "hunter2")

	// A peer's address is still welcome, once the peer has answered a
	// probe; an HTTP server that is no peer is not.
	require.ErrorContains(t, client.Hello(context.Background(), victim.URL), "did not answer like a peer")
	real := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	require.NoError(t, client.Hello(context.Background(), real.URL()))
	require.Equal(t, []string{real.URL()}, n.Known())
}
