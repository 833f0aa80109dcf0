package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// A node process restarted with -peers answers a query through the same
// peers without any hello; a node process that stops is forgotten by its
// peers at once.
func TestPeersFileAcrossRestarts(t *testing.T) {
	bin := testenv.Build(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr := xmlrpc.New(xmlrpc.Config{})
	defer tr.Close()

	// b: a node in this process, on loopback, holding the file.
	var joined, left atomic.Int64
	b, err := peer.New(peer.Config{URL: freeURL(t), Dir: shared(t, map[string]string{"far.txt": "from b"}), Transport: tr,
		OnPeer: func(e peer.PeerEvent) {
			switch e.Kind {
			case peer.PeerJoined:
				joined.Add(1)
			case peer.PeerLeft:
				left.Add(1)
			}
		}})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Start())

	url, dir := freeURL(t), shared(t, nil)
	peers := filepath.Join(t.TempDir(), "peers")
	urls := filepath.Join(t.TempDir(), "urls")
	require.NoError(t, os.WriteFile(urls, []byte(b.URL()+"\n"), 0o644))
	start := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, append(args, "-peers", peers, url, dir, "s3cret")...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("node said:\n%s", out.String())
			}
		})
		testenv.WaitListening(t, strings.TrimPrefix(url, "http://"), 30*time.Second)
		return cmd
	}

	cmd := start("-urls", urls)
	require.NoError(t, b.Hello(ctx, url))
	require.Equal(t, []string{url}, b.Known())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	require.Empty(t, b.Known(), "forgotten as the node stopped")
	require.Equal(t, int64(1), left.Load())

	joined.Store(0)
	start() // no -urls: only the peers file
	p, err := tr.Dial(url)
	require.NoError(t, err)
	body, err := p.Query(ctx, "far.txt", nil)
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	body.Close()
	require.NoError(t, err)
	require.Equal(t, "from b", string(got), "found through b, the peer it remembered")
	require.Zero(t, joined.Load(), "the restarted node said no hello")
}
