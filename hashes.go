package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math"
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
	n    *Node
	work *workQueue

	mu sync.Mutex
	// guards byName
	byName map[string]hashed

	reads atomic.Int64 // files read to be hashed, for tests
}

// hashed is one version of a file and its hash.
type hashed struct {
	stamp filestamp.Stamp
	hash  string
}

func newHashes(n *Node) *hashes {
	h := &hashes{n: n, byName: make(map[string]hashed)}
	h.work = newWorkQueue(n, hashWorkers, math.MaxInt, h.hash)
	return h
}

// lookup returns the hash of name's version stamp, or "" if it has none
// yet, in which case it has the file hashed in the background, if it has
// settled (fi says).
func (h *hashes) lookup(name string, stamp filestamp.Stamp, fi fs.FileInfo) string {
	h.mu.Lock()
	e, ok := h.byName[name]
	h.mu.Unlock()
	if ok && e.stamp == stamp {
		return e.hash
	}
	if filestamp.Settled(fi) {
		h.work.add(name)
	}
	return ""
}

// hash reads name and records its hash, if the file is the same version
// after the read as before it, and settled; the hash is then announced
// to the node's router, if it has one.
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
	hash := hex.EncodeToString(sum.Sum(nil))
	h.mu.Lock()
	h.byName[name] = hashed{stamp: stamp, hash: hash}
	h.mu.Unlock()
	h.n.announce(hash)
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
		err = n.hashes.work.wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("peer: index: %w", err)
	}
	return nil
}
