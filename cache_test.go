package peer_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// settle makes a file look untouched for an hour, so the cache takes it.
func settle(t *testing.T, name string) {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(name, old, old))
}

// The cache never serves bytes the disk no longer holds, however the file
// changed: rewritten in place with its size and times kept, replaced,
// retargeted through a link, or removed.
func TestCacheFollowsTheDisk(t *testing.T) {
	for _, cacheFiles := range []int{0, 1, -1} {
		t.Run(map[int]string{0: "default", 1: "one entry", -1: "off"}[cacheFiles], func(t *testing.T) {
			a := startNode(t, transport.NewMemory(), "mem://a", func(c *peer.Config) { c.CacheFiles = cacheFiles })
			query := func(name string) string {
				t.Helper()
				b, err := a.Query(bg, name, nil)
				require.NoError(t, err)
				return string(b)
			}
			p := filepath.Join(a.dir, "f.txt")
			a.put(t, "f.txt", "version 1")
			settle(t, p)
			fi, err := os.Stat(p)
			require.NoError(t, err)
			require.Equal(t, "version 1", query("f.txt"))
			require.Equal(t, "version 1", query("f.txt"))

			// Same size, same modification time: only ctime tells.
			require.NoError(t, os.WriteFile(p, []byte("version 2"), 0o644))
			require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
			require.Equal(t, "version 2", query("f.txt"))

			// Replaced by rename.
			a.put(t, "new.txt", "version 3")
			settle(t, filepath.Join(a.dir, "new.txt"))
			require.NoError(t, os.Rename(filepath.Join(a.dir, "new.txt"), p))
			require.Equal(t, "version 3", query("f.txt"))

			// Through a link that is pointed elsewhere.
			a.put(t, "g.txt", "gee")
			settle(t, filepath.Join(a.dir, "g.txt"))
			link := filepath.Join(a.dir, "link.txt")
			require.NoError(t, os.Symlink("f.txt", link))
			require.Equal(t, "version 3", query("link.txt"))
			require.NoError(t, os.Remove(link))
			require.NoError(t, os.Symlink("g.txt", link))
			require.Equal(t, "gee", query("link.txt"))

			// Removed.
			require.NoError(t, os.Remove(p))
			_, err = a.Query(bg, "f.txt", nil)
			require.ErrorIs(t, err, peer.ErrUnhandled)

			// Larger than the cache takes, and served the same.
			big := string(make([]byte, 100<<10))
			a.put(t, "big.bin", big)
			settle(t, filepath.Join(a.dir, "big.bin"))
			require.Equal(t, big, query("big.bin"))
			require.Equal(t, big, query("big.bin"))
		})
	}
}

// A cached body is a stream like any other: each query gets its own.
func TestCachedBodiesAreIndependent(t *testing.T) {
	a := startNode(t, transport.NewMemory(), "mem://a")
	a.put(t, "f.txt", "0123456789")
	settle(t, filepath.Join(a.dir, "f.txt"))
	_, err := a.Query(bg, "f.txt", nil)
	require.NoError(t, err)
	r1, err := a.QueryReader(bg, "f.txt", nil)
	require.NoError(t, err)
	r2, err := a.QueryReader(bg, "f.txt", nil)
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = r1.Read(buf)
	require.NoError(t, err)
	all := make([]byte, 10)
	n, err := r2.Read(all)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(all[:n]))
	require.NoError(t, r1.Close())
	require.NoError(t, r2.Close())
}

// BenchmarkLocalQuery measures queries answered from the node's own
// directory through the in-memory transport, with the small-file cache
// off (-1) and on (0, the default). Compare with benchstat -col /cache.
func BenchmarkLocalQuery(b *testing.B) {
	for _, cache := range []int{-1, 0} {
		b.Run(fmt.Sprint("cache=", cache), func(b *testing.B) {
			mem := transport.NewMemory()
			a := startNode(b, mem, "mem://a", func(c *peer.Config) { c.CacheFiles = cache })
			a.put(b, "small.txt", strings.Repeat("x", 100))
			old := time.Now().Add(-time.Hour)
			require.NoError(b, os.Chtimes(filepath.Join(a.dir, "small.txt"), old, old))
			p, err := mem.Dial(a.URL())
			require.NoError(b, err)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body, err := p.Query(bg, "small.txt", nil)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, body)
					body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
