package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/filepeer/peer/internal/filestamp"
)

// A file is fetched and checked in pieces of the same size, but the last:
// the smallest power of two from minPieceSize up that makes at most
// maxPieces pieces. Both ends compute it from the file's size alone, so
// it is never sent (PROTOCOL.md, filepeer.pieces).
const (
	minPieceSize = 1 << 20
	maxPieces    = 4096
)

// pieceSize returns the size of the pieces of a file of size bytes.
func pieceSize(size int64) int64 {
	p := int64(minPieceSize)
	for p*maxPieces < size {
		p *= 2
	}
	return p
}

// pieceCount returns how many pieces of ps bytes a file of size bytes has:
// none for an empty file.
func pieceCount(size, ps int64) int { return int((size + ps - 1) / ps) }

// pieceLists caches the piece hashes of the last few files a peer asked
// for, each for one version of the file, so that every downloader of a
// large file does not make the node read it all again.
const pieceListsKept = 8

// pieceList is the piece hashes of one version of a file.
type pieceList struct {
	name   string
	stamp  filestamp.Stamp
	hash   string
	size   int64
	hashes [][sha256.Size]byte
}

// pieceCache is a node's pieceLists. Safe for concurrent use.
type pieceCache struct {
	mu sync.Mutex
	// guards lists, most recent last
	lists []*pieceList
}

func (c *pieceCache) get(name string, stamp filestamp.Stamp) *pieceList {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lists {
		if l.name == name && l.stamp == stamp {
			return l
		}
	}
	return nil
}

func (c *pieceCache) put(l *pieceList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lists) >= pieceListsKept {
		c.lists = append(c.lists[:0], c.lists[1:]...)
	}
	c.lists = append(c.lists, l)
}

// errNotThose is the fault for a ranged read or a piece list asked of a
// file whose current contents do not have the hash asked for (or that the
// node has not hashed yet): the file is not here, as far as those
// contents go.
func errNotThose() error {
	return &Fault{Code: Unhandled, Message: "Couldn't handle the query: not those contents"}
}

// openVersion opens name for a peer that asks for the contents of hash:
// a fault 200 for a name outside Dir, 100 if no file of that name is here
// or its current version does not hash to hash. A version not hashed yet
// is hashed now (if it has settled). The file's stamp is checked on the
// open file, so what is read is the version checked, unless it is written
// while it is read, which the reader's piece hashes then catch.
func (n *Node) openVersion(ctx context.Context, name, hash string) (*os.File, filestamp.Stamp, error) {
	var stamp filestamp.Stamp
	if !validHash(hash) {
		return nil, stamp, fmt.Errorf("peer: %q is not a hex SHA-256", truncate(hash))
	}
	if _, _, err := n.stat(name); err != nil {
		return nil, stamp, err
	}
	for attempt := range 2 {
		f, err := n.root.Open(name)
		if err != nil {
			return nil, stamp, n.openError(name, err)
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, stamp, denied()
		}
		stamp, ok := filestamp.Of(fi)
		if !ok {
			f.Close()
			return nil, stamp, errNotThose()
		}
		switch got := n.hashes.lookup(name, stamp, fi); {
		case got == hash:
			return f, stamp, nil
		case got == "" && attempt == 0:
			f.Close()
			n.hashes.hash(ctx, name) // not hashed yet: now, once
			continue
		}
		f.Close()
	}
	return nil, stamp, errNotThose()
}

// servePieces answers filepeer.pieces: the hashes of the pieces of name,
// whose contents must have the hash given.
func (n *Node) servePieces(ctx context.Context, name, hash string) (map[string]any, error) {
	if err := n.register(); err != nil {
		return nil, err
	}
	defer n.calls.Done()
	f, stamp, err := n.openVersion(ctx, name, hash)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := n.pieces.get(name, stamp)
	if l == nil {
		if l, err = readPieces(ctx, f, name, stamp, hash); err != nil {
			return nil, err
		}
		n.pieces.put(l)
	}
	hexes := make([]string, len(l.hashes))
	for i, h := range l.hashes {
		hexes[i] = hex.EncodeToString(h[:])
	}
	return map[string]any{"size": l.size, "hashes": hexes}, nil
}

// readPieces reads f whole, hashing each piece. The version of f has
// hash (openVersion checked it), and is checked unchanged at the end, so
// the whole need not be hashed again.
func readPieces(ctx context.Context, f *os.File, name string, stamp filestamp.Stamp, hash string) (*pieceList, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	ps := pieceSize(size)
	l := &pieceList{name: name, stamp: stamp, hash: hash, size: size, hashes: make([][sha256.Size]byte, 0, pieceCount(size, ps))}
	piece := sha256.New()
	buf := make([]byte, 64<<10)
	r := ctxReader{ctx, io.NewSectionReader(f, 0, size)}
	for off := int64(0); off < size; off += ps {
		piece.Reset()
		if _, err := io.CopyBuffer(piece, io.LimitReader(r, ps), buf); err != nil {
			return nil, err
		}
		l.hashes = append(l.hashes, [sha256.Size]byte(piece.Sum(nil)))
	}
	if after, err := f.Stat(); err != nil || after.Size() != size || !sameStamp(stamp, after) {
		return nil, errNotThose() // changed as it was read
	}
	return l, nil
}

// checkPieces reads a peer's answer to filepeer.pieces for a file of size
// bytes: hostile until every field is checked.
func checkPieces(v any, size int64) ([][sha256.Size]byte, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the answer is %T, not a struct", v)
	}
	if got, ok := m["size"].(int64); !ok || got != size {
		return nil, fmt.Errorf("the piece list is for %v bytes, not %d", m["size"], size)
	}
	vals, ok := m["hashes"].([]any)
	if want := pieceCount(size, pieceSize(size)); !ok || len(vals) != want {
		return nil, fmt.Errorf("the piece list holds %d hashes, not %d", len(vals), want)
	}
	out := make([][sha256.Size]byte, len(vals))
	for i, v := range vals {
		s, _ := v.(string)
		if !validHash(s) {
			return nil, errors.New("the piece list holds a bad hash")
		}
		hex.Decode(out[i][:], []byte(s))
	}
	return out, nil
}
