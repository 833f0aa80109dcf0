package peer

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/filepeer/peer/internal/filestamp"
)

// ContentRouter finds holders of contents by their hash beyond the peers
// a node knows: a distributed hash table, say (transport/libp2p has one
// over libp2p's Kademlia DHT). A node with Config.Router announces the
// hash of each file it has hashed, and asks the router for the holders of
// contents before it floods the network with a sha256: search.
//
// What a router answers is not trusted: a node checks each URL as Hello
// would, and asks each holder itself whether it holds the contents. The
// methods may be called from several goroutines at once.
type ContentRouter interface {
	// Provide announces that this node holds the contents whose
	// SHA-256 is hash (64 lowercase hex digits), until the router's
	// records expire; the node announces each hash again every
	// Config.ProvideInterval.
	Provide(ctx context.Context, hash string) error

	// FindHolders returns the URLs of at most max nodes that announced
	// the contents of hash, or none. It returns when it has max of
	// them, has looked everywhere it can, or ctx ends.
	FindHolders(ctx context.Context, hash string, max int) ([]string, error)
}

// DefaultProvideInterval is Config.ProvideInterval's zero value: well
// within the 48 hours a provider record lives in libp2p's DHT.
const DefaultProvideInterval = 12 * time.Hour

const (
	// maxRouted caps the holders a node takes from a router's answer
	// and asks directly: a router that names more is cut there, so
	// that a lying one costs at most that many calls.
	maxRouted = 16
	// routedShare is the part of Config.QueryTimeout that asking the
	// router and the holders it names may take before the search
	// floods instead (a quarter: 7.5 s by default).
	routedShare = 4
	// routedGrace is the least time the holders a router named have to
	// confirm after the first has.
	routedGrace = 50 * time.Millisecond
	// providesAtOnce is how many announcements run at once, and
	// providesWaiting how many hashes may wait for their turn; past
	// that, a hash waits for the next scan.
	providesAtOnce  = 2
	providesWaiting = 4096
)

// routing is what a node with a Router does to announce its files: the
// hashes it has announced, and when, and the queue of those to announce.
type routing struct {
	router ContentRouter // nil: no routing
	every  time.Duration // between two announcements of a hash
	queue  *workQueue

	mu sync.Mutex
	// guards provided
	provided map[string]time.Time // hash: when it was last announced
}

// configureRouting sets up n's routing from cfg, as New checked it.
func (n *Node) configureRouting(cfg Config) {
	n.routing.router = cfg.Router
	n.routing.every = cfg.ProvideInterval
	if n.routing.every == 0 {
		n.routing.every = DefaultProvideInterval
	}
	n.routing.provided = make(map[string]time.Time)
	n.routing.queue = newWorkQueue(n, providesAtOnce, providesWaiting, n.provide)
}

// announce queues hash to be announced to the router, unless it has been
// within the interval, or the node has no router. It never blocks.
func (n *Node) announce(hash string) {
	r := &n.routing
	if r.router == nil {
		return
	}
	r.mu.Lock()
	last, ok := r.provided[hash]
	r.mu.Unlock()
	if ok && time.Since(last) < r.every {
		return
	}
	r.queue.add(hash)
}

// provide announces hash to the router: a call of the routing queue.
func (n *Node) provide(ctx context.Context, hash string) {
	ctx, cancel := context.WithTimeout(ctx, n.queryTime)
	defer cancel()
	if err := n.routing.router.Provide(ctx, hash); err != nil {
		if n.ctx.Err() == nil { // not closing
			n.log.Warn("could not announce contents to the router", "hash", hash, "err", err)
		}
		return // announced at a later scan
	}
	r := &n.routing
	r.mu.Lock()
	r.provided[hash] = time.Now()
	r.mu.Unlock()
}

// startRouting starts the goroutine that announces the node's files, if
// it has a router: at once, then each liveness interval, it walks Dir,
// has the files without a hash hashed (each is announced once hashed,
// see hashes.hash) and announces those whose last announcement is older
// than the provide interval. Close ends it.
func (n *Node) startRouting() {
	if n.routing.router == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case <-timer.C:
			}
			n.scanForRouter(n.ctx)
			timer.Reset(jitter(n.every))
		}
	}()
}

