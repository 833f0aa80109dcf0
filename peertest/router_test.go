package peertest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/peertest"
)

// What nodes announce, in order and once each, comes back cut to the
// most asked for; a lie replaces it until it is taken back; a wait for an
// announcement that never comes ends with its context.
func TestRouter(t *testing.T) {
	r := peertest.NewRouter()
	ctx := context.Background()
	hash := fmt.Sprintf("%064x", 1)
	for _, u := range []string{"mem://a", "mem://b", "mem://a", "mem://c"} {
		require.NoError(t, r.For(u).Provide(ctx, hash))
	}
	require.Equal(t, 2, r.Provides("mem://a", hash))
	require.Equal(t, 1, r.Provides("mem://c", hash))
	require.Zero(t, r.Provides("mem://d", hash))

	got, err := r.For("mem://x").FindHolders(ctx, hash, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"mem://a", "mem://b"}, got)
	got, err = r.For("mem://x").FindHolders(ctx, fmt.Sprintf("%064x", 2), 2)
	require.NoError(t, err)
	require.Empty(t, got)

	r.Lie(func(asker, h string) []string { return []string{asker + "/" + h[:4]} })
	got, _ = r.For("mem://x").FindHolders(ctx, hash, 2)
	require.Equal(t, []string{"mem://x/0000"}, got)
	r.Lie(nil)
	got, _ = r.For("mem://x").FindHolders(ctx, hash, 5)
	require.Equal(t, []string{"mem://a", "mem://b", "mem://c"}, got)

	require.NoError(t, r.AwaitProvides(ctx, "mem://a", hash, 2))
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.AwaitProvides(short, "mem://a", hash, 3), context.DeadlineExceeded)
}
