package peer

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKnownRoomForAnsweringPeers checks that a full known list makes room
// for a new peer by evicting one that never answered, and only such a
// one.
func TestKnownRoomForAnsweringPeers(t *testing.T) {
	bg := from("10.0.0.1") // over the network: no peer is vouched for
	n := memNode(t, Config{MaxKnown: 3})
	for _, u := range []string{"mem://a", "mem://b", "mem://c"} {
		require.NoError(t, n.Hello(bg, u))
	}
	n.noteAnswer("mem://a", nil, speechUnknown)
	n.noteAnswer("mem://b", unhandled(), speechUnknown) // a fault is an answer
	n.noteAnswer("mem://c", errors.New("connection refused"), speechUnknown)

	require.NoError(t, n.Hello(bg, "mem://d"))
	require.Equal(t, []string{"mem://a", "mem://b", "mem://d"}, n.Known())
	require.NoError(t, n.Hello(bg, "mem://0"))
	require.Equal(t, []string{"mem://0", "mem://a", "mem://b"}, n.Known())

	n.noteAnswer("mem://0", nil, speechUnknown)
	err := n.Hello(bg, "mem://e")
	require.ErrorContains(t, err, "already 3 known peers")
	require.Equal(t, []string{"mem://0", "mem://a", "mem://b"}, n.Known())
}

// TestKnownRoomVouched checks that peers the node's own program added are
// never evicted.
func TestKnownRoomVouched(t *testing.T) {
	n := memNode(t, Config{MaxKnown: 2})
	require.NoError(t, n.Hello(context.Background(), "mem://a"))
	require.NoError(t, n.Hello(from("10.0.0.1"), "mem://b"))
	require.NoError(t, n.Hello(from("10.0.0.1"), "mem://c"))
	require.Equal(t, []string{"mem://a", "mem://c"}, n.Known())
	n.noteAnswer("mem://c", nil, speechUnknown)
	require.ErrorContains(t, n.Hello(from("10.0.0.1"), "mem://d"), "already 2")
}
