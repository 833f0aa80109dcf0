package libp2p

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
)

// DefaultLocalService is the mDNS service name of LocalDiscovery when its
// Service is empty. It is filepeer's own, not libp2p's "_p2p._udp", so
// that a node finds the filepeer nodes on its network and not every
// libp2p program there (IPFS daemons, say), which would only fail its
// probes.
const DefaultLocalService = "_filepeer._udp"

// LocalDiscovery configures the finding of peers on the local network by
// mDNS (multicast DNS, RFC 6762): from the first Listen until Close, the
// host announces there the addresses it listens at, and tells the program
// of the other hosts that announce theirs under the same service name. It
// sends and receives multicast UDP on port 5353 of every network interface
// that is up and has multicast, so only a program that asks for it does
// so. The zero value is off.
//
// What the network says is hostile until checked: an announced address is
// reported only if Dial would take its URL, and only if it is an IP
// address (a DNS name found by multicast would have the host look up a
// name anyone on the network chose). Reports are bounded: one a peer each
// Every at most, and MaxPeers peers each Every in all.
type LocalDiscovery struct {
	// Found, if not nil, turns local discovery on: it is called with
	// each peer found. Its calls come one at a time, from a goroutine
	// of the Transport's, so a slow Found holds up only the reports
	// after it (which wait in a queue of MaxPeers, the rest dropped),
	// never mDNS itself. ctx ends when the Transport closes, and Close
	// waits for Found to return.
	//
	// A program gives the peer to its node as a hello from the
	// network, so that the node adds it only once it has answered a
	// probe, and within Config.HelloRate:
	//
	//	func(ctx context.Context, f libp2p.FoundPeer) {
	//		node.Hello(transport.WithCallerAddr(ctx, f.Addr), f.URL)
	//	}
	Found func(ctx context.Context, f FoundPeer)

	// Service is the mDNS service name announced and looked for, as
	// "_name._udp" (a name of 1 to 15 letters, digits and hyphens).
	// If empty, it is DefaultLocalService.
	Service string

	// MaxPeers bounds the peers reported each Every, and the peers
	// remembered to hold each to one report each Every. If zero, it is
	// 256; it may be at most 4096.
	MaxPeers int

	// Every is the least time between two reports of one peer. If
	// zero, it is a minute.
	Every time.Duration
}

// FoundPeer is a peer found on the local network.
type FoundPeer struct {
	// URL is the peer's URL, as Dial takes it: libp2p:///ip4/…/p2p/<id>.
	URL string
	// ID is the peer id at the end of URL.
	ID peer.ID
	// Addr is the IP address in URL, the caller address to give the
	// node's Hello (transport.WithCallerAddr).
	Addr netip.Addr
}

const (
	defaultLocalPeers = 256
	maxLocalPeers     = 4096 // the queue's memory, about 60 bytes a peer
	defaultLocalEvery = time.Minute
	// maxFoundAddrs bounds the addresses of one announcement looked
	// at: a host announces its few listen addresses.
	maxFoundAddrs = 16
)

// serviceName is what RFC 6763 allows in an mDNS service name, with
// libp2p's TXT-record discovery over UDP or TCP.
var serviceName = regexp.MustCompile(`^_[A-Za-z0-9-]{1,15}\._(udp|tcp)$`)

// check validates d, as New does.
func (d LocalDiscovery) check() error {
	if d.Found == nil {
		return nil
	}
	switch {
	case d.Service != "" && !serviceName.MatchString(d.Service):
		return fmt.Errorf("libp2p: LocalDiscovery.Service %q: not _name._udp (a name of 1 to 15 letters, digits and hyphens)", short(d.Service))
	case d.MaxPeers < 0 || d.MaxPeers > maxLocalPeers:
		return fmt.Errorf("libp2p: LocalDiscovery.MaxPeers %d: not within 0 and %d", d.MaxPeers, maxLocalPeers)
	case d.Every < 0:
		return errors.New("libp2p: LocalDiscovery.Every is negative")
	}
	return nil
}

// finder is local discovery on one host: the mDNS service, whose
// Notifee it is, and the goroutine that hands what it finds to Found.
type finder struct {
	self    peer.ID
	service string
	found   func(context.Context, FoundPeer)
	max     int
	every   time.Duration
	now     func() time.Time
	queue   chan FoundPeer

	ctx    context.Context // ends at close, for Found
	cancel context.CancelFunc
	wg     sync.WaitGroup // the delivering goroutine

	mu      sync.Mutex
	started bool                  // guarded by mu
	closed  bool                  // guarded by mu
	svc     mdns.Service          // guarded by mu
	seen    map[peer.ID]time.Time // guarded by mu: when each peer was last reported
	counts  map[string]int        // guarded by mu: reports and the reasons for not reporting, for tests
}

