package libp2p

import (
	"context"
	"fmt"
	"testing"

	base32 "github.com/multiformats/go-base32"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/stretchr/testify/require"
)

func provKey(key, host string) ds.Key {
	return ds.NewKey(records.ProvidersKeyPrefix + key + "/" + host)
}

// The store drops records past its bounds, in all and per host, directly
// and in batches, renews those it holds whatever the bounds, and counts
// again what is deleted; other keys pass through.
func TestProviderStoreBounds(t *testing.T) {
	ctx := context.Background()
	s := newProviderStore("self", 5, 3)
	for i := range 5 {
		require.NoError(t, s.Put(ctx, provKey(fmt.Sprintf("K%d", i), "HOSTA"), []byte{1}))
	}
	all, of := s.held("HOSTA")
	require.Equal(t, [2]int{3, 3}, [2]int{all, of}, "past the bound per host")
	has, err := s.Has(ctx, provKey("K3", "HOSTA"))
	require.NoError(t, err)
	require.False(t, has)

	// Renewing a record held is not a new one.
	require.NoError(t, s.Put(ctx, provKey("K0", "HOSTA"), []byte{2}))
	v, err := s.Get(ctx, provKey("K0", "HOSTA"))
	require.NoError(t, err)
	require.Equal(t, []byte{2}, v)

	// In a batch, as the provider manager writes: the bound in all.
	b, err := s.Batch(ctx)
	require.NoError(t, err)
	for i := range 4 {
		require.NoError(t, b.Put(ctx, provKey(fmt.Sprintf("K%d", i), fmt.Sprintf("HOST%d", i)), []byte{1}))
	}
	require.NoError(t, b.Commit(ctx))
	all, _ = s.held("")
	require.Equal(t, 5, all)
	kept := 0
	for i := range 4 {
		if has, _ := s.Has(ctx, provKey(fmt.Sprintf("K%d", i), fmt.Sprintf("HOST%d", i))); has {
			kept++
		}
	}
	require.Equal(t, 2, kept, "past the bound in all") // a batch commits in no set order

	// What is deleted, and only that, makes room.
	require.NoError(t, s.Delete(ctx, provKey("K9", "HOSTA")))
	require.NoError(t, s.Delete(ctx, provKey("K0", "HOSTA")))
	all, of = s.held("HOSTA")
	require.Equal(t, [2]int{4, 2}, [2]int{all, of})
	require.NoError(t, s.Put(ctx, provKey("K7", "HOSTA"), []byte{1}))
	has, _ = s.Has(ctx, provKey("K7", "HOSTA"))
	require.True(t, has)

	// The host's own records are not bounded.
	self := base32.RawStdEncoding.EncodeToString([]byte("self"))
	for i := range 10 {
		require.NoError(t, s.Put(ctx, provKey(fmt.Sprintf("K%d", i), self), []byte{1}))
		has, _ := s.Has(ctx, provKey(fmt.Sprintf("K%d", i), self))
		require.True(t, has)
	}
	all, _ = s.held("")
	require.Equal(t, 5, all)

	// Other keys are not provider records.
	for i := range 10 {
		require.NoError(t, s.Put(ctx, ds.NewKey(fmt.Sprintf("/other/%d", i)), []byte{1}))
	}
	all, _ = s.held("")
	require.Equal(t, 5, all)
}
