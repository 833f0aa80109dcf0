package filestamp

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStampTellsVersions checks that a rewrite of the same size, with the
// old modification time put back, still gives a new stamp, and that only a
// file left alone for Settle counts as settled.
func TestStampTellsVersions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("stamps are made on Linux only")
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("one"), 0o644))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.False(t, Settled(fi))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.True(t, Settled(fi))
	first, ok := Of(fi)
	require.True(t, ok)
	again, _ := Of(fi)
	require.Equal(t, first, again)

	// The change time moves in clock ticks: wait one out.
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, os.WriteFile(path, []byte("two"), 0o644))
	require.NoError(t, os.Chtimes(path, old, old))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	second, ok := Of(fi)
	require.True(t, ok)
	require.NotEqual(t, first, second)
}

// TestDirLstat checks that Dir.Lstat gives the stamp Of gives for the same
// file, the type of what is not a regular file, and the error of a name
// that is not there.
func TestDirLstat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Dir is Linux's only")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("one"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Symlink("f", filepath.Join(dir, "link")))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	d, err := OpenDir(root)
	require.NoError(t, err)
	defer d.Close()

	s, mode, err := d.Lstat("f")
	require.NoError(t, err)
	require.True(t, mode.IsRegular())
	fi, err := os.Stat(filepath.Join(dir, "f"))
	require.NoError(t, err)
	want, ok := Of(fi)
	require.True(t, ok)
	require.Equal(t, want, s)

	_, mode, err = d.Lstat("sub")
	require.NoError(t, err)
	require.Equal(t, fs.ModeDir, mode)
	_, mode, err = d.Lstat("link")
	require.NoError(t, err)
	require.Equal(t, fs.ModeSymlink, mode)
	_, _, err = d.Lstat("missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
}
