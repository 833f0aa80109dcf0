package libp2p_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	lpeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func TestKeyFileKeepsPeerID(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "node.key")
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*peer.Node, *p2p.Transport) {
		tr, err := p2p.New(p2p.Config{KeyFile: keyFile})
		require.NoError(t, err)
		n, err := peer.New(peer.Config{URL: tcpURL, Dir: dir, Transport: tr, PingInterval: -1})
		require.NoError(t, err)
		require.NoError(t, n.Start())
		return n, tr
	}
	n1, tr1 := start()
	first := n1.URL()
	fi, err := os.Stat(keyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, n1.Close())
	require.NoError(t, tr1.Close())

	n2, tr2 := start()
	defer tr2.Close()
	defer n2.Close()
	_, id1, err := p2p.ParseURL(first)
	require.NoError(t, err)
	_, id2, err := p2p.ParseURL(n2.URL())
	require.NoError(t, err)
	require.Equal(t, id1, id2, "the restarted node has the same peer id")
	require.Equal(t, tr2.ID(), id2)

	// And it answers at its new URL, to a peer that checks the id.
	put(t, dir, "kept.txt", []byte("kept"))
	c := startNode(t, "")
	require.NoError(t, c.Hello(ctx, n2.URL()))
	b, err := c.Query(ctx, "kept.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "kept", string(b))
}

// Nodes that make the same key file at once end with one key.
func TestKeyFileMadeOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	ids := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			k, err := p2p.LoadOrCreateKey(path)
			if !assert.NoError(t, err) {
				ids <- ""
				return
			}
			id, err := lpeer.IDFromPrivateKey(k)
			assert.NoError(t, err)
			ids <- id.String()
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		require.Equal(t, first, id)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")
}

func TestBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("not a key"), 0o600))
	_, err := p2p.New(p2p.Config{KeyFile: bad})
	require.ErrorContains(t, err, "not a libp2p private key")
	b, err := os.ReadFile(bad)
	require.NoError(t, err)
	require.Equal(t, "not a key", string(b), "a bad key file is never replaced")

	_, err = p2p.New(p2p.Config{KeyFile: dir})
	require.ErrorContains(t, err, "not a regular file")
	_, err = p2p.New(p2p.Config{KeyFile: filepath.Join(dir, "no", "such", "dir", "k")})
	require.Error(t, err)
}

func TestHostListensOnlyOnLoopback(t *testing.T) {
	tr := newTransport(t, p2p.Config{})
	require.Empty(t, tr.Addrs(), "no address before Listen")
	n := startNodeOn(t, tr, tcpURL)
	addrs := tr.Addrs()
	require.NotEmpty(t, addrs)
	for _, a := range addrs {
		require.True(t, loopback(a), "%s is not loopback", a)
	}
	require.Equal(t, n.URL(), tr.URL())
	require.True(t, strings.HasPrefix(n.URL(), "libp2p:///ip4/127.0.0.1/tcp/"), n.URL())
	require.NotContains(t, n.URL(), "/tcp/0/")
	// It speaks identify and filepeer, and nothing else: no relay, hole
	// punching, AutoNAT or DHT protocol.
	var protos []string
	for _, p := range tr.Host().Mux().Protocols() {
		protos = append(protos, string(p))
	}
	require.ElementsMatch(t, []string{"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", string(p2p.ProtocolID)}, protos)
	// The host knows of no peer it was not told about: no bootstrap.
	require.Empty(t, tr.Host().Network().Peers())
	require.Equal(t, []string{tr.ID().String()}, peerIDs(tr))
}

func peerIDs(tr *p2p.Transport) []string {
	var ids []string
	for _, id := range tr.Host().Peerstore().Peers() {
		ids = append(ids, id.String())
	}
	return ids
}

func TestQUIC(t *testing.T) {
	a := startNode(t, "libp2p:///ip4/127.0.0.1/udp/0/quic-v1")
	require.Contains(t, a.URL(), "/quic-v1/p2p/")
	put(t, a.dir, "q.bin", allBytes)
	c := startNode(t, "")
	require.NoError(t, c.Hello(context.Background(), a.URL()))
	b, err := c.Query(context.Background(), "q.bin", nil)
	require.NoError(t, err)
	require.Equal(t, allBytes, b)
}

