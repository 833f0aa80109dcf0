package peer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/filepeer/peer/transport"
)

// Liveness: from Start to Close a node pings each known peer every
// Config.PingInterval (with jitter, so that a network's pings spread
// out), at most pingsAtOnce at a time, with filepeer.ping. Any answer
// counts: a Go node's result, and the fault a book node answers for a
// method it does not know, which has no side effect there (no broadcast,
// no change to its peers or files). A peer that fails is pinged again a
// quarter interval later, and forgotten after Config.PingFailures
// failed pings in a row; an answer clears the count. (A query that fails
// on a peer still makes the node forget it at once, as before: the
// query's caller has seen the failure, and discovery finds peers again.)
const (
	// DefaultPingInterval is Config.PingInterval's zero value.
	DefaultPingInterval = 30 * time.Second
	// DefaultPingFailures is Config.PingFailures's zero value.
	DefaultPingFailures = 3
	// DefaultTargetPeers is Config.TargetPeers's zero value.
	DefaultTargetPeers = 16
	// DefaultLeaveTimeout is Config.LeaveTimeout's zero value.
	DefaultLeaveTimeout = 2 * time.Second

	pingsAtOnce    = 16               // pings (and byes) in flight at once
	maxPingTimeout = 10 * time.Second // a ping's wait, at most half the interval
)

// living is a node's background life: its settings, fixed by New, and
// the state its background goroutine keeps.
type living struct {
	every     time.Duration // between two pings of a peer that answers
	pinging   bool
	failures  int           // failures in a row that make a peer forgotten
	target    int           // peers discovery keeps; 0: no discovery
	leaveTime time.Duration // Close's bound on byes; 0: none sent
	peersFile string
	onPeer    func(PeerEvent)

	vitals vitals
	bg     sync.WaitGroup // the background goroutine, which Close waits for

	saveMu sync.Mutex
	// guards saved
	saved []string // the peers last written to peersFile; nil: none yet
}

// checkLiving validates the living-network fields of cfg.
func checkLiving(cfg Config) error {
	maxKnown := cfg.MaxKnown
	if maxKnown <= 0 {
		maxKnown = DefaultMaxKnown
	}
	switch {
	case cfg.PingFailures < 0:
		return fmt.Errorf("peer: Config.PingFailures is negative (%d)", cfg.PingFailures)
	case cfg.TargetPeers > maxKnown:
		return fmt.Errorf("peer: Config.TargetPeers (%d) is more than MaxKnown (%d)", cfg.TargetPeers, maxKnown)
	}
	if cfg.PeersFile != "" {
		dir, err1 := filepath.Abs(cfg.Dir)
		file, err2 := filepath.Abs(cfg.PeersFile)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("peer: Config.PeersFile: %w", err)
		}
		rel, err := filepath.Rel(dir, file)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("peer: Config.PeersFile %q is inside Dir, where peers could fetch it", cfg.PeersFile)
		}
	}
	return nil
}

// configure fills in l's settings from cfg, as checked by checkLiving.
func (l *living) configure(cfg Config, maxKnown int) {
	l.every = cfg.PingInterval
	l.pinging = cfg.PingInterval >= 0
	l.failures = cfg.PingFailures
	l.target = cfg.TargetPeers
	l.leaveTime = cfg.LeaveTimeout
	l.peersFile = cfg.PeersFile
	l.onPeer = cfg.OnPeer
	if l.every <= 0 {
		l.every = DefaultPingInterval // the cadence of discovery and saving too
	}
	if l.failures == 0 {
		l.failures = DefaultPingFailures
	}
	switch {
	case l.target == 0:
		l.target = min(DefaultTargetPeers, maxKnown)
	case l.target < 0:
		l.target = 0
	}
	switch {
	case l.leaveTime == 0:
		l.leaveTime = DefaultLeaveTimeout
	case l.leaveTime < 0:
		l.leaveTime = 0
	}
}

// awaken is Start's last step: the peers of PeersFile, then the
// background goroutine, unless Close came first.
func (n *Node) awaken() {
	n.loadPeers()
	if !n.pinging && n.target == 0 && n.peersFile == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.bg.Add(1)
	go n.tend()
}

// tend is the node's background goroutine: every quarter interval it
// pings the peers due, then, at most once an interval, looks for more
// peers, and writes PeersFile if the known peers changed.
func (n *Node) tend() {
	defer n.bg.Done()
	tick := n.every / 4
	timer := time.NewTimer(jitter(tick))
	defer timer.Stop()
	var discovered time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-timer.C:
		}
		if n.pinging {
			n.pingDue(n.ctx)
		}
		if n.target > 0 && (discovered.IsZero() || time.Since(discovered) >= n.every-tick/2) {
			discovered = time.Now()
			n.discover(n.ctx)
		}
		n.savePeers()
		timer.Reset(jitter(tick))
	}
}

