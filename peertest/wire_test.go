package peertest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

func TestWireCodecCarriesFiles(t *testing.T) {
	net := peertest.Line(t, 3, peertest.WireCodec())
	files := map[string]string{
		"text.txt":  "hello\n",
		"crlf.txt":  "a\r\nb\r\n",
		"binary":    "\x00\x01\xff\xfe",
		"empty":     "",
		"large.txt": strings.Repeat("gzip me ", 1000),
		"sub/x.txt": "<&>",
	}
	for name, content := range files {
		net.Node("n2").Put(name, content)
	}
	for name, content := range files {
		got, err := net.Node("n0").Query(deadline(t), name)
		require.NoError(t, err, name)
		require.Equal(t, content, string(got), name)
	}
	require.NoError(t, net.Node("n0").Fetch(deadline(t), "binary"))
	got, _ := net.Node("n0").Read("binary")
	require.Equal(t, files["binary"], got)

	_, err := net.Node("n0").Query(deadline(t), "missing")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Equal(t, []string{"n1"}, net.Node("n0").Known(), "fault 100 crossed the wire as a fault")
	missing := net.Trace().Queries("missing")
	require.Equal(t, 2, missing.MaxHop())
	for _, c := range missing[1:] {
		require.NotZero(t, c.Parent, "the context, and with it the parent call, crosses the codec: %s", c)
		require.True(t, c.Delivered)
	}
}

func TestWireCodecDeadHost(t *testing.T) {
	net := peertest.Line(t, 2, peertest.WireCodec())
	net.Node("n1").Crash()
	_, err := net.Node("n0").Query(deadline(t), "f")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	calls := net.Trace().Between("n0", "n1")
	require.Len(t, calls, 1)
	require.ErrorIs(t, calls[0].Err, transport.ErrUnreachable)
	require.False(t, calls[0].Delivered)
}

// U+FFFF passes the path guard but is no XML character: the in-memory
// network finds such a file, the wire cannot even ask for it.
// A name the wire could not carry (U+FFFF is no XML 1.0 character) is
// refused by the node's guard before any call crosses a link, on the
// in-memory network and through the codec alike, so no healthy peer is
// dropped for it.
func TestWireCodecUnsendableNameRefusedBeforeTheWire(t *testing.T) {
	const name = "odd\uffff.txt"
	for _, wire := range []bool{false, true} {
		var opts []peertest.Option
		if wire {
			opts = append(opts, peertest.WireCodec())
		}
		net := peertest.Line(t, 2, opts...)
		_, err := net.Node("n0").Query(deadline(t), name)
		require.ErrorIs(t, err, peer.ErrAccessDenied)
		require.Empty(t, net.Trace().Between("n0", "n1"), "nothing crossed the link")
		require.Equal(t, []string{"n1"}, net.Node("n0").Known(), "the peer is kept")
	}
}
