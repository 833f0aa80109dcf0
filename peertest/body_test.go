package peertest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/peertest"
)

// Corrupt alters the bytes a reply carries, keeping their length, and
// the trace counts them.
func TestCorrupt(t *testing.T) {
	net := peertest.Edges(t, "a>b")
	content := strings.Repeat("filepeer ", 400) // 3,600 bytes
	net.Node("b").Put("f", content)
	r := net.FaultLink("a", "b", peertest.Corrupt())
	got, err := net.Node("a").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Len(t, got, len(content))
	require.NotEqual(t, content, string(got))
	diff := 0
	for i := range got {
		if got[i] != content[i] {
			diff++
		}
	}
	require.Equal(t, 4, diff, "one bit flipped in each KiB begun")
	require.Equal(t, 1, r.Hits())
	tr := net.Trace()
	require.Equal(t, int64(len(content)), tr.Between("a", "b")[0].Bytes)
	require.Equal(t, int64(len(content)), tr.Between("", "a")[0].Bytes, "the test's own query too")
	require.Contains(t, tr.Between("a", "b")[0].Fault, "corrupt")

	r.Clear()
	got, err = net.Node("a").Query(deadline(t), "f")
	require.NoError(t, err)
	require.Equal(t, content, string(got))
}

// CutAfter fails a reply's body after n bytes of contents; a shorter
// reply comes whole.
func TestCutAfter(t *testing.T) {
	net := peertest.Edges(t, "a>b")
	net.Node("b").Put("long", strings.Repeat("x", 5000))
	net.Node("b").Put("short", "tiny")
	net.Node("b").Put("empty", "")
	net.FaultLink("a", "b", peertest.CutAfter(4))
	_, err := net.Node("a").Query(deadline(t), "long")
	require.ErrorIs(t, err, peertest.ErrCut)
	got, err := net.Node("a").Query(deadline(t), "short")
	require.NoError(t, err)
	require.Equal(t, "tiny", string(got))
	_, err = net.Node("a").Query(deadline(t), "empty")
	require.NoError(t, err)
	tr := net.Trace().Between("a", "b")
	require.Len(t, tr, 3)
	require.Equal(t, []int64{4, 4, 0}, []int64{tr[0].Bytes, tr[1].Bytes, tr[2].Bytes})
}

// A bad CutAfter fails the test that sets it.
func TestCutAfterNegative(t *testing.T) {
	msg := fatalOf(t, func(tb testing.TB) {
		peertest.Edges(tb, "a>b").FaultLink("a", "b", peertest.CutAfter(-1))
	})
	require.Contains(t, msg, "CutAfter(-1)")
}
