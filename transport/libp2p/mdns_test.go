package libp2p

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

// These tests feed made-up announcements to a finder's HandlePeerFound,
// as the mDNS service would: nothing here sends or receives multicast
// (mdns_linux_test.go does, in network namespaces of its own).

func newID(t testing.TB) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(k)
	require.NoError(t, err)
	return id
}

func addrs(t testing.TB, ss ...string) []ma.Multiaddr {
	t.Helper()
	out := make([]ma.Multiaddr, len(ss))
	for i, s := range ss {
		m, err := ma.NewMultiaddr(s)
		require.NoError(t, err, s)
		out[i] = m
	}
	return out
}

// testFinder is a finder for self whose clock the test moves, not yet
// delivering to found.
func testFinder(t testing.TB, self peer.ID, d LocalDiscovery) (*finder, *time.Time) {
	t.Helper()
	require.NoError(t, d.check())
	f := newFinder(d, self)
	require.NotNil(t, f)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	t.Cleanup(func() { require.NoError(t, f.close()) })
	return f, &now
}

func ignore(context.Context, FoundPeer) {}

// queued takes what f has queued for Found, without waiting.
func queued(f *finder) []FoundPeer {
	var got []FoundPeer
	for {
		select {
		case p := <-f.queue:
			got = append(got, p)
		default:
			return got
		}
	}
}

func TestLocalDiscoveryAddressChecks(t *testing.T) {
	self := newID(t)
	other := newID(t)
	for _, tc := range []struct {
		name  string
		addrs []string
		want  string // the URL's address; "" if not reported
	}{
		{"tcp", []string{"/ip4/192.0.2.7/tcp/4001"}, "/ip4/192.0.2.7/tcp/4001"},
		{"quic over ip6", []string{"/ip6/fd00::7/udp/4001/quic-v1"}, "/ip6/fd00::7/udp/4001/quic-v1"},
		{"loopback, as Dial takes it", []string{"/ip4/127.0.0.1/tcp/4001"}, "/ip4/127.0.0.1/tcp/4001"},
		{"unspecified", []string{"/ip4/0.0.0.0/tcp/4001"}, ""},
		{"unspecified ip6", []string{"/ip6/::/tcp/4001"}, ""},
		{"link-local", []string{"/ip4/169.254.1.1/tcp/4001"}, ""},
		{"link-local ip6", []string{"/ip6/fe80::1/tcp/4001"}, ""},
		{"multicast", []string{"/ip4/224.0.0.251/tcp/5353"}, ""},
		{"broadcast", []string{"/ip4/255.255.255.255/tcp/4001"}, ""},
		{"a DNS name", []string{"/dns4/example.com/tcp/4001"}, ""},
		{"a .local name", []string{"/dns/node.local/tcp/4001"}, ""},
		{"no port", []string{"/ip4/192.0.2.7"}, ""},
		{"bare UDP", []string{"/ip4/192.0.2.7/udp/4001"}, ""},
		{"websocket", []string{"/ip4/192.0.2.7/tcp/4001/ws"}, ""},
		{"relayed", []string{"/ip4/192.0.2.7/tcp/4001/p2p/" + other.String() + "/p2p-circuit"}, ""},
		{"unix socket", []string{"/unix/tmp/x"}, ""},
		{"none", nil, ""},
		{"the first good one of many", []string{"/ip4/0.0.0.0/tcp/1", "/dns4/example.com/tcp/2", "/ip4/192.0.2.7/tcp/3", "/ip4/192.0.2.8/tcp/4"}, "/ip4/192.0.2.7/tcp/3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := testFinder(t, self, LocalDiscovery{Found: ignore})
			id := newID(t)
			f.HandlePeerFound(peer.AddrInfo{ID: id, Addrs: addrs(t, tc.addrs...)})
			got := queued(f)
			if tc.want == "" {
				require.Empty(t, got)
				require.Equal(t, map[string]int{"no address": 1}, f.counts)
				return
			}
			require.Len(t, got, 1)
			p := got[0]
			require.Equal(t, URL(addrs(t, tc.want)[0], id), p.URL)
			require.Equal(t, id, p.ID)
			// The URL is one Dial takes, naming the peer found.
			a, gotID, err := ParseURL(p.URL)
			require.NoError(t, err)
			require.Equal(t, id, gotID)
			ip, err := a.ValueForProtocol(a[0].Protocol().Code)
			require.NoError(t, err)
			require.Equal(t, netip.MustParseAddr(ip), p.Addr)
		})
	}
}