func TestBadURLs(t *testing.T) {
	tr := newTransport(t, p2p.Config{})
	other := newTransport(t, p2p.Config{})
	id := other.ID().String()
	for _, u := range []string{
		"",
		"http://127.0.0.1:1",
		"libp2p:",
		"libp2p://host/ip4/127.0.0.1/tcp/1/p2p/" + id,
		"libp2p:///ip4/127.0.0.1/tcp/1",                  // no peer id
		"libp2p:///ip4/127.0.0.1/tcp/1/p2p/notapeerid",   // bad id
		"libp2p:///ip4/0.0.0.0/tcp/1/p2p/" + id,          // unspecified
		"libp2p:///ip4/169.254.169.254/tcp/80/p2p/" + id, // link-local
		"libp2p:///ip4/224.0.0.1/tcp/1/p2p/" + id,        // multicast
		"libp2p:///ip4/127.0.0.1/tcp/1/p2p/" + id + "/p2p-circuit/p2p/" + id,
		"libp2p:///ip4/127.0.0.1/p2p/" + id, // no port
		"libp2p:///garbage/p2p/" + id,
		"libp2p:///ip4/127.0.0.1/tcp/1/p2p/" + id + strings.Repeat("x", 2000),
	} {
		_, err := tr.Dial(u)
		require.Error(t, err, u)
	}
	// An id alone is a peer the host must already know the address of.
	_, err := tr.Dial("libp2p:///p2p/" + id)
	require.NoError(t, err)

	p := &peerStub{}
	for _, u := range []string{
		"http://127.0.0.1:0",
		"libp2p:///p2p/" + tr.ID().String(),
		"libp2p:///ip4/127.0.0.1/tcp/0/p2p/" + id, // another host's id
	} {
		_, err := tr.Listen(u, p)
		require.Error(t, err, u)
	}
	_, err = tr.Listen(tcpURL, nil)
	require.Error(t, err)
	l, err := tr.Listen("libp2p:///ip4/127.0.0.1/tcp/0/p2p/"+tr.ID().String(), p)
	require.NoError(t, err)
	_, err = tr.Listen(tcpURL, p)
	require.ErrorContains(t, err, "one node per host")
	require.NoError(t, l.Close())
	l, err = tr.Listen(tcpURL, p)
	require.NoError(t, err, "a closed listener frees the host for another")
	require.NoError(t, l.Close())
}

func TestClosed(t *testing.T) {
	tr, err := p2p.New(p2p.Config{ConnectionGater: loopbackOnly{t}})
	require.NoError(t, err)
	a := startNode(t, "")
	p, err := tr.Dial(a.URL())
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "x", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close(), "Close twice")
	_, err = tr.Dial(a.URL())
	require.ErrorIs(t, err, xmlrpc.ErrClosed)
	_, err = tr.Listen(tcpURL, &peerStub{})
	require.ErrorIs(t, err, xmlrpc.ErrClosed)
	_, err = p.Query(context.Background(), "x", nil)
	require.Error(t, err)
}

func TestUnreachable(t *testing.T) {
	tr := newTransport(t, p2p.Config{})
	gone := newTransport(t, p2p.Config{})
	addr, err := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/1")
	require.NoError(t, err)
	p, err := tr.Dial(p2p.URL(addr, gone.ID()))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = p.Query(ctx, "x", nil)
	require.ErrorIs(t, err, transport.ErrUnreachable)
	require.Contains(t, err.Error(), p2p.URL(addr, gone.ID()), "the error names the URL dialled")
	require.NotContains(t, err.Error(), ".p2p/RPC2")
	// A node at the address with another id fails the handshake.
	a := startNode(t, "")
	at, _, err := p2p.ParseURL(a.URL())
	require.NoError(t, err)
	p, err = tr.Dial(p2p.URL(at, gone.ID()))
	require.NoError(t, err)
	_, err = p.Query(ctx, "x", nil)
	require.ErrorIs(t, err, transport.ErrUnreachable)
}

// addrPeer answers a query with the caller's address as the transport
// told it.
type addrPeer struct{ peerStub }

func (addrPeer) Query(ctx context.Context, _ string, _ []string) (io.ReadCloser, error) {
	a, ok := transport.CallerAddr(ctx)
	if !ok {
		return nil, errors.New("no caller address")
	}
	return io.NopCloser(strings.NewReader(a.String())), nil
}

// The caller's IP address reaches the served node, over TCP and QUIC, as
// over XML-RPC: the nodes' per-caller rate limits work the same.
func TestCallerAddr(t *testing.T) {
	for _, u := range []string{tcpURL, "libp2p:///ip4/127.0.0.1/udp/0/quic-v1"} {
		srv := newTransport(t, p2p.Config{})
		l, err := srv.Listen(u, addrPeer{})
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		p, err := newTransport(t, p2p.Config{}).Dial(srv.URL())
		require.NoError(t, err)
		body, err := p.Query(context.Background(), "x", nil)
		require.NoError(t, err)
		b, err := io.ReadAll(body)
		require.NoError(t, err)
		body.Close()
		require.Equal(t, "127.0.0.1", string(b), u)
	}
}
