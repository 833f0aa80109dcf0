package peer

import (
	"context"
	"slices"
	"sync"

	"github.com/filepeer/peer/transport"
)

// Leaving: Close, once the node no longer serves, tells its known peers
// that it is going (filepeer.bye(url)), pingsAtOnce at a time, within
// Config.LeaveTimeout. A peer told pings the node at once, and forgets
// it if nothing answers: a bye, which anyone could send, makes a node
// forget only a peer that is really gone. Book peers are not told; they
// keep the node until a query to it fails, as the book's nodes do.

// leave tells the known peers that speak the extension, or may, that the
// node is going.
func (n *Node) leave() {
	if n.leaveTime <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.leaveTime)
	defer cancel()
	self := n.URL()
	sem := make(chan struct{}, pingsAtOnce)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, url := range n.peers() {
		if n.states.get(url).speech == speechBook {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			p, err := n.tr.Dial(url)
			if err != nil {
				return
			}
			if c, ok := p.(transport.Caller); ok {
				if _, err := c.Call(ctx, methodBye, self); err != nil {
					n.log.Debug("bye failed", "peer", url, "err", err)
				}
			}
		})
	}
}

// bye serves filepeer.bye(url): it forgets url if url is a known peer
// that no longer answers, and reports whether it did.
func (n *Node) bye(ctx context.Context, url string) bool {
	if !validURL(url) {
		return false
	}
	if _, ok := slices.BinarySearch(n.peers(), url); !ok {
		return false
	}
	if err := n.ping(ctx, url); err == nil {
		return false // still there: not gone, whoever said so
	}
	if n.drop(url) {
		n.log.Info("peer left", "peer", url)
		n.emit(PeerLeft, url, nil)
		return true
	}
	return false
}