// newFinder returns local discovery for host self as d configures it (d
// checked), or nil if d is off.
func newFinder(d LocalDiscovery, self peer.ID) *finder {
	if d.Found == nil {
		return nil
	}
	f := &finder{
		self:    self,
		service: cmp.Or(d.Service, DefaultLocalService),
		found:   d.Found,
		max:     cmp.Or(d.MaxPeers, defaultLocalPeers),
		every:   cmp.Or(d.Every, defaultLocalEvery),
		now:     time.Now,
		seen:    map[peer.ID]time.Time{},
		counts:  map[string]int{},
	}
	f.queue = make(chan FoundPeer, f.max)
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// start announces h on the local network and looks for peers, once: the
// announcement holds the addresses h listens at now. Nil f does nothing.
func (f *finder) start(h host.Host) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed {
		return nil
	}
	svc := mdns.NewMdnsService(h, f.service, f)
	if err := svc.Start(); err != nil {
		svc.Close()
		return fmt.Errorf("libp2p: local discovery: %w", err)
	}
	f.started, f.svc = true, svc
	f.run()
	return nil
}

// run starts the goroutine that hands the peers found to Found.
func (f *finder) run() {
	f.wg.Add(1)
	go f.deliver()
}

// deliver hands the queued peers to Found, one at a time, until close.
func (f *finder) deliver() {
	defer f.wg.Done()
	for {
		select {
		case <-f.ctx.Done():
			return
		case p := <-f.queue:
			if f.ctx.Err() != nil {
				return // select picks at random among ready cases
			}
			f.found(f.ctx, p)
		}
	}
}

// HandlePeerFound is mdns.Notifee's: the mDNS service calls it, in a
// goroutine of its own each time, with a peer it heard of. It checks the
// peer and queues it for Found, never waiting for Found.
func (f *finder) HandlePeerFound(info peer.AddrInfo) {
	p, why := f.check(info)
	// The rest is under mu, which close takes too: a call that has it
	// is done before close goes on, and one after close returns at once.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if why == "" {
		why = f.admit(p)
	}
	f.counts[why]++
}

// check returns the peer info announces, with the first of its addresses
// that Dial would take, or why there is none.
func (f *finder) check(info peer.AddrInfo) (FoundPeer, string) {
	if info.ID == f.self {
		return FoundPeer{}, "self"
	}
	if info.ID.Validate() != nil {
		return FoundPeer{}, "bad id"
	}
	for i, a := range info.Addrs {
		if i == maxFoundAddrs {
			break
		}
		if p, ok := foundAt(a, info.ID); ok {
			return p, ""
		}
	}
	return FoundPeer{}, "no address"
}

// foundAt returns the peer id at a, if a is an IP address that Dial
// takes.
func foundAt(a ma.Multiaddr, id peer.ID) (FoundPeer, bool) {
	if len(a) == 0 {
		return FoundPeer{}, false
	}
	switch a[0].Protocol().Code {
	case ma.P_IP4, ma.P_IP6:
	default:
		return FoundPeer{}, false
	}
	ip, ok := netip.AddrFromSlice(a[0].RawValue())
	if !ok {
		return FoundPeer{}, false
	}
	url := URL(a, id)
	// Dial's own check, on the URL as Dial will see it.
	if _, got, err := ParseURL(url); err != nil || got != id {
		return FoundPeer{}, false
	}
	return FoundPeer{URL: url, ID: id, Addr: ip.Unmap()}, true
}

// admit queues p unless it, or too many others, were reported within
// Every, or the queue is full; it returns "reported" or why not. Called
// under f.mu.
func (f *finder) admit(p FoundPeer) string {
	now := f.now()
	if last, ok := f.seen[p.ID]; ok && now.Sub(last) < f.every {
		return "too soon"
	}
	if _, ok := f.seen[p.ID]; !ok && len(f.seen) >= f.max {
		// Forget the peers reported longer than Every ago, which may
		// be reported again anyway; if none, the table is full of
		// this Every's peers, and p waits for the next.
		for id, last := range f.seen {
			if now.Sub(last) >= f.every {
				delete(f.seen, id)
			}
		}
		if len(f.seen) >= f.max {
			return "too many"
		}
	}
	select {
	case f.queue <- p:
	default:
		return "queue full"
	}
	f.seen[p.ID] = now
	return "reported"
}

// close stops mDNS, ends Found's ctx and waits for every goroutine of
// f's. Nil f does nothing.
func (f *finder) close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	svc := f.svc
	f.mu.Unlock()
	f.cancel()
	var err error
	if svc != nil {
		// Waits for the service's goroutines, but for those that
		// call HandlePeerFound, which return at once now.
		err = svc.Close()
	}
	f.wg.Wait()
	return err
}
