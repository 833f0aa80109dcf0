package libp2p_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

func TestMuxRefusals(t *testing.T) {
	mem := transport.NewMemory()
	bt := newTransport(t, p2p.Config{})
	for _, routes := range [][]p2p.Route{
		{{Schemes: []string{"mem"}}},
		{{Transport: mem}},
		{{Schemes: []string{"mem://"}, Transport: mem}},
		{{Schemes: []string{"mem"}, Transport: mem}, {Schemes: []string{"MEM"}, Transport: mem}},
		{{Schemes: []string{"mem"}, Transport: mem}, {Schemes: []string{p2p.Scheme}, Transport: bt, Also: "mem://x"}},
	} {
		_, err := p2p.NewMux(routes...)
		require.Error(t, err, routes)
	}
	m, err := p2p.NewMux(
		p2p.Route{Schemes: []string{"mem"}, Transport: mem},
		p2p.Route{Schemes: []string{p2p.Scheme}, Transport: bt, Also: tcpURL},
	)
	require.NoError(t, err)
	for _, u := range []string{"http://127.0.0.1:1", "", "::nonsense"} {
		_, err := m.Dial(u)
		require.Error(t, err, u)
		_, err = m.Listen(u, peerStub{})
		require.Error(t, err, u)
	}
	l, err := m.Listen("mem://a", peerStub{})
	require.NoError(t, err)
	urls := l.(interface{ URLs() []string }).URLs()
	require.Equal(t, []string{"mem://a", bt.URL()}, urls)
	// Dialled from another host (a host cannot dial itself).
	p, err := newTransport(t, p2p.Config{}).Dial(bt.URL())
	require.NoError(t, err)
	_, err = p.Query(t.Context(), "x", nil)
	require.ErrorContains(t, err, "stub")
	// A second node cannot take the libp2p host, and leaves nothing
	// listening behind.
	_, err = m.Listen("mem://b", peerStub{})
	require.ErrorContains(t, err, "one node per host")
	lb, err := mem.Listen("mem://b", peerStub{})
	require.NoError(t, err, "mem://b was freed")
	require.NoError(t, lb.Close())
	require.NoError(t, l.Close())
	require.Empty(t, bt.URL())
}
