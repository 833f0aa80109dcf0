package libp2p

import (
	"context"
	"strings"
	"sync"

	base32 "github.com/multiformats/go-base32"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Default bounds of the provider records a DHT host keeps for others.
const (
	// DefaultMaxProviderRecords is DHTConfig.MaxProviderRecords's zero
	// value: about 50 MiB of records in memory.
	DefaultMaxProviderRecords = 1 << 18
	// DefaultMaxProviderRecordsPerHost is
	// DHTConfig.MaxProviderRecordsPerHost's zero value.
	DefaultMaxProviderRecordsPerHost = 1 << 14
)

// providerStore is the datastore behind kad-dht's provider manager: a map
// in memory, as kad-dht's own default, with a bound on the records it
// holds in all and on those of each providing host, so that hosts that
// announce without end cannot fill this one's memory. The provider
// manager caches records in front of it, and writes its pending records
// to it in batches; a record past a bound is dropped, as though it had
// expired (provider records are soft state: their holder announces them
// again), rather than refused, which would fail the whole batch of
// others' records with it. A record already held is renewed whatever the
// bounds, and the host's own records (its own files') are not bounded.
// Every record a provider manager keeps lives under
// records.ProvidersKeyPrefix, its last segment its provider's id;
// anything else passes through unbounded (there is nothing else).
type providerStore struct {
	ds.Batching
	max, perHost int
	self         string // the host's own records' last segment

	mu sync.Mutex
	// guards the counts, and each Put and Delete with them
	count  int
	byHost map[string]int // by the key's last segment: the provider
}

func newProviderStore(self peer.ID, max, perHost int) *providerStore {
	return &providerStore{
		Batching: dssync.MutexWrap(ds.NewMapDatastore()),
		max:      max,
		perHost:  perHost,
		// As the provider manager writes a provider into a key.
		self:   base32.RawStdEncoding.EncodeToString([]byte(self)),
		byHost: make(map[string]int),
	}
}

// providerOf returns the provider of the record at key, or "" for a key
// that is not a provider record's or is one of the host's own.
func (s *providerStore) providerOf(key ds.Key) string {
	if !strings.HasPrefix(key.String(), records.ProvidersKeyPrefix) || key.BaseNamespace() == s.self {
		return ""
	}
	return key.BaseNamespace()
}

func (s *providerStore) Put(ctx context.Context, key ds.Key, value []byte) error {
	h := s.providerOf(key)
	if h == "" {
		return s.Batching.Put(ctx, key, value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held, err := s.Batching.Has(ctx, key)
	if err != nil {
		return err
	}
	if !held && (s.count >= s.max || s.byHost[h] >= s.perHost) {
		return nil // dropped: see providerStore
	}
	if err := s.Batching.Put(ctx, key, value); err != nil {
		return err
	}
	if !held {
		s.count++
		s.byHost[h]++
	}
	return nil
}

func (s *providerStore) Delete(ctx context.Context, key ds.Key) error {
	h := s.providerOf(key)
	if h == "" {
		return s.Batching.Delete(ctx, key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held, err := s.Batching.Has(ctx, key)
	if err != nil || !held {
		return err
	}
	if err := s.Batching.Delete(ctx, key); err != nil {
		return err
	}
	s.count--
	if s.byHost[h]--; s.byHost[h] == 0 {
		delete(s.byHost, h)
	}
	return nil
}

// Batch returns a batch whose writes go through Put and Delete, and so
// through the bounds, when it is committed.
func (s *providerStore) Batch(context.Context) (ds.Batch, error) {
	return ds.NewBasicBatch(s), nil
}

// held returns how many provider records of others s holds, in all and
// of host h (a key's last segment).
func (s *providerStore) held(h string) (all, of int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.byHost[h]
}