// scanForRouter announces the hashes of Dir's files that are due, has
// those without one hashed, and forgets the announcements of contents no
// longer in Dir, so that what it keeps is bounded by Dir's files.
func (n *Node) scanForRouter(ctx context.Context) {
	present := make(map[string]bool)
	n.walk(ctx, func(name string, fi fs.FileInfo) {
		if stamp, ok := filestamp.Of(fi); ok {
			if hash := n.hashes.lookup(name, stamp, fi); hash != "" {
				present[hash] = true
				n.announce(hash)
			}
		}
	})
	if ctx.Err() != nil {
		return
	}
	r := &n.routing
	r.mu.Lock()
	for hash := range r.provided {
		if !present[hash] {
			delete(r.provided, hash)
		}
	}
	r.mu.Unlock()
}

// routedHits asks the router for holders of hash, and each holder it
// names directly, with filepeer.search for "sha256:<hash>", whether it
// holds them: the hits of those that say so of their own files, one
// each, at one hop, with the URL the node asked as Peer. The router's
// answer is hostile: at most maxRouted URLs are taken from it, and only
// those that Hello would take (Config.PeerPolicy included), that are not
// this node's own, and that did not send wrong bytes for those contents
// before. The search a holder is asked comes
// with a history at the limit, so that it answers from its own files and
// passes the search to nobody; it wants one hit. A node without a router
// gets none.
//
// It takes at most a quarter of Config.QueryTimeout (routedShare), and
// once a holder has confirmed it waits for the others only as long again
// as that took, so that holders that never answer do not hold up the
// search.
func (n *Node) routedHits(ctx context.Context, hash string) []Hit {
	if n.routing.router == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.queryTime/routedShare)
	defer cancel()
	urls, err := n.routing.router.FindHolders(ctx, hash, maxRouted)
	if err != nil {
		n.log.Debug("router found no holder", "hash", hash, "err", err)
	}
	self := n.URL()
	var asked []string
	for _, u := range urls {
		if len(asked) >= maxRouted {
			break
		}
		if u == self || !validURL(u) || slices.Contains(asked, u) || n.liars.has(hash, u) || checkPeerURL(u, n.policy) != nil {
			continue
		}
		if _, err := n.tr.Dial(u); err != nil {
			continue
		}
		asked = append(asked, u)
	}
	if len(asked) == 0 {
		return nil
	}
	// A history at the limit: the holder adds itself, and passes the
	// search on to nobody (PROTOCOL.md, the history limit).
	history := make([]string, max(n.maxHistory-1, 1))
	for i := range history {
		history[i] = self
	}
	s := search{text: "sha256:" + hash, hash: hash}
	found := make([]*Hit, len(asked))
	confirmed := make(chan struct{}, len(asked))
	askCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var wg sync.WaitGroup
	for i, u := range asked {
		wg.Go(func() {
			hits, err := n.askSearch(askCtx, u, s, history, newQueryID(), 1)
			if err != nil {
				return
			}
			for _, h := range hits {
				// Its own file, at one hop: the holder is the
				// node reached at u, whatever URL it calls
				// itself by (a host may have several).
				if h.Hops == 1 && h.Hash == hash {
					h.Peer = u
					found[i] = &h
					confirmed <- struct{}{}
					return
				}
			}
		})
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	// Once one holder has confirmed, the others have as long again
	// (at least routedGrace), not the whole of the time: a router may
	// name holders that never answer.
	var grace <-chan time.Time
	for waiting := true; waiting; {
		select {
		case <-confirmed:
			if grace == nil {
				t := time.NewTimer(max(time.Since(start), routedGrace))
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			stop()
			waiting = false
		case <-all:
			waiting = false
		}
	}
	<-all
	var hits []Hit
	for _, h := range found {
		if h != nil {
			hits = append(hits, *h)
		}
	}
	if len(hits) == 0 {
		n.log.Debug("no holder the router named has the contents", "hash", hash, "named", len(urls))
	}
	return hits
}

// checkRouting validates the routing fields of cfg.
func checkRouting(cfg Config) error {
	if cfg.ProvideInterval < 0 {
		return fmt.Errorf("peer: Config.ProvideInterval is negative (%v)", cfg.ProvideInterval)
	}
	return nil
}
