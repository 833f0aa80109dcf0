package peer

import (
	"bytes"
	"cmp"
	"io"
	"io/fs"
	"os"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/filepeer/peer/internal/filestamp"
)

// The commonest query is a small file served from Dir. Opening one costs
// about ten system calls (Go's os package adds four fcntl and a failing
// epoll_ctl to every open on Linux); serving it from memory costs the one
// stat that checks it is still the same file.
const (
	// DefaultCacheFiles is how many small files a node keeps in memory
	// when Config.CacheFiles is zero.
	DefaultCacheFiles = 256
	// cacheMaxSize is the largest file kept in memory.
	cacheMaxSize = 64 << 10
)

// smallFile is a cached file: its bytes, and the stamp they were read at.
type smallFile struct {
	data  []byte
	stamp filestamp.Stamp
}

// fileCache keeps small files of Dir in memory. Safe for concurrent use.
type fileCache struct {
	files *lru.Cache[string, smallFile]
}

func newFileCache(size int) *fileCache {
	if size < 0 {
		return nil
	}
	files, err := lru.New[string, smallFile](cmp.Or(size, DefaultCacheFiles))
	if err != nil {
		return nil
	}
	return &fileCache{files: files}
}

// get returns the cached bytes of name if stamp, from a fresh stat of it,
// says the file has not changed since they were read.
func (c *fileCache) get(name string, stamp filestamp.Stamp) (io.ReadCloser, bool) {
	if c == nil {
		return nil, false
	}
	f, ok := c.files.Get(name)
	if !ok {
		return nil, false
	}
	if stamp != f.stamp {
		c.files.Remove(name)
		return nil, false
	}
	return memFile{bytes.NewReader(f.data)}, true
}

// fill reads f, which fi describes, into the cache if it is small and
// settled (filestamp.Settle), and returns a body over its bytes; otherwise
// it returns f.
func (c *fileCache) fill(name string, f *os.File, fi fs.FileInfo) io.ReadCloser {
	if c == nil || fi.Size() > cacheMaxSize || !filestamp.Settled(fi) {
		return f
	}
	before, ok := filestamp.Of(fi)
	if !ok {
		return f
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		f.Seek(0, io.SeekStart)
		return f
	}
	// The file must be the same after the read as before it, or the
	// bytes may be half old, half new.
	if after, err := f.Stat(); err != nil || !sameStamp(before, after) {
		f.Seek(0, io.SeekStart)
		return f
	}
	f.Close()
	c.files.Add(name, smallFile{data: data, stamp: before})
	return memFile{bytes.NewReader(data)}
}

func sameStamp(s filestamp.Stamp, fi fs.FileInfo) bool {
	t, ok := filestamp.Of(fi)
	return ok && s == t
}

// memFile is a file served from memory. It is an io.ReadSeeker, like the
// *os.File it stands for, so a transport can scan it before sending.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }
