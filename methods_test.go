package peer_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

// A program's method, registered on one node, is called from another over
// every transport, with the caller's URL; reserved names and values
// XML-RPC cannot carry are refused before anything is sent.
func TestProgramMethods(t *testing.T) {
	for name, tr := range map[string]transport.Transport{"memory": transport.NewMemory(), "xmlrpc": interopTransport(t)} {
		t.Run(name, func(t *testing.T) {
			url := func(n string) string {
				if name == "memory" {
					return "mem://" + n
				}
				return "http://" + testenv.FreeAddr(t)
			}
			a := startNode(t, tr, url("a"))
			b := startNode(t, tr, url("b"))
			require.NoError(t, b.Handle("chat.say", func(ctx context.Context, from string, args []any) (any, error) {
				if len(args) != 1 {
					return nil, errors.New("say takes one message")
				}
				return map[string]any{"from": from, "heard": args[0], "n": 7, "tags": []string{"x", "y"}}, nil
			}))
			v, err := a.Call(context.Background(), b.URL(), "chat.say", "hello there")
			require.NoError(t, err)
			require.Equal(t, map[string]any{"from": a.URL(), "heard": "hello there", "n": int64(7), "tags": []any{"x", "y"}}, v)

			_, err = a.Call(context.Background(), b.URL(), "chat.say")
			require.ErrorContains(t, err, "say takes one message")
			var f *peer.Fault
			require.ErrorAs(t, err, &f)

			_, err = a.Call(context.Background(), b.URL(), "chat.unknown")
			require.ErrorAs(t, err, &f)
			require.Equal(t, transport.CodeError, f.Code)

			require.NoError(t, b.Handle("chat.say", nil))
			_, err = a.Call(context.Background(), b.URL(), "chat.say", "gone")
			require.ErrorAs(t, err, &f, "removed")
		})
	}
}

func TestProgramMethodsRefused(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	b := startNode(t, mem, "mem://b")
	h := func(ctx context.Context, from string, args []any) (any, error) { return nil, nil }
	for _, name := range []string{"", "query", "hello", "fetch", "list", "filepeer.ping", "system.listMethods", "a b", "é", strings.Repeat("x", 65)} {
		require.ErrorIs(t, a.Handle(name, h), peer.ErrMethodName, "%q", name)
		_, err := a.Call(context.Background(), b.URL(), name)
		require.ErrorIs(t, err, peer.ErrMethodName, "%q", name)
	}
	require.NoError(t, b.Handle("m", h))
	deep := any("x")
	for range 40 {
		deep = []any{deep}
	}
	for _, arg := range []any{nil, math.NaN(), "\x00", string([]byte{0xff}), struct{}{}, deep, map[string]any{"k": nil}, make([]any, 200000)} {
		_, err := a.Call(context.Background(), b.URL(), "m", arg)
		require.Error(t, err, "%#v", arg)
		require.NotErrorIs(t, err, peer.ErrMethodName)
	}
	v, err := a.Call(context.Background(), b.URL(), "m", 1, true, 2.5, []byte{0}, []string{"s"})
	require.NoError(t, err)
	require.Equal(t, true, v, "nil is sent as true")

	// A caller that gives no URL first is refused.
	p, err := mem.Dial(b.URL())
	require.NoError(t, err)
	_, err = p.(transport.Caller).Call(context.Background(), "m")
	require.ErrorContains(t, err, "caller's URL")
	_, err = p.(transport.Caller).Call(context.Background(), "m", 42)
	require.ErrorContains(t, err, "caller's URL")

	require.NoError(t, b.Handle("bad", func(ctx context.Context, from string, args []any) (any, error) { return struct{}{}, nil }))
	_, err = a.Call(context.Background(), b.URL(), "bad")
	require.ErrorContains(t, err, "result")
}
