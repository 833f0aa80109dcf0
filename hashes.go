package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/filepeer/peer/internal/filestamp"
)

// hashWorkers is how many files a node hashes at once in the background:
// enough to keep a disk busy, few enough to leave the node's other work
// a core on a small machine.
const hashWorkers = 2

// hashes knows the SHA-256 of the files of Dir, each for one version of
// the file (filestamp: inode, size, mtime, ctime), and hashes in the
// background the files a search wants but has no current hash for.
// Hashing never blocks a search, which reports "" for a file not hashed
// yet. A file is hashed only once it has settled (filestamp.Settled):
// within a clock tick of a write, a second write could leave its stamp
// unchanged, and its hash stale. Safe for concurrent use.
type hashes struct {
	n *Node

	mu sync.Mutex
	// guards byName, queue, queued and workers
	byName  map[string]hashed
	queue   []string
	queued  map[string]bool
	workers int
	idle    chan struct{} // closed when the queue empties; nil if none waits

	reads atomic.Int64 // files read to be hashed, for tests
}

// hashed is one version of a file and its hash.
type hashed struct {
	stamp filestamp.Stamp
	hash  string
}

func newHashes(n *Node) *hashes {
	return &hashes{n: n, byName: make(map[string]hashed), queued: make(map[string]bool)}
}

// lookup returns the hash of name's version stamp, or "" if it has none
// yet, in which case it has the file hashed in the background, if it has
// settled (fi says).
func (h *hashes) lookup(name string, stamp filestamp.Stamp, fi fs.FileInfo) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.byName[name]; ok && e.stamp == stamp {
		return e.hash
	}
	if filestamp.Settled(fi) && !h.queued[name] {
		h.queued[name] = true
		h.queue = append(h.queue, name)
		if h.workers < hashWorkers && h.n.register() == nil {
			h.workers++
			go h.work()
		}
	}
	return ""
}

// work hashes the queued files until the queue is empty or the node
// closes.
func (h *hashes) work() {
	defer h.n.calls.Done()
	for {
		h.mu.Lock()
		if len(h.queue) == 0 || h.n.ctx.Err() != nil {
			h.workers--
			if h.workers == 0 && h.idle != nil {
				close(h.idle)
				h.idle = nil
			}
			h.mu.Unlock()
			return
		}
		name := h.queue[0]
		h.queue = h.queue[1:]
		h.mu.Unlock()
		h.hash(h.n.ctx, name)
		h.mu.Lock()
		delete(h.queued, name)
		h.mu.Unlock()
	}
}

// hash reads name and records its hash, if the file is the same version
// after the read as before it, and settled.
func (h *hashes) hash(ctx context.Context, name string) {
	f, err := h.n.root.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil || !before.Mode().IsRegular() || !filestamp.Settled(before) {
		return
	}
	stamp, ok := filestamp.Of(before)
	if !ok {
		return
	}
	h.reads.Add(1)
	sum := sha256.New()
	if _, err := io.Copy(sum, ctxReader{ctx, f}); err != nil {
		return
	}
	if after, err := f.Stat(); err != nil || !sameStamp(stamp, after) {
		return // changed while it was read: hashed again when asked
	}
	h.mu.Lock()
	h.byName[name] = hashed{stamp: stamp, hash: hex.EncodeToString(sum.Sum(nil))}
	h.mu.Unlock()
}

// wait returns once no file is being hashed or waits to be, or ctx ends.
func (h *hashes) wait(ctx context.Context) error {
	h.mu.Lock()
	if h.workers == 0 {
		h.mu.Unlock()
		return nil
	}
	if h.idle == nil {
		h.idle = make(chan struct{})
	}
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prune drops the hashes of files that are gone: keep says which names
// are still there.
func (h *hashes) prune(keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.byName {
		if !keep[name] {
			delete(h.byName, name)
		}
	}
}

// Index hashes every file of Dir that has settled and has no hash for its
// version yet, and returns once they are all hashed, or ctx ends. A node
// hashes in the background anyway, as searches come; Index is for a
// program that wants every hash known now, before it searches by hash.
func (n *Node) Index(ctx context.Context) error {
	ctx, cancel, err := n.enter(ctx)
	if err != nil {
		return err
	}
	defer n.calls.Done()
	defer cancel()
	err = n.walk(ctx, func(name string, fi fs.FileInfo) {
		if stamp, ok := filestamp.Of(fi); ok {
			n.hashes.lookup(name, stamp, fi)
		}
	})
	if err == nil {
		err = n.hashes.wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("peer: index: %w", err)
	}
	return nil
}
