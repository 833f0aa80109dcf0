package peer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"
)

// DefaultPartialTTL is how long the partial file of an interrupted fetch
// is kept, since it was last written, when Config.PartialTTL is zero.
const DefaultPartialTTL = 7 * 24 * time.Hour

// partName is the name in Dir of the partial file of the contents of
// hash: one per contents, whatever name they are fetched under, so that
// a later fetch of the same contents resumes from it.
func partName(hash string) string { return partPrefix + hash }

// partials keeps one fetch at a time on each partial file. Safe for
// concurrent use.
type partials struct {
	mu sync.Mutex
	// guards busy
	busy map[string]chan struct{} // by hash; closed when the fetch ends
}

// lock waits until no other fetch of the node works on the contents of
// hash, or ctx ends, and returns the function that lets the next one in.
func (p *partials) lock(ctx context.Context, hash string) (unlock func(), err error) {
	for {
		p.mu.Lock()
		ch, ok := p.busy[hash]
		if !ok {
			if p.busy == nil {
				p.busy = make(map[string]chan struct{})
			}
			done := make(chan struct{})
			p.busy[hash] = done
			p.mu.Unlock()
			return func() {
				p.mu.Lock()
				delete(p.busy, hash)
				p.mu.Unlock()
				close(done)
			}, nil
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *partials) inUse(hash string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.busy[hash]
	return ok
}

// removePartials removes the partial files that no fetch is working on
// and that were last written before cutoff (all of them for a zero
// cutoff), and returns how many it removed.
func (n *Node) removePartials(cutoff time.Time) (int, error) {
	d, err := n.root.Open(".")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		hash, ok := strings.CutPrefix(e.Name(), partPrefix)
		if !ok || !e.Type().IsRegular() || n.parts.inUse(hash) {
			continue
		}
		if !cutoff.IsZero() {
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(cutoff) {
				continue
			}
		}
		switch err := n.root.Remove(e.Name()); {
		case err == nil:
			removed++
			n.log.Info("removed partial file", "name", e.Name())
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// RemovePartials removes the partial files that interrupted fetches left
// in Dir (those of fetches running now excepted), so that no later fetch
// resumes from them, and returns how many it removed. Start removes those
// left alone for Config.PartialTTL by itself.
func (n *Node) RemovePartials(ctx context.Context) (int, error) {
	if err := n.register(); err != nil {
		return 0, err
	}
	defer n.calls.Done()
	removed, err := n.removePartials(time.Time{})
	if err != nil {
		return removed, fmt.Errorf("peer: remove partial files: %w", err)
	}
	return removed, nil
}
