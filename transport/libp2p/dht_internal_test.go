package libp2p

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/ipfs/go-cid"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/require"
)

// A hash's CID is CIDv1, raw codec, multihash sha2-256 of those bytes: the
// one any libp2p program makes of the same contents.
func TestHashCID(t *testing.T) {
	data := []byte("some contents")
	sum := sha256.Sum256(data)
	got, err := hashCID(hex.EncodeToString(sum[:]))
	require.NoError(t, err)
	want, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}.Sum(data)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// What the DHT learns and announces keeps only addresses a peer can have
// and this transport dials, at an IP address: no DNS name to resolve.
func TestDialable(t *testing.T) {
	var in []ma.Multiaddr
	for _, s := range []string{
		"/ip4/127.0.0.1/tcp/4001",
		"/ip4/192.0.2.7/udp/4001/quic-v1",
		"/ip4/0.0.0.0/tcp/4001",
		"/ip4/169.254.1.1/tcp/4001",
		"/ip4/224.0.0.1/tcp/4001",
		"/ip6/fe80::1/tcp/4001",
		"/ip4/192.0.2.7/udp/4001/quic-v1/webtransport",
		"/ip4/192.0.2.7/tcp/4001/ws",
		"/ip4/192.0.2.7/udp/4001",
		"/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit",
		"/dns4/example.com/tcp/4001",
	} {
		in = append(in, ma.StringCast(s))
	}
	var got []string
	for _, a := range dialable(in) {
		got = append(got, a.String())
	}
	require.Equal(t, []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/192.0.2.7/udp/4001/quic-v1"}, got)
	require.Empty(t, dialable(nil))
}
