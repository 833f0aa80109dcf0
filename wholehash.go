package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"sync"
)

// wholeHasher hashes a download's file as its pieces come in, in order:
// each time the pieces from the first not yet hashed on are in place, it
// reads them back (from the page cache, mostly) into the whole's hash, on
// a goroutine of its own. So the check of the whole, which must wait for
// the last piece, has only the tail left to read then, not the file.
// Safe for concurrent use.
type wholeHasher struct {
	f        *os.File
	size, ps int64
	h        hash.Hash
	wake     chan struct{} // a piece is in place
	stopped  chan struct{} // the goroutine has ended
	cancel   context.CancelFunc

	mu sync.Mutex
	// guards done, next and err
	done []bool
	next int   // the first piece not hashed yet
	err  error // a read that failed
}

func newWholeHasher(ctx context.Context, f *os.File, size, ps int64, count int) *wholeHasher {
	w := &wholeHasher{f: f, size: size, ps: ps, h: sha256.New(), wake: make(chan struct{}, 1), stopped: make(chan struct{}), done: make([]bool, count)}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.run(ctx)
	return w
}

// mark records that piece i is in place, checked.
func (w *wholeHasher) mark(i int) {
	w.mu.Lock()
	w.done[i] = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *wholeHasher) run(ctx context.Context) {
	defer close(w.stopped)
	buf := make([]byte, 64<<10)
	for {
		w.mu.Lock()
		i, ready := w.next, w.next < len(w.done) && w.done[w.next]
		w.mu.Unlock()
		if !ready {
			if i == len(w.done) {
				return
			}
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		off := int64(i) * w.ps
		_, err := io.CopyBuffer(w.h, ctxReader{ctx, io.NewSectionReader(w.f, off, min(w.ps, w.size-off))}, buf)
		w.mu.Lock()
		if err != nil {
			w.err = err
			w.mu.Unlock()
			return
		}
		w.next++
		w.mu.Unlock()
	}
}

// sum waits until every piece is hashed, or ctx ends, and returns the
// whole's hex SHA-256.
func (w *wholeHasher) sum(ctx context.Context) (string, error) {
	select {
	case <-w.stopped:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return "", w.err
	}
	if w.next < len(w.done) {
		return "", ctx.Err()
	}
	return hex.EncodeToString(w.h.Sum(nil)), nil
}

// stop ends the goroutine and waits for it.
func (w *wholeHasher) stop() {
	w.cancel()
	<-w.stopped
}
