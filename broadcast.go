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
var errQueryTimeout = errors.New("peer: no peer answered within the query timeout")

// broadcast asks the known peers not in history to run the query id; the
// first success wins, and the other branches are cancelled, their bodies
// closed (see fanOut). If ctx ends, broadcast returns its error. ended, if
// not nil, is told of each branch as it ends, on one goroutine, and
// whether it found the file first (a ring's clock: ring.go). The search
// ends at deadline (see fanOut).
func (n *Node) broadcast(ctx context.Context, name string, history []string, id string, deadline time.Time, ended func(won bool)) (io.ReadCloser, error) {
	var won io.ReadCloser
	release, err := n.fanOut(ctx, history, deadline,
		func(ctx context.Context, url string) (any, error) { return n.ask(ctx, url, name, history, id) },
		func(url string, v any, err error) bool {
			first := err == nil && won == nil
			if ended != nil {
				ended(first)
			}
			switch {
			case err != nil:
				return false
			case won != nil:
				v.(io.ReadCloser).Close() // a second find, too late
				return true
			}
			won = v.(io.ReadCloser)
			return true
		})
	switch {
	case won != nil && release != nil:
		// The body streams under its branch's context: keep it until
		// the body is closed.
		return relay(won, release), nil
	case won != nil:
		won.Close() // found, but the query timed out meanwhile
	}
	if err != nil {
		return nil, err
	}
	return nil, unhandled()
}

// fanOut asks the known peers not in history, n.fanout at a time: ask
// makes the call to one peer, and take is given each outcome as it comes,
// on fanOut's goroutine, and says whether the fan-out is done. Once it
// is, or deadline has passed (Config.QueryTimeout from now if it is
// zero), no more peers are asked and the
// branches still running are cancelled; take still gets their outcomes,
// to close what they hold. A peer whose call failed is judged. fanOut
// returns once every branch has ended, so no goroutine outlives it, with
// release, which ends the context of the branch that made take done (nil
// if none did, or if the timeout came first), and ctx's error if ctx
// ended.
func (n *Node) fanOut(ctx context.Context, history []string, deadline time.Time, ask func(context.Context, string) (any, error), take func(url string, v any, err error) bool) (release func(), err error) {
	var peers []string
	for _, url := range n.peers() {
		if !slices.Contains(history, url) {
			peers = append(peers, url)
		}
	}
	search, cancel := context.WithCancelCause(ctx)
	if deadline.IsZero() {
		deadline = time.Now().Add(n.queryTime)
	}
	timer := time.AfterFunc(time.Until(deadline), func() { cancel(errQueryTimeout) })

	type answer struct {
		branch int
		v      any
		err    error
		cut    bool // the branch had been cancelled when it ended
	}
	answers := make(chan answer)
	branches := make([]context.CancelFunc, len(peers))
	running, next, doneBy := 0, 0, -1
	var inline *answer
	for {
		for doneBy < 0 && running < n.fanout && next < len(peers) && search.Err() == nil {
			i := next
			next++
			running++
			var bctx context.Context
			bctx, branches[i] = context.WithCancel(search)
			if running == 1 && next == len(peers) {
				// The last branch, with none other running, runs on
				// this goroutine, which has nothing else to do
				// meanwhile: on a 5-hop chain of node processes, a
				// goroutine for it made the chain 12-14% slower (go run
				// ./bench, chain row).
				v, err := ask(bctx, peers[i])
				inline = &answer{i, v, err, bctx.Err() != nil}
				break
			}
			go func() {
				// Let the calls of this fan-out all start before any
				// of them is served further: an in-process transport
				// serves a call on the caller's goroutine, and without
				// the yield the branches ran depth first, so that
				// copies came the long way first and were handled
				// again (Mesh(100), no latency: 35,054 calls a miss
				// without it, 9,898-15,718 with it).
				runtime.Gosched()
				v, err := ask(bctx, peers[i])
				answers <- answer{i, v, err, bctx.Err() != nil}
			}()
		}
		if running == 0 {
			// Every branch has answered, and no more may start: the
			// one test of when to stop, so that none can pass while
			// nothing is left to answer (an earlier loop tested
			// twice, and a search that ended between the two waited
			// for ever).
			break
		}
		var a answer
		if inline != nil {
			a, inline = *inline, nil
		} else {
			a = <-answers
		}
		running--
		if a.err != nil {
			n.judge(peers[a.branch], a.err, a.cut)
		}
		if take(peers[a.branch], a.v, a.err) && doneBy < 0 {
			doneBy = a.branch
			for j, stop := range branches[:next] {
				if j != doneBy {
					stop()
				}
			}
		} else {
			branches[a.branch]()
		}
	}
	if doneBy >= 0 && timer.Stop() {
		stop := branches[doneBy]
		return func() { stop(); cancel(nil) }, nil
	}
	timer.Stop()
	cancel(nil)
	return nil, ctx.Err()
}

// judge decides what the failed call to url says about that peer;
// cancelled says the call was cut short here, which is nobody's fault.
func (n *Node) judge(url string, err error, cancelled bool) {
	var f *Fault
	switch {
	case errors.As(err, &f):
		n.log.Debug("peer answered a fault", "peer", url, "fault", f.Code)
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
	if c, ok := p.(transport.Caller); ok && n.states.get(url).speech != speechBook {
		body, err := c.Open(ctx, methodQuery, name, history, id)
		var f *Fault
		switch {
		case err == nil, errors.As(err, &f) && (f.Code == Unhandled || f.Code == AccessDenied):
			n.noteAnswer(url, err, speechExt)
			return body, err
		case f == nil:
			return nil, err // the call failed: nothing learned
		}
		// Any other fault is a book node's answer to a method it does
		// not know (or a peer that cannot serve it): the book's query
		// from now on.
		n.log.Debug("peer speaks the book's methods only", "peer", url)
		n.noteAnswer(url, err, speechBook)
	}
	n.seen.lend(id, name, history)
	body, err := p.Query(ctx, name, history)
	n.noteAnswer(url, err, speechUnknown)
	return body, err
}

// relay wraps a body received from a peer so that closing it releases the
// context it streams under. It keeps the body's Texter, so that text stays
// text when a transport passes it on, and lets a transport reach the body
// within (Unwrap), to copy a peer's encoded reply through
// (transport.Encoded).
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

// Unwrap returns the body within, which relayBody reads unchanged.
func (r *relayBody) Unwrap() io.ReadCloser { return r.ReadCloser }

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
