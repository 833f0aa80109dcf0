package libp2p

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/amino"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"

	filepeer "github.com/filepeer/peer"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// DefaultDHTPrefix is the protocol prefix of filepeer's DHT when
// DHTConfig.ProtocolPrefix is empty: its protocol is /filepeer/kad/1.0.0,
// so that its hosts form a DHT of their own, apart from the public IPFS
// one (/ipfs/kad/1.0.0), which they neither join nor answer.
const DefaultDHTPrefix protocol.ID = "/filepeer"

// maxBootstrap caps DHTConfig.Bootstrap.
const maxBootstrap = 64

// lookupConcurrency is how many hosts a lookup asks at once.
const lookupConcurrency = 3

// maxFound caps the holders FindHolders gathers, whatever its caller
// asks, and so what the DHT's lookup keeps of what other hosts answer.
const maxFound = 256

// DHTConfig configures a DHT.
type DHTConfig struct {
	// Bootstrap are the libp2p URLs (with an address and a peer id) of
	// hosts of the DHT to join by: Bootstrap connects to them, and the
	// DHT does again whenever its routing table runs empty. At most 64.
	// If empty, the host waits to be joined: others bootstrap from it,
	// or the peers it connects to for filepeer's calls are taken into
	// its table if they are in the DHT.
	Bootstrap []string

	// ProtocolPrefix is the prefix of the DHT's protocol. If empty, it
	// is DefaultDHTPrefix. The public IPFS DHT's, /ipfs, is refused.
	ProtocolPrefix protocol.ID

	// OnRequest, if not nil, is called for each DHT request the host
	// serves, with the peer that sent it, on the goroutine serving it;
	// it must return quickly. For a program's metrics, and the tests'
	// counts of messages.
	OnRequest func(from peer.ID)

	// MaxProviderRecords bounds the provider records the host keeps for
	// others, in memory, and MaxProviderRecordsPerHost those of any one
	// providing host: past either, new records are dropped until old
	// ones expire (after 48 hours unless announced again), so that
	// hosts that announce without end cannot fill this one's memory. If
	// zero, DefaultMaxProviderRecords and
	// DefaultMaxProviderRecordsPerHost.
	MaxProviderRecords, MaxProviderRecordsPerHost int
}

// DHT is a filepeer.ContentRouter over a Kademlia DHT of libp2p (go-libp2p-kad-dht)
// on a Transport's host, in server mode, under a protocol prefix of its
// own. Contents are keyed by a CID of their SHA-256 (CIDv1, raw codec,
// multihash sha2-256), and a provider record's addresses become a
// holder's libp2p URL. Safe for concurrent use.
//
// The DHT trusts nothing it is told for the node: a holder it finds is
// only a URL to ask (see filepeer.ContentRouter). Addresses that no
// peer can have (unspecified, link-local, multicast, relayed, anything
// but TCP or QUIC at an IP address: DNS names too) are dropped from
// what the DHT learns, before the host could dial or resolve them;
// Config.ConnectionGater narrows the rest. It keeps the provider records
// others announce to it in memory, bounded in all and per providing host
// (DHTConfig.MaxProviderRecords).
type DHT struct {
	t         *Transport
	dht       *kaddht.IpfsDHT
	providers *providerStore // the records kept for others
	// boot are the bootstrap peers, parsed.
	boot []peer.AddrInfo

	// ctx ends when the DHT closes, cancelling the calls at work.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// guards calls and closed
	calls  sync.WaitGroup // the calls at work; Close waits for them
	closed bool
}

var _ filepeer.ContentRouter = (*DHT)(nil)

