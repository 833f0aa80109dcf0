package peer

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

// textBody is a peer's body that knows it is text.
type textBody struct {
	io.Reader
	closed int
}

func (b *textBody) IsText() bool { return true }
func (b *textBody) Close() error { b.closed++; return nil }

// TestRelayKeepsWhatTheTransportNeeds checks the wrapper of a relayed
// body, twice over as a node that passes a query on makes it: it keeps
// the body's Texter, lets a transport reach the body within through
// Unwrap (to copy an encoded reply through), and releases its context
// once, however often it is closed.
func TestRelayKeepsWhatTheTransportNeeds(t *testing.T) {
	body := &textBody{Reader: strings.NewReader("contents")}
	released := 0
	outer := relay(relay(body, func() { released++ }), func() { released++ })

	tx, ok := outer.(transport.Texter)
	require.True(t, ok)
	require.True(t, tx.IsText())

	var r io.ReadCloser = outer
	for range 2 {
		u, ok := r.(interface{ Unwrap() io.ReadCloser })
		require.True(t, ok)
		r = u.Unwrap()
	}
	require.Same(t, body, r)

	got, err := io.ReadAll(outer)
	require.NoError(t, err)
	require.Equal(t, "contents", string(got))
	require.NoError(t, outer.Close())
	require.NoError(t, outer.Close())
	require.Equal(t, 2, released, "each wrapper releases its context once")
	require.NotZero(t, body.closed, "the body within is closed")
}
