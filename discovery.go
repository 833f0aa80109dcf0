package peer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/filepeer/peer/transport"
)

// Discovery: a node that knows fewer than Config.TargetPeers peers asks
// its peers for theirs (filepeer.peers), at most asksPerRound of them a
// round, and adds the URLs they give, at most 2×target probes a round,
// each only after Hello's checks of the URL and a ping it answered. A
// peer it adds that speaks the extension is told of the node (hello), so
// that links go both ways and the node's files can be found; book nodes
// are not, so that discovery never changes a Python node's peers.
const (
	maxPeersReply = 32 // URLs filepeer.peers answers with, at most
	asksPerRound  = 8  // peers one discovery round asks for theirs
)

// samplePeers is filepeer.peers's answer: up to maxPeersReply known
// peers, at random, those that have answered a call first.
func (n *Node) samplePeers() []any {
	known := n.peers()
	var answered, silent []string
	for _, u := range known {
		if n.states.get(u).answered {
			answered = append(answered, u)
		} else {
			silent = append(silent, u)
		}
	}
	rand.Shuffle(len(answered), func(i, j int) { answered[i], answered[j] = answered[j], answered[i] })
	rand.Shuffle(len(silent), func(i, j int) { silent[i], silent[j] = silent[j], silent[i] })
	out := make([]any, 0, min(len(known), maxPeersReply))
	for _, u := range append(answered, silent...) {
		if len(out) == maxPeersReply {
			break
		}
		out = append(out, u)
	}
	return out
}

// discover runs one round of discovery, if the node knows fewer peers
// than its target and at least one.
func (n *Node) discover(ctx context.Context) {
	known := n.peers()
	if len(known) >= n.target || len(known) == 0 {
		return
	}
	self := n.URL()
	tried := map[string]bool{self: true}
	for _, u := range known {
		tried[u] = true
	}
	queue := append([]string(nil), known...)
	rand.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	probes := 0
	for asked := 0; asked < asksPerRound && len(queue) > 0 && ctx.Err() == nil; {
		url := queue[0]
		queue = queue[1:]
		if n.states.get(url).speech == speechBook {
			continue // has no filepeer.peers
		}
		asked++
		list, err := n.askPeers(ctx, url)
		if err != nil {
			n.log.Debug("asking for peers failed", "peer", url, "err", err)
			continue
		}
		for _, c := range list {
			if len(n.peers()) >= n.target || probes >= 2*n.target || ctx.Err() != nil {
				return
			}
			if tried[c] {
				continue
			}
			tried[c] = true
			probes++
			if n.introduce(ctx, c, self) {
				queue = append(queue, c)
			}
		}
	}
}

// askPeers calls filepeer.peers on url and checks its answer: at most
// maxPeersReply strings, each a URL a peer could be sent.
func (n *Node) askPeers(ctx context.Context, url string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.pingTimeout())
	defer cancel()
	p, err := n.tr.Dial(url)
	if err != nil {
		return nil, err
	}
	c, ok := p.(transport.Caller)
	if !ok {
		return nil, errors.New("peer: the transport carries no extension calls")
	}
	v, err := c.Call(ctx, methodPeers)
	n.noteExtension(url, err)
	if err != nil {
		return nil, err
	}
	vals, ok := v.([]any)
	if !ok || len(vals) > maxPeersReply {
		return nil, fmt.Errorf("peer: %s answered %s with %s, not an array of at most %d URLs", truncate(url), methodPeers, describe(v), maxPeersReply)
	}
	urls := make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok || !validURL(s) {
			return nil, fmt.Errorf("peer: %s answered %s with %s, not a URL", truncate(url), methodPeers, describe(v))
		}
		urls = append(urls, s)
	}
	return urls, nil
}

// describe names what a peer sent, briefly, for an error.
func describe(v any) string {
	switch v := v.(type) {
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case string:
		return fmt.Sprintf("%q", truncate(v))
	}
	return fmt.Sprintf("a %T", v)
}

// introduce adds the peer at url, which another peer gave, if Hello's
// checks pass and it answers a ping, and reports whether it did; a peer
// added that speaks the extension is told of self.
func (n *Node) introduce(ctx context.Context, url, self string) bool {
	if err := checkPeerURL(url, n.policy); err != nil {
		n.log.Debug("not a peer to add", "peer", truncate(url), "err", err)
		return false
	}
	if _, err := n.tr.Dial(url); err != nil {
		return false
	}
	if err := n.ping(ctx, url); err != nil {
		return false
	}
	// ctx is the node's own: Hello is not rate-limited, and adds a peer
	// that has just answered at once.
	if err := n.Hello(ctx, url); err != nil {
		n.log.Debug("could not add a discovered peer", "peer", url, "err", err)
		return false
	}
	n.log.Debug("discovered", "peer", url)
	if n.states.get(url).speech == speechExt {
		hctx, cancel := context.WithTimeout(ctx, n.pingTimeout())
		defer cancel()
		if p, err := n.tr.Dial(url); err == nil {
			if err := p.Hello(hctx, self); err != nil {
				n.log.Debug("could not tell a discovered peer of this node", "peer", url, "err", err)
			}
		}
	}
	return true
}