// NewDHT starts a DHT on t's host, configured by cfg. It connects to
// nobody until Bootstrap, or until the host connects to a peer. Close
// it before t.
func NewDHT(t *Transport, cfg DHTConfig) (*DHT, error) {
	if t == nil {
		return nil, errors.New("libp2p: dht: nil Transport")
	}
	prefix := cfg.ProtocolPrefix
	switch {
	case prefix == "":
		prefix = DefaultDHTPrefix
	case prefix == amino.ProtocolPrefix:
		return nil, fmt.Errorf("libp2p: dht: protocol prefix %s is the public IPFS DHT's", prefix)
	case !strings.HasPrefix(string(prefix), "/") || strings.ContainsAny(string(prefix), " \t\n"):
		return nil, fmt.Errorf("libp2p: dht: protocol prefix %q: want /name", prefix)
	}
	if len(cfg.Bootstrap) > maxBootstrap {
		return nil, fmt.Errorf("libp2p: dht: %d bootstrap peers, more than %d", len(cfg.Bootstrap), maxBootstrap)
	}
	d := &DHT{t: t}
	for _, u := range cfg.Bootstrap {
		addr, id, err := ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("libp2p: dht: bootstrap: %w", err)
		}
		if len(addr) == 0 {
			return nil, fmt.Errorf("libp2p: dht: bootstrap %s: no address", short(u))
		}
		if id == t.ID() {
			continue // this host
		}
		d.boot = append(d.boot, peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}})
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, xmlrpc.ErrClosed
	}
	if cfg.MaxProviderRecords < 0 || cfg.MaxProviderRecordsPerHost < 0 {
		return nil, fmt.Errorf("libp2p: dht: negative bound on provider records (%d, %d a host)", cfg.MaxProviderRecords, cfg.MaxProviderRecordsPerHost)
	}
	d.providers = newProviderStore(t.ID(), cmp.Or(cfg.MaxProviderRecords, DefaultMaxProviderRecords),
		cmp.Or(cfg.MaxProviderRecordsPerHost, DefaultMaxProviderRecordsPerHost))
	opts := []kaddht.Option{
		kaddht.Mode(kaddht.ModeServer),
		kaddht.ProviderDatastore(d.providers),
		kaddht.ProtocolPrefix(prefix),
		// Provider records only: no values (public keys, IPNS) to
		// store for anyone.
		kaddht.DisableValues(),
		kaddht.AddressFilter(dialable),
		// Kademlia's own α: three queries in flight per lookup.
		// Amino's ten suit a public DHT of thousands of hosts, slow
		// and often gone; in a network of tens or hundreds they ask
		// half the hosts for nothing.
		kaddht.Concurrency(lookupConcurrency),
	}
	if len(d.boot) > 0 {
		opts = append(opts, kaddht.BootstrapPeers(d.boot...))
	}
	if f := cfg.OnRequest; f != nil {
		opts = append(opts, kaddht.OnRequestHook(func(_ context.Context, s network.Stream, _ *pb.Message) {
			f(s.Conn().RemotePeer())
		}))
	}
	kd, err := kaddht.New(t.h, opts...)
	if err != nil {
		return nil, fmt.Errorf("libp2p: dht: %w", err)
	}
	d.dht = kd
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// ProviderRecords returns how many provider records of other hosts the
// DHT keeps, as its store holds them: the last few hundred announced
// wait in memory before they are written there. For a program's
// metrics; DHTConfig.MaxProviderRecords bounds it.
func (d *DHT) ProviderRecords() int {
	all, _ := d.providers.held("")
	return all
}

// dialable keeps the addresses that a peer can have and this transport
// dials, at an IP address: the DHT's filter on what it learns and
// announces. DNS names are dropped too, so that no host of the DHT can
// make this one look up a name of its choosing.
func dialable(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if len(a) > 0 && checkAddr(a) == nil && (a[0].Protocol().Code == ma.P_IP4 || a[0].Protocol().Code == ma.P_IP6) {
			out = append(out, a)
		}
	}
	return out
}

// enter registers a call, so that Close waits for it; the context it
// gives ends with ctx or when the DHT closes.
func (d *DHT) enter(ctx context.Context) (context.Context, func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, xmlrpc.ErrClosed
	}
	d.calls.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.ctx, cancel)
	return ctx, func() { stop(); cancel(); d.calls.Done() }, nil
}

