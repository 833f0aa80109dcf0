package libp2p_test

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	lpeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// loopbackOnly is a connection gater that lets a host dial and accept
// loopback addresses only: the tests' proof that no host reaches beyond
// the machine, whatever libp2p would try.
type loopbackOnly struct{ t testing.TB }

func loopback(m ma.Multiaddr) bool {
	if len(m) > 2 {
		m = m[:2] // /ip4/…/udp/… of a QUIC address
	}
	a, err := manet.ToNetAddr(m)
	if err != nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func (g loopbackOnly) InterceptPeerDial(lpeer.ID) bool { return true }

func (g loopbackOnly) InterceptAddrDial(_ lpeer.ID, m ma.Multiaddr) bool {
	if !loopback(m) {
		g.t.Errorf("a host tried to dial %s, which is not loopback", m)
		return false
	}
	return true
}

func (g loopbackOnly) InterceptAccept(c network.ConnMultiaddrs) bool {
	return loopback(c.RemoteMultiaddr())
}

func (g loopbackOnly) InterceptSecured(network.Direction, lpeer.ID, network.ConnMultiaddrs) bool {
	return true
}

func (g loopbackOnly) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// newTransport starts a host that only reaches loopback, closed when the
// test ends (after the nodes on it, which were started later).
func newTransport(t testing.TB, cfg p2p.Config) *p2p.Transport {
	t.Helper()
	cfg.ConnectionGater = loopbackOnly{t}
	tr, err := p2p.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tr.Close()) })
	return tr
}

const tcpURL = "libp2p:///ip4/127.0.0.1/tcp/0"

// testNode is a started node, with what a test needs to know of it.
type testNode struct {
	*peer.Node
	tr     *p2p.Transport
	dir    string
	secret string
}

// startNode starts a node on a host of its own at url (tcpURL if empty).
func startNode(t testing.TB, url string) *testNode {
	t.Helper()
	if url == "" {
		url = tcpURL
	}
	return startNodeOn(t, newTransport(t, p2p.Config{}), url)
}

func startNodeOn(t testing.TB, tr *p2p.Transport, url string) *testNode {
	t.Helper()
	cfg := peer.Config{URL: url, Dir: t.TempDir(), Secret: "secret of " + url, Transport: tr, PingInterval: -1, TargetPeers: -1}
	n, err := peer.New(cfg)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	t.Cleanup(func() { n.Close() })
	return &testNode{Node: n, tr: tr, dir: cfg.Dir, secret: cfg.Secret}
}

func line(t testing.TB, k int) []*testNode {
	t.Helper()
	nodes := make([]*testNode, k)
	for i := range nodes {
		nodes[i] = startNode(t, "")
	}
	for i := 0; i+1 < k; i++ {
		require.NoError(t, nodes[i].Hello(context.Background(), nodes[i+1].URL()))
	}
	return nodes
}

func put(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

// peerStub is a Peer that answers every call with a fault.
type peerStub struct{}

func (peerStub) Query(context.Context, string, []string) (io.ReadCloser, error) {
	return nil, &transport.Fault{Code: transport.CodeUnhandled, Message: "stub"}
}
func (peerStub) Hello(context.Context, string) error { return nil }
func (peerStub) Fetch(context.Context, string, string) error {
	return &transport.Fault{Code: transport.CodeAccessDenied, Message: "stub"}
}
