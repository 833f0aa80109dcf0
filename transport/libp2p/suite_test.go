package libp2p_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

var allBytes = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// TestSuite checks over libp2p what the root module's TestTransportSuite
// checks over memory and XML-RPC: the protocol means the same.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	t.Run("chain finds file within 5 hops", func(t *testing.T) {
		nodes := line(t, 7)
		put(t, nodes[5].dir, "five.txt", []byte("five hops"))
		put(t, nodes[6].dir, "six.txt", []byte("six hops"))
		b, err := nodes[0].Query(ctx, "five.txt", nil)
		require.NoError(t, err)
		require.Equal(t, "five hops", string(b))
		_, err = nodes[0].Query(ctx, "six.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Equal(t, []string{nodes[1].URL()}, nodes[0].Known())
	})
	t.Run("faults cross the wire", func(t *testing.T) {
		a, b := startNode(t, ""), startNode(t, "")
		put(t, b.dir, "here.txt", []byte("x"))
		p, err := newTransport(t, p2p.Config{}).Dial(a.URL())
		require.NoError(t, err)
		_, err = p.Query(ctx, "missing.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		var f *peer.Fault
		require.ErrorAs(t, err, &f)
		require.Equal(t, peer.Unhandled, f.Code)
		_, err = p.Query(ctx, "../outside.txt", nil)
		require.ErrorIs(t, err, peer.ErrAccessDenied)
		require.ErrorAs(t, err, &f)
		require.Equal(t, peer.AccessDenied, f.Code)
		require.NoError(t, a.Hello(ctx, b.URL()))
		_, err = p.Query(ctx, "here.txt", []string{"h1", "h2", "h3", "h4", "h5"})
		require.ErrorIs(t, err, peer.ErrUnhandled)
		body, err := p.Query(ctx, "here.txt", []string{"h1"})
		require.NoError(t, err)
		got, err := io.ReadAll(body)
		require.NoError(t, err)
		require.NoError(t, body.Close())
		require.Equal(t, "x", string(got))
	})
	t.Run("hello", func(t *testing.T) {
		a, b := startNode(t, ""), startNode(t, "")
		p, err := newTransport(t, p2p.Config{}).Dial(a.URL())
		require.NoError(t, err)
		require.NoError(t, p.Hello(ctx, b.URL()))
		require.NoError(t, p.Hello(ctx, a.URL()))
		require.Equal(t, []string{b.URL()}, a.Known())
	})
	t.Run("fetch with right and wrong secret", func(t *testing.T) {
		nodes := line(t, 3)
		put(t, nodes[2].dir, "far.bin", allBytes)
		p, err := newTransport(t, p2p.Config{}).Dial(nodes[0].URL())
		require.NoError(t, err)
		require.ErrorIs(t, p.Fetch(ctx, "far.bin", "wrong"), peer.ErrAccessDenied)
		require.NoFileExists(t, filepath.Join(nodes[0].dir, "far.bin"))
		require.NoError(t, p.Fetch(ctx, "far.bin", nodes[0].secret))
		got, err := os.ReadFile(filepath.Join(nodes[0].dir, "far.bin"))
		require.NoError(t, err)
		require.Equal(t, allBytes, got)
		require.ErrorIs(t, p.Fetch(ctx, "nowhere.bin", nodes[0].secret), peer.ErrUnhandled)
		require.ErrorIs(t, p.Fetch(ctx, "../x", nodes[0].secret), peer.ErrAccessDenied)
	})
	t.Run("contents exact, local and relayed", func(t *testing.T) {
		contents := map[string][]byte{
			"empty":  {},
			"text":   []byte("héllo, wörld <&> 😀\n"),
			"crlf":   []byte("one\r\ntwo\r\n\rthree"),
			"binary": allBytes,
		}
		nodes := line(t, 3)
		for name, b := range contents {
			put(t, nodes[2].dir, name, b)
		}
		for name, want := range contents {
			for _, n := range []*testNode{nodes[2], nodes[0]} {
				got, err := n.Query(ctx, name, nil)
				require.NoError(t, err, name)
				require.Equal(t, fmt.Sprintf("%q", want), fmt.Sprintf("%q", got), name)
			}
			require.NoError(t, nodes[0].Fetch(ctx, name, nodes[0].secret))
			got, err := os.ReadFile(filepath.Join(nodes[0].dir, name))
			require.NoError(t, err)
			require.Equal(t, want, got, name)
		}
	})
	t.Run("text stays text, binary binary", func(t *testing.T) {
		a := startNode(t, "")
		put(t, a.dir, "t.txt", []byte("plain text\n"))
		put(t, a.dir, "b.bin", allBytes)
		p, err := newTransport(t, p2p.Config{}).Dial(a.URL())
		require.NoError(t, err)
		for name, text := range map[string]bool{"t.txt": true, "b.bin": false} {
			body, err := p.Query(ctx, name, nil)
			require.NoError(t, err)
			tx, ok := body.(interface{ IsText() bool })
			require.True(t, ok, "a body over libp2p knows whether it is text")
			_, err = io.Copy(io.Discard, body)
			require.NoError(t, err)
			require.Equal(t, text, tx.IsText(), name)
			require.NoError(t, body.Close())
		}
	})
	t.Run("list", func(t *testing.T) {
		a := startNode(t, "")
		put(t, a.dir, "one.txt", []byte("1"))
		put(t, a.dir, "two.bin", allBytes)
		p, err := newTransport(t, p2p.Config{}).Dial(a.URL())
		require.NoError(t, err)
		names, err := p.(interface {
			List(context.Context) ([]string, error)
		}).List(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"one.txt", "two.bin"}, names)
	})
	t.Run("extension calls", func(t *testing.T) {
		a, b := startNode(t, ""), startNode(t, "")
		require.NoError(t, b.Handle("test.echo", func(ctx context.Context, from string, args []any) (any, error) {
			return append([]any{from}, args...), nil
		}))
		got, err := a.Call(ctx, b.URL(), "test.echo", "hi", int64(7), []byte{0, 1})
		require.NoError(t, err)
		require.Equal(t, []any{a.URL(), "hi", int64(7), []byte{0, 1}}, got)
		_, err = a.Call(ctx, b.URL(), "test.nothing")
		var f *peer.Fault
		require.ErrorAs(t, err, &f)
		require.Equal(t, 1, f.Code)
		// The extension's own methods: ping and peers.
		require.NoError(t, a.Ping(ctx, b.URL()))
		require.NoError(t, a.Hello(ctx, b.URL()))
		hits, err := a.Search(ctx, "nothing-here")
		require.NoError(t, err)
		require.Empty(t, hits)
	})
	t.Run("dead peer is dropped", func(t *testing.T) {
		a, b := startNode(t, ""), startNode(t, "")
		require.NoError(t, a.Hello(ctx, b.URL()))
		require.NoError(t, b.Close())
		_, err := a.Query(ctx, "x", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Empty(t, a.Known())
	})
}
