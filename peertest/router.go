package peertest

import (
	"context"
	"slices"
	"sync"

	"github.com/filepeer/peer"
)

// Router is a content router in memory (a peer.ContentRouter) for the
// nodes of a test's network: what one announces, the others find at once,
// in the order announced, and for as long as the Router lives. It lets a
// test watch what nodes announce, and make a router that lies. Give it to
// a network with Routed. Safe for concurrent use.
type Router struct {
	mu sync.Mutex
	// guards the fields below
	holders  map[string][]string // hash: the URLs that announced it, in order
	provides map[[2]string]int   // {url, hash}: Provide calls
	changed  chan struct{}       // closed and replaced at each Provide
	lie      func(asker, hash string) []string
}

// NewRouter returns a Router that knows no holder yet.
func NewRouter() *Router {
	return &Router{holders: make(map[string][]string), provides: make(map[[2]string]int), changed: make(chan struct{})}
}

// Routed gives every node of the network r as its Config.Router.
func Routed(r *Router) Option {
	return Configure(func(c *peer.Config) { c.Router = r.For(c.URL) })
}

// For returns r as the node at url uses it: what it announces, url holds.
func (r *Router) For(url string) peer.ContentRouter { return routerOf{r, url} }

// Provides returns how many times url has announced hash.
func (r *Router) Provides(url, hash string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.provides[[2]string{url, hash}]
}

// AwaitProvides returns once url has announced hash at least k times, or
// ctx's error if it ends first.
func (r *Router) AwaitProvides(ctx context.Context, url, hash string, k int) error {
	for {
		r.mu.Lock()
		n, changed := r.provides[[2]string{url, hash}], r.changed
		r.mu.Unlock()
		if n >= k {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Lie has FindHolders answer what fn returns for the asking node's URL
// and the hash, whatever was announced; nil makes r truthful again.
func (r *Router) Lie(fn func(asker, hash string) []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lie = fn
}

type routerOf struct {
	r   *Router
	url string
}

func (o routerOf) Provide(ctx context.Context, hash string) error {
	r := o.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.holders[hash], o.url) {
		r.holders[hash] = append(r.holders[hash], o.url)
	}
	r.provides[[2]string{o.url, hash}]++
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

func (o routerOf) FindHolders(ctx context.Context, hash string, max int) ([]string, error) {
	r := o.r
	r.mu.Lock()
	lie := r.lie
	h := slices.Clone(r.holders[hash])
	r.mu.Unlock()
	if lie != nil {
		return lie(o.url, hash), nil
	}
	return h[:min(len(h), max)], nil
}
