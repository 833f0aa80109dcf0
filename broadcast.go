package peer

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/filepeer/peer/transport"
)

// broadcast asks each known peer not in history, one at a time in URL
// order, to run the query; the first success wins. A peer that answers
// ErrUnhandled stays known; one that fails in any other way is forgotten,
// as the book's node does. If ctx ends, broadcast stops without blaming the
// peer it was asking.
func (n *Node) broadcast(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	for _, url := range n.peers() {
		if slices.Contains(history, url) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, err := n.ask(ctx, url, name, history)
		switch {
		case err == nil:
			return body, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, ErrUnhandled):
			n.log.Debug("peer could not handle", "peer", url, "name", name)
		default:
			n.log.Info("forgetting peer", "peer", url, "err", err)
			n.Forget(url)
		}
	}
	return nil, unhandled()
}

func (n *Node) ask(ctx context.Context, url, name string, history []string) (io.ReadCloser, error) {
	p, err := n.tr.Dial(url)
	if err != nil {
		return nil, err
	}
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
