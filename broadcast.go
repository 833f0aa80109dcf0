package peer

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/filepeer/peer/transport"
)

// errQueryTimeout ends the search of a query after Config.QueryTimeout.
var errQueryTimeout = errors.New("peer: no peer found the file within the query timeout")

// broadcast asks the known peers not in history, n.fanout at a time, to
// run the query id; the first success wins, and the branches still
// running are cancelled, their bodies closed. It returns once every
// branch has ended, so no goroutine outlives it. A peer that answers a
// fault, any fault, meant it and stays known; one whose call failed
// (refused, timed out, garbage) is forgotten, unless the failure came
// from cancelling it. If ctx ends, broadcast returns its error.
func (n *Node) broadcast(ctx context.Context, name string, history []string, id string) (io.ReadCloser, error) {
	var peers []string
	for _, url := range n.peers() {
		if !slices.Contains(history, url) {
			peers = append(peers, url)
		}
	}
	if len(peers) == 0 {
		return nil, unhandled()
	}
	search, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(n.queryTime, func() { cancel(errQueryTimeout) })

	type answer struct {
		branch int
		body   io.ReadCloser
		err    error
		cut    bool // the branch had been cancelled when it ended
	}
	answers := make(chan answer)
	branches := make([]context.CancelFunc, len(peers))
	running, next := 0, 0
	won, winner := io.ReadCloser(nil), -1
	for running > 0 || (winner < 0 && next < len(peers) && search.Err() == nil) {
		for winner < 0 && running < n.fanout && next < len(peers) && search.Err() == nil {
			i := next
			next++
			running++
			var bctx context.Context
			bctx, branches[i] = context.WithCancel(search)
			go func() {
				runtime.Gosched()
				body, err := n.ask(bctx, peers[i], name, history, id)
				answers <- answer{i, body, err, bctx.Err() != nil}
			}()
		}
		a := <-answers
		running--
		url := peers[a.branch]
		switch {
		case a.err == nil && winner < 0:
			won, winner = a.body, a.branch
			for j, stop := range branches[:next] {
				if j != winner {
					stop()
				}
			}
		case a.err == nil:
			a.body.Close() // a second find, too late
			branches[a.branch]()
		default:
			branches[a.branch]()
			n.judge(url, name, a.err, a.cut)
		}
	}
	if winner >= 0 && timer.Stop() {
		stop := branches[winner]
		return relay(won, func() { stop(); cancel(nil) }), nil
	}
	if won != nil {
		won.Close() // found, but the timeout cut it off meanwhile
	}
	timer.Stop()
	cancel(nil)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, unhandled()
}

// judge decides what the failed call to url says about that peer;
// cancelled says the call was cut short here, which is nobody's fault.
func (n *Node) judge(url, name string, err error, cancelled bool) {
	var f *Fault
	switch {
	case errors.As(err, &f):
		n.log.Debug("peer could not handle", "peer", url, "name", name, "fault", f.Code)
	case cancelled:
	default:
		n.log.Info("forgetting peer", "peer", url, "err", err)
		n.forgotten(url, err)
	}
}

// ask runs the query on the peer at url: filepeer.query, carrying its
// identity, to a peer that speaks the extension or has not said yet, and
// the book's query to one that answered the extension with a fault.
func (n *Node) ask(ctx context.Context, url, name string, history []string, id string) (io.ReadCloser, error) {
	p, err := n.tr.Dial(url)
	if err != nil {
		return nil, err
	}
	if c, ok := p.(transport.Caller); ok && n.dialects.get(url) != speechBook {
		body, err := c.Open(ctx, methodQuery, name, history, id)
		var f *Fault
		switch {
		case err == nil, errors.As(err, &f) && (f.Code == Unhandled || f.Code == AccessDenied):
			n.dialects.learn(url, speechExt)
			return body, err
		case f == nil:
			return nil, err // the call failed: nothing learned
		}
		// Any other fault is a book node's answer to a method it does
		// not know (or a peer that cannot serve it): the book's query
		// from now on.
		n.log.Debug("peer speaks the book's methods only", "peer", url)
		n.dialects.learn(url, speechBook)
	}
	n.seen.lend(id, name, history)
	return p.Query(ctx, name, history)
}

// relay wraps a body received from a peer so that closing it releases the
// context it streams under. It keeps the body's Texter, so that text stays
// text when a transport passes it on.
func relay(body io.ReadCloser, release func()) io.ReadCloser {
	r := &relayBody{ReadCloser: body, release: release}
	if t, ok := body.(transport.Texter); ok {
		return &textRelayBody{relayBody: r, text: t.IsText()}
	}
	return r
}

type relayBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (r *relayBody) Close() error {
	err := r.ReadCloser.Close()
	r.once.Do(r.release)
	return err
}

type textRelayBody struct {
	*relayBody
	text bool
}

func (r *textRelayBody) IsText() bool { return r.text }
