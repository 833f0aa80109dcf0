package libp2p_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// bridgeNet is one process's mixed network: an XML-RPC Go node, a
// bridging node on XML-RPC and libp2p, and two libp2p-only nodes.
//
//	xr ── bridge ── l1
//	         └───── l2
type bridgeNet struct {
	xr, bridge, l1, l2 *testNode
	bridgeP2P          string // the bridge's libp2p URL
	xrt                transport.Transport
}

func newBridgeNet(t *testing.T) *bridgeNet {
	t.Helper()
	ctx := context.Background()
	xrt := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { xrt.Close() })
	bt := newTransport(t, p2p.Config{})
	mux, err := p2p.NewMux(
		p2p.Route{Schemes: []string{"http", "https"}, Transport: xrt},
		p2p.Route{Schemes: []string{p2p.Scheme}, Transport: bt, Also: tcpURL},
	)
	require.NoError(t, err)
	n := &bridgeNet{xrt: xrt}
	n.xr = startNodeOnAny(t, xrt, "http://"+testenv.FreeAddr(t))
	n.bridge = startNodeOnAny(t, mux, "http://"+testenv.FreeAddr(t))
	n.bridgeP2P = bt.URL()
	require.True(t, strings.HasPrefix(n.bridgeP2P, "libp2p:///ip4/127.0.0.1/tcp/"), n.bridgeP2P)
	n.l1, n.l2 = startNode(t, ""), startNode(t, "")

	require.NoError(t, n.xr.Hello(ctx, n.bridge.URL()))
	require.NoError(t, n.bridge.Hello(ctx, n.xr.URL()))
	require.NoError(t, n.bridge.Hello(ctx, n.l2.URL()))
	require.NoError(t, n.l1.Hello(ctx, n.bridgeP2P))
	require.NoError(t, n.l2.Hello(ctx, n.bridgeP2P))
	return n
}

// startNodeOnAny is startNodeOn for any transport.
func startNodeOnAny(t testing.TB, tr transport.Transport, url string) *testNode {
	t.Helper()
	cfg := peer.Config{URL: url, Dir: t.TempDir(), Secret: "secret of " + url, Transport: tr, PingInterval: -1, TargetPeers: -1}
	n, err := peer.New(cfg)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	t.Cleanup(func() { n.Close() })
	return &testNode{Node: n, dir: cfg.Dir, secret: cfg.Secret}
}

var (
	mixedText   = []byte("Grüße, <world> & all 😀\nsecond line\ttab\n")
	mixedBinary = append(append([]byte{}, allBytes...), "\r\n\x00tail"...)
)

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

// TestBridge: queries and fetches cross between XML-RPC and libp2p nodes
// through one node that speaks both, in both directions, byte for byte.
func TestBridge(t *testing.T) {
	ctx := context.Background()
	n := newBridgeNet(t)
	put(t, n.l2.dir, "l2.txt", mixedText)
	put(t, n.l2.dir, "l2.bin", mixedBinary)
	put(t, n.xr.dir, "xr.txt", mixedText)
	put(t, n.xr.dir, "xr.bin", mixedBinary)

	// XML-RPC → bridge → libp2p.
	for name, want := range map[string][]byte{"l2.txt": mixedText, "l2.bin": mixedBinary} {
		got, err := n.xr.Query(ctx, name, nil)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
		require.NoError(t, n.xr.Fetch(ctx, name, n.xr.secret))
		require.Equal(t, want, readFile(t, n.xr.dir, name), name)
	}
	// libp2p → bridge → XML-RPC, and libp2p → bridge → libp2p.
	for name, want := range map[string][]byte{"xr.txt": mixedText, "xr.bin": mixedBinary, "l2.bin": mixedBinary} {
		got, err := n.l1.Query(ctx, name, nil)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
		require.NoError(t, n.l1.Fetch(ctx, name, n.l1.secret))
		require.Equal(t, want, readFile(t, n.l1.dir, name), name)
	}
	// The bridge is known by each network's URL of it.
	require.Equal(t, []string{n.bridge.URL()}, n.xr.Known())
	require.Equal(t, []string{n.bridgeP2P}, n.l1.Known())
	// Misses stay misses across the bridge.
	_, err := n.l1.Query(ctx, "nowhere.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	_, err = n.xr.Query(ctx, "nowhere.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)

	t.Run("python", func(t *testing.T) {
		py := testenv.Tool(t, "python3")
		pn := startPyNode(t, py)
		put(t, pn.dir, "py.txt", mixedText)
		put(t, pn.dir, "py.bin", mixedBinary)
		r := pyCall(t, py, pn.url, "hello", n.bridge.URL())
		require.NotEqual(t, "fault", r.Type, r.Message)
		require.NoError(t, n.bridge.Hello(ctx, pn.url))

		// Python → bridge → libp2p: str for text, Binary for bytes.
		r = pyCall(t, py, pn.url, "query", "l2.txt")
		require.Equal(t, "str", r.Type)
		require.Equal(t, mixedText, r.Bytes(t))
		r = pyCall(t, py, pn.url, "query", "l2.bin")
		require.Equal(t, "Binary", r.Type)
		require.Equal(t, mixedBinary, r.Bytes(t))
		pyCall(t, py, pn.url, "fetch", "l2.bin", pn.secret)
		require.Equal(t, mixedBinary, readFile(t, pn.dir, "l2.bin"))
		pyCall(t, py, pn.url, "fetch", "l2.txt", pn.secret)
		require.Equal(t, mixedText, readFile(t, pn.dir, "l2.txt"))

		// libp2p → bridge → Python.
		for name, want := range map[string][]byte{"py.txt": mixedText, "py.bin": mixedBinary} {
			got, err := n.l1.Query(ctx, name, nil)
			require.NoError(t, err, name)
			require.Equal(t, want, got, name)
			require.NoError(t, n.l2.Fetch(ctx, name, n.l2.secret))
			require.Equal(t, want, readFile(t, n.l2.dir, name), name)
		}
		r = pyCall(t, py, pn.url, "query", "nowhere.txt")
		require.Equal(t, "fault", r.Type)
		require.Equal(t, peer.Unhandled, r.Code)
	})
}

const pynode = "../../testdata/pynode.py"

type pyNode struct{ url, dir, secret string }

// startPyNode runs testdata/pynode.py on a free loopback port (see
// testenv.StartPyNode).
func startPyNode(t *testing.T, py string) *pyNode {
	t.Helper()
	n := testenv.StartPyNode(t, py, pynode)
	return &pyNode{url: n.URL, dir: n.Dir, secret: n.Secret}
}

type pyResult = testenv.PyResult

func pyCall(t *testing.T, py, url, method string, args ...any) pyResult {
	t.Helper()
	return testenv.PyCall(t, py, pynode, url, method, args...)
}
