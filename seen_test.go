package peer

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSeenQueries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSeenQueries(time.Minute)
		require.True(t, s.handle("q", 2), "first copy")
		require.False(t, s.handle("q", 2), "as long a history: answered at once")
		require.False(t, s.handle("q", 4), "a longer one too")
		require.True(t, s.handle("q", 1), "a shorter path may reach further: handled again")
		require.False(t, s.handle("q", 1))
		require.True(t, s.handle("other", 5), "another query is another")

		time.Sleep(59 * time.Second)
		require.False(t, s.handle("q", 1), "still remembered within the timeout")
		time.Sleep(2 * time.Second)
		require.True(t, s.handle("q", 1), "forgotten after it")
		require.Equal(t, 1, s.len(), "expired entries are dropped")
	})
}

func TestSeenQueriesBounded(t *testing.T) {
	s := newSeenQueries(time.Hour)
	for i := range maxSeen + 100 {
		require.True(t, s.handle(fmt.Sprint(i), 1))
	}
	require.Equal(t, maxSeen, s.len())
	require.True(t, s.handle("0", 1), "the oldest made room")
	require.False(t, s.handle(fmt.Sprint(maxSeen+99), 1), "the newest is kept")
}

func TestSeenQueriesAdoptLentQuery(t *testing.T) {
	s := newSeenQueries(time.Minute)
	s.lend("q", "f", []string{"o", "g"})
	id, ok := s.adopt("f", []string{"o", "g", "book", "book2"})
	require.True(t, ok)
	require.Equal(t, "q", id)
	_, ok = s.adopt("other", []string{"o", "g", "book"})
	require.False(t, ok, "another name is another query")
	_, ok = s.adopt("f", []string{"o", "g"})
	require.False(t, ok, "the history lent is not one that came back through the book node")
	_, ok = s.adopt("f", []string{"x", "g", "book"})
	require.False(t, ok)
}

func TestQueryID(t *testing.T) {
	id := newQueryID()
	require.True(t, validQueryID(id))
	require.NotEqual(t, id, newQueryID())
	for _, bad := range []string{"", "a b", "x\x00", "ü", string(make([]byte, maxQueryIDLen+1))} {
		require.False(t, validQueryID(bad), "%q", bad)
	}
}
