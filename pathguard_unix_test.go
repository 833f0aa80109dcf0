//go:build unix

package peer_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// A named pipe is denied, whether named by one element, by several or
// through a link, and never opened: opening one would block until someone
// wrote to it.
func TestNamedPipeIsDenied(t *testing.T) {
	a := startNode(t, transport.NewMemory(), "mem://a")
	a.put(t, "sub/f.txt", "f")
	require.NoError(t, syscall.Mkfifo(filepath.Join(a.dir, "pipe"), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(a.dir, "sub", "pipe"), 0o644))
	require.NoError(t, os.Symlink("pipe", filepath.Join(a.dir, "pipe-link")))
	require.NoError(t, os.Symlink("sub/f.txt", filepath.Join(a.dir, "f-link")))

	type result struct {
		got []byte
		err error
	}
	names := []string{"pipe", "sub/pipe", "pipe-link", "sub", "f-link"}
	results := make(chan result, len(names))
	go func() {
		for _, name := range names {
			got, err := a.Query(bg, name, nil)
			results <- result{got, err}
		}
	}()
	for _, name := range names {
		select {
		case r := <-results:
			switch name {
			case "f-link":
				require.NoError(t, r.err)
				require.Equal(t, "f", string(r.got))
				continue
			case "sub":
				require.ErrorIs(t, r.err, peer.ErrUnhandled, "a directory is no file here, as in the book")
				continue
			}
			require.ErrorIs(t, r.err, peer.ErrAccessDenied, "Query(%q)", name)
		case <-time.After(10 * time.Second):
			// Let the blocked open go, so that the node can close.
			for _, p := range []string{"pipe", "sub/pipe"} {
				if f, err := os.OpenFile(filepath.Join(a.dir, p), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			}
			t.Fatalf("Query(%q) blocked", name)
		}
	}
}
