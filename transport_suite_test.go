package peer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// network is one transport as the suite sees it: a way to make the URL of
// the i-th node.
type network struct {
	name string
	tr   transport.Transport
	url  func(t testing.TB) string
}

// networks returns the transports the suite runs on: the in-memory network
// and XML-RPC on loopback. The XML-RPC transport is closed when the test
// ends, after its nodes.
func networks(t *testing.T) []network {
	xr := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { xr.Close() })
	n := 0
	return []network{
		{"memory", transport.NewMemory(), func(testing.TB) string {
			n++
			return "mem://node" + strconv.Itoa(n)
		}},
		{"xmlrpc", xr, func(t testing.TB) string { return "http://" + testenv.FreeAddr(t) }},
	}
}

// suiteNode starts a node on nw.
func suiteNode(t testing.TB, nw network) *testNode {
	t.Helper()
	return startNode(t, nw.tr, nw.url(t))
}

// suiteLine starts k nodes on nw, each knowing the next.
func suiteLine(t testing.TB, nw network, k int) []*testNode {
	t.Helper()
	nodes := make([]*testNode, k)
	for i := range nodes {
		nodes[i] = suiteNode(t, nw)
	}
	for i := 0; i+1 < k; i++ {
		require.NoError(t, nodes[i].Hello(context.Background(), nodes[i+1].URL()))
	}
	return nodes
}

func putBytes(t testing.TB, n *testNode, name string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(n.dir, name), b, 0o644))
}

// TestTransportSuite checks that the protocol means the same over every
// transport.
func TestTransportSuite(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	contents := map[string][]byte{
		"empty":  {},
		"text":   []byte("héllo, wörld <&> 😀\n"),
		"crlf":   []byte("one\r\ntwo\r\n\rthree"),
		"binary": all,
	}
	tests := []struct {
		name string
		run  func(t *testing.T, nw network)
	}{
		{"chain finds file within 5 hops", func(t *testing.T, nw network) {
			nodes := suiteLine(t, nw, 7)
			putBytes(t, nodes[5], "five.txt", []byte("five hops"))
			putBytes(t, nodes[6], "six.txt", []byte("six hops"))
			ctx := context.Background()
			b, err := nodes[0].Query(ctx, "five.txt", nil)
			require.NoError(t, err)
			require.Equal(t, "five hops", string(b))
			_, err = nodes[0].Query(ctx, "six.txt", nil)
			require.ErrorIs(t, err, peer.ErrUnhandled)
			// Fault 100 keeps the peer known.
			require.Equal(t, []string{nodes[1].URL()}, nodes[0].Known())
		}},
		{"faults cross the wire", func(t *testing.T, nw network) {
			a, b := suiteNode(t, nw), suiteNode(t, nw)
			putBytes(t, b, "here.txt", []byte("x"))
			p, err := nw.tr.Dial(a.URL())
			require.NoError(t, err)
			ctx := context.Background()
			_, err = p.Query(ctx, "missing.txt", nil)
			require.ErrorIs(t, err, peer.ErrUnhandled)
			var f *peer.Fault
			require.ErrorAs(t, err, &f)
			require.Equal(t, peer.Unhandled, f.Code)
			_, err = p.Query(ctx, "../outside.txt", nil)
			require.ErrorIs(t, err, peer.ErrAccessDenied)
			// A full history is fault 100 even for a file one hop away.
			require.NoError(t, a.Hello(ctx, b.URL()))
			_, err = p.Query(ctx, "here.txt", []string{"h1", "h2", "h3", "h4", "h5"})
			require.ErrorIs(t, err, peer.ErrUnhandled)
			body, err := p.Query(ctx, "here.txt", []string{"h1"})
			require.NoError(t, err)
			body.Close()
		}},
		{"hello", func(t *testing.T, nw network) {
			a, b := suiteNode(t, nw), suiteNode(t, nw)
			p, err := nw.tr.Dial(a.URL())
			require.NoError(t, err)
			require.NoError(t, p.Hello(context.Background(), b.URL()))
			require.NoError(t, p.Hello(context.Background(), a.URL()))
			require.Equal(t, []string{b.URL()}, a.Known())
		}},
		{"fetch with right and wrong secret", func(t *testing.T, nw network) {
			nodes := suiteLine(t, nw, 3)
			putBytes(t, nodes[2], "far.bin", all)
			p, err := nw.tr.Dial(nodes[0].URL())
			require.NoError(t, err)
			ctx := context.Background()
			require.ErrorIs(t, p.Fetch(ctx, "far.bin", "wrong"), peer.ErrAccessDenied)
			require.NoFileExists(t, filepath.Join(nodes[0].dir, "far.bin"))
			require.NoError(t, p.Fetch(ctx, "far.bin", nodes[0].secret))
			got, err := os.ReadFile(filepath.Join(nodes[0].dir, "far.bin"))
			require.NoError(t, err)
			require.Equal(t, all, got)
			require.ErrorIs(t, p.Fetch(ctx, "nowhere.bin", nodes[0].secret), peer.ErrUnhandled)
			require.ErrorIs(t, p.Fetch(ctx, "../x", nodes[0].secret), peer.ErrAccessDenied)
		}},
		{"contents exact, local and relayed", func(t *testing.T, nw network) {
			nodes := suiteLine(t, nw, 3)
			for name, b := range contents {
				putBytes(t, nodes[2], name, b)
			}
			ctx := context.Background()
			for name, want := range contents {
				for _, n := range []*testNode{nodes[2], nodes[0]} {
					got, err := n.Query(ctx, name, nil)
					require.NoError(t, err, name)
					require.Equal(t, fmt.Sprintf("%q", want), fmt.Sprintf("%q", got), name)
				}
				// Fetched files are byte for byte too.
				require.NoError(t, nodes[0].Fetch(ctx, name, nodes[0].secret))
				got, err := os.ReadFile(filepath.Join(nodes[0].dir, name))
				require.NoError(t, err)
				require.Equal(t, want, got, name)
			}
		}},
		{"dead peer is dropped", func(t *testing.T, nw network) {
			a, b := suiteNode(t, nw), suiteNode(t, nw)
			require.NoError(t, a.Hello(context.Background(), b.URL()))
			require.NoError(t, b.Close())
			_, err := a.Query(context.Background(), "x", nil)
			require.ErrorIs(t, err, peer.ErrUnhandled)
			require.Empty(t, a.Known())
		}},
	}
	for _, nw := range networks(t) {
		for _, tc := range tests {
			t.Run(nw.name+"/"+tc.name, func(t *testing.T) { tc.run(t, nw) })
		}
	}
}