// jitter returns d ±10%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - d/10 + rand.N(d/5+1)
}

// pingTimeout bounds a ping, and the other calls of the background work.
func (n *Node) pingTimeout() time.Duration { return min(n.every/2, maxPingTimeout) }

// pingDue pings the known peers whose turn it is, pingsAtOnce at a time,
// and returns when every ping has ended.
func (n *Node) pingDue(ctx context.Context) {
	due := n.vitals.due(n.peers(), time.Now(), n.every)
	sem := make(chan struct{}, pingsAtOnce)
	var wg sync.WaitGroup
	for i, url := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, u := range due[i:] {
				n.vitals.release(u)
			}
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := n.ping(ctx, url)
			switch {
			case ctx.Err() != nil:
				n.vitals.release(url) // closing: nothing learned
			case err == nil:
				n.vitals.answered(url, time.Now().Add(jitter(n.every)))
			default:
				n.failed(url, err)
			}
		})
	}
	wg.Wait()
}

// ping asks the peer at url whether it is there, and returns nil if it
// answered at all: a result or any fault.
func (n *Node) ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, n.pingTimeout())
	defer cancel()
	p, err := n.tr.Dial(url)
	if err != nil {
		return err
	}
	switch c := p.(type) {
	case transport.Caller:
		_, err = c.Call(ctx, methodPing)
		n.noteExtension(url, err)
		if errors.As(err, new(*Fault)) {
			// A method it does not know: a book node, which says so
			// without doing anything else.
			err = nil
		}
	case transport.Lister:
		// A transport with no extension calls: list has no side effect.
		_, err = c.List(ctx)
		var f *Fault
		if errors.As(err, &f) {
			err = nil
		}
	default:
		return nil // no way to ask without side effects: presumed there
	}
	n.noteAnswer(url, err, speechUnknown)
	return err
}

// failed counts a failed ping of the known peer url and forgets the peer
// after PingFailures in a row.
func (n *Node) failed(url string, err error) {
	if !n.vitals.failed(url, n.failures, time.Now().Add(n.every/4)) {
		n.log.Debug("peer failed", "peer", url, "err", err)
		return
	}
	n.log.Info("forgetting peer", "peer", url, "err", err)
	n.forgotten(url, err)
}

// vitals is what the pings have learned of each known peer. Safe for
// concurrent use.
type vitals struct {
	mu sync.Mutex
	// guards of
	of map[string]*vital
}

type vital struct {
	due     time.Time // when to ping it next
	fails   int       // failed calls in a row
	pinging bool      // a ping is in flight
}

// due returns the peers of known (sorted) to ping now, marking them in
// flight; a peer seen for the first time is given a first ping at a
// random time within every, so that pings spread out. Peers no longer
// known are dropped.
func (v *vitals) due(known []string, now time.Time, every time.Duration) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.of == nil {
		v.of = make(map[string]*vital)
	}
	for url := range v.of {
		if _, ok := slices.BinarySearch(known, url); !ok {
			delete(v.of, url)
		}
	}
	var due []string
	for _, url := range known {
		s := v.of[url]
		if s == nil {
			s = &vital{due: now.Add(rand.N(every))}
			v.of[url] = s
		}
		if !s.pinging && !s.due.After(now) {
			s.pinging = true
			due = append(due, url)
		}
	}
	return due
}

// answered records an answer from url, to be pinged again at next.
func (v *vitals) answered(url string, next time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.of[url]; s != nil {
		*s = vital{due: next}
	}
}

// failed counts a failure of url, to be pinged again at retry, and
// reports whether it makes limit failures in a row.
func (v *vitals) failed(url string, limit int, retry time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.of == nil {
		v.of = make(map[string]*vital)
	}
	s := v.of[url]
	if s == nil {
		s = &vital{}
		v.of[url] = s
	}
	s.fails++
	s.pinging = false
	s.due = retry
	if s.fails >= limit {
		delete(v.of, url)
		return true
	}
	return false
}

// release ends a ping that learned nothing.
func (v *vitals) release(url string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.of[url]; s != nil {
		s.pinging = false
	}
}

func (v *vitals) forget(url string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.of, url)
}

// failures returns how many calls to url have failed in a row.
func (v *vitals) failures(url string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.of[url]; s != nil {
		return s.fails
	}
	return 0
}