// Bootstrap connects to the bootstrap peers of DHTConfig and fills the
// routing table from them. It fails if there were some and none could
// be reached. The DHT goes on refreshing its table by itself; Bootstrap
// need not be called again.
func (d *DHT) Bootstrap(ctx context.Context) error {
	ctx, leave, err := d.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if len(d.boot) == 0 {
		return nil
	}
	errs := make([]error, len(d.boot))
	var wg sync.WaitGroup
	for i, ai := range d.boot {
		wg.Go(func() {
			if err := d.t.h.Connect(ctx, ai); err != nil {
				errs[i] = fmt.Errorf("%s: %w", ai.ID, err)
			}
		})
	}
	wg.Wait()
	if !anyNil(errs) {
		return fmt.Errorf("libp2p: dht: no bootstrap peer reached: %w", errors.Join(errs...))
	}
	// A peer enters the routing table once libp2p's identify has told
	// that it speaks the DHT's protocol, a moment after it connects.
	for wait := 5 * time.Millisecond; d.dht.RoutingTable().Size() == 0; wait = min(2*wait, 250*time.Millisecond) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("libp2p: dht: bootstrap: no peer in the routing table yet: %w", ctx.Err())
		}
	}
	select {
	case err := <-d.dht.RefreshRoutingTable():
		if err != nil {
			return fmt.Errorf("libp2p: dht: bootstrap: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// anyNil reports whether some connection succeeded.
func anyNil(errs []error) bool {
	for _, e := range errs {
		if e == nil {
			return true
		}
	}
	return false
}

// hashCID returns the CID of the contents of hash: 64 lowercase hex
// digits of SHA-256.
func hashCID(hash string) (cid.Cid, error) {
	digest, err := hex.DecodeString(hash)
	if err != nil || len(digest) != 32 || strings.ToLower(hash) != hash {
		return cid.Undef, fmt.Errorf("libp2p: dht: %q is not a hex SHA-256", short(hash))
	}
	mh, err := multihash.Encode(digest, multihash.SHA2_256)
	if err != nil {
		return cid.Undef, fmt.Errorf("libp2p: dht: %w", err)
	}
	return cid.NewCidV1(cid.Raw, mh), nil
}

// Provide announces that this host holds the contents of hash: a
// provider record, with the host's addresses, at the hosts of the DHT
// nearest the contents' key. It fails if the DHT knows no host yet.
func (d *DHT) Provide(ctx context.Context, hash string) error {
	c, err := hashCID(hash)
	if err != nil {
		return err
	}
	ctx, leave, err := d.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if err := d.dht.Provide(ctx, c, true); err != nil {
		return fmt.Errorf("libp2p: dht: provide: %w", err)
	}
	return nil
}

// FindHolders returns the libp2p URLs of at most max (and at most 256)
// hosts that announced the contents of hash, this host's own left out: one URL each, at the
// first of its addresses that this transport can dial. It returns when
// it has max, when the DHT's lookup ends, or when ctx ends, with what it
// found.
func (d *DHT) FindHolders(ctx context.Context, hash string, max int) ([]string, error) {
	c, err := hashCID(hash)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	max = min(max, maxFound)
	ctx, leave, err := d.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []string
	// The channel closes once the lookup ends, which cancel hastens:
	// the loop drains it, so that no goroutine of the DHT is left
	// blocked on it.
	for ai := range d.dht.FindProvidersAsync(ctx, c, max) {
		if ai.ID == d.t.h.ID() || len(out) >= max {
			continue
		}
		addrs := dialable(ai.Addrs)
		if len(addrs) == 0 {
			addrs = dialable(d.t.h.Peerstore().Addrs(ai.ID))
		}
		if len(addrs) == 0 {
			continue
		}
		out = append(out, URL(addrs[0], ai.ID))
		if len(out) >= max {
			cancel()
		}
	}
	if len(out) == 0 && ctx.Err() != nil && d.ctx.Err() != nil {
		return nil, xmlrpc.ErrClosed
	}
	return out, nil
}

// Close stops the DHT: the calls at work end, and its background work
// stops. It is safe to call more than once.
func (d *DHT) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.calls.Wait()
	if err := d.dht.Close(); err != nil {
		return fmt.Errorf("libp2p: dht: close: %w", err)
	}
	return nil
}