func TestLocalDiscoveryIgnoresSelfAndFloods(t *testing.T) {
	self := newID(t)
	f, _ := testFinder(t, self, LocalDiscovery{Found: ignore})
	// Its own announcement, heard back.
	f.HandlePeerFound(peer.AddrInfo{ID: self, Addrs: addrs(t, "/ip4/192.0.2.7/tcp/4001")})
	// An id that is no peer id.
	f.HandlePeerFound(peer.AddrInfo{ID: peer.ID(""), Addrs: addrs(t, "/ip4/192.0.2.7/tcp/4001")})
	// A good address past the first maxFoundAddrs is not looked at.
	var many []string
	for i := range maxFoundAddrs {
		many = append(many, fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", i+1))
	}
	many = append(many, "/ip4/192.0.2.7/tcp/4001")
	f.HandlePeerFound(peer.AddrInfo{ID: newID(t), Addrs: addrs(t, many...)})
	require.Empty(t, queued(f))
	require.Equal(t, map[string]int{"self": 1, "bad id": 1, "no address": 1}, f.counts)
}

// TestLocalDiscoveryBounds checks both bounds: one report a peer each
// Every, and MaxPeers peers each Every in all, on the finder's clock.
func TestLocalDiscoveryBounds(t *testing.T) {
	const maxPeers = 4
	f, now := testFinder(t, newID(t), LocalDiscovery{Found: ignore, MaxPeers: maxPeers, Every: time.Minute})
	announce := func(id peer.ID) {
		f.HandlePeerFound(peer.AddrInfo{ID: id, Addrs: addrs(t, "/ip4/192.0.2.7/tcp/4001")})
	}
	p := newID(t)
	for range 5 {
		announce(p)
	}
	require.Len(t, queued(f), 1, "one report of a peer announced five times at once")
	*now = now.Add(time.Minute - time.Second)
	announce(p)
	require.Empty(t, queued(f), "none before Every has passed")
	*now = now.Add(time.Second)
	announce(p)
	require.Len(t, queued(f), 1, "another once Every has passed")

	// A flood of new peers: p and three more make maxPeers this Every.
	flood := make([]peer.ID, 3*maxPeers)
	for i := range flood {
		flood[i] = newID(t)
		announce(flood[i])
	}
	got := queued(f)
	require.Len(t, got, maxPeers-1)
	for i, q := range got {
		require.Equal(t, flood[i], q.ID)
	}
	require.Len(t, f.seen, maxPeers, "the table holds no more than MaxPeers peers")

	// Next Every, the table makes room for new peers again.
	*now = now.Add(time.Minute)
	for _, id := range flood[maxPeers:] {
		announce(id)
	}
	require.Len(t, queued(f), maxPeers)
	require.Len(t, f.seen, maxPeers)
	require.Equal(t, map[string]int{"reported": 2 + 2*maxPeers - 1, "too soon": 5, "too many": 3*maxPeers - (maxPeers - 1) + 2*maxPeers - maxPeers}, f.counts)
}

// TestLocalDiscoverySlowFound has Found stuck, as a Hello to a peer that
// does not answer would be: announcements are still taken at once, the
// ones past the queue dropped, and Close ends Found's ctx and waits for
// it to return.
func TestLocalDiscoverySlowFound(t *testing.T) {
	const maxPeers = 4
	entered := make(chan FoundPeer, 1)
	returned := make(chan error, 1)
	stuck := func(ctx context.Context, p FoundPeer) {
		entered <- p
		<-ctx.Done()
		returned <- ctx.Err()
	}
	f, now := testFinder(t, newID(t), LocalDiscovery{Found: stuck, MaxPeers: maxPeers})
	f.run()
	announce := func(id peer.ID) {
		f.HandlePeerFound(peer.AddrInfo{ID: id, Addrs: addrs(t, "/ip4/192.0.2.7/tcp/4001")})
	}
	first := newID(t)
	announce(first)
	require.Equal(t, first, (<-entered).ID, "Found has the first peer, and is stuck with it")
	// These calls return although Found does not: the test would hang
	// otherwise. The queue takes maxPeers of them this Every and the
	// next (its reader being stuck), the rest are dropped.
	for range maxPeers - 1 {
		announce(newID(t))
	}
	*now = now.Add(defaultLocalEvery)
	for range 3 {
		announce(newID(t))
	}
	require.Len(t, f.queue, maxPeers)
	require.Equal(t, map[string]int{"reported": 1 + maxPeers, "queue full": 2}, f.counts)

	require.NoError(t, f.close())
	require.ErrorIs(t, <-returned, context.Canceled, "Close ended Found's ctx")
	require.Empty(t, entered, "Found was not called again: its reports were dropped at Close")
	// After Close, an announcement does nothing, and a second Close is fine.
	announce(newID(t))
	require.Equal(t, 1+maxPeers, f.counts["reported"])
	require.NoError(t, f.close())
}

func TestLocalDiscoveryConfig(t *testing.T) {
	require.NoError(t, LocalDiscovery{Found: ignore, MaxPeers: maxLocalPeers}.check())
	for _, s := range []string{"", DefaultLocalService, "_p2p._udp", "_a._tcp", "_fp-test-123456._udp"} {
		require.NoError(t, LocalDiscovery{Found: ignore, Service: s}.check(), s)
	}
	for _, d := range []LocalDiscovery{
		{Found: ignore, Service: "filepeer"},
		{Found: ignore, Service: "_filepeer"},
		{Found: ignore, Service: "_filepeer._sctp"},
		{Found: ignore, Service: "_fp-test-12345678._udp"},
		{Found: ignore, Service: "_a b._udp"},
		{Found: ignore, Service: "_a._udp.local"},
		{Found: ignore, MaxPeers: -1},
		{Found: ignore, MaxPeers: maxLocalPeers + 1},
		{Found: ignore, Every: -time.Second},
	} {
		require.Error(t, d.check(), "%+v", d)
		// New refuses it before it starts a host.
		_, err := New(Config{LocalDiscovery: d})
		require.Error(t, err)
	}
	// Off: no finder, and the zero value of every field is fine.
	require.Nil(t, newFinder(LocalDiscovery{Service: "bad", MaxPeers: -1}, newID(t)))
	require.NoError(t, LocalDiscovery{Service: "bad"}.check())
	var nilFinder *finder
	require.NoError(t, nilFinder.start(nil))
	require.NoError(t, nilFinder.close())
}

// TestLocalDiscoveryWaitsForListen checks that New alone starts no mDNS:
// the host announces itself only once it serves a node (so this test,
// in the machine's own network, sends no multicast).
func TestLocalDiscoveryWaitsForListen(t *testing.T) {
	tr, err := New(Config{LocalDiscovery: LocalDiscovery{Found: ignore}})
	require.NoError(t, err)
	require.NotNil(t, tr.local)
	tr.local.mu.Lock()
	started := tr.local.started
	tr.local.mu.Unlock()
	require.False(t, started)
	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close())
	// Closed, it will not start.
	require.NoError(t, tr.local.start(tr.h))
	require.Nil(t, tr.local.svc)
}
