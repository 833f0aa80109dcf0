package libp2p_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	lpeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
	"github.com/filepeer/peer/transport/transporttest"
)

// hosts serves each node on a libp2p host of its own, as a libp2p node
// is served, with the key its URL names, and dials from one more host:
// the transport the conformance suite wants, which serves many nodes
// and dials URLs at which nothing listens yet.
type hosts struct {
	t      *testing.T
	dialer *p2p.Transport

	mu sync.Mutex
	// guards keys
	keys map[string]crypto.PrivKey // by URL
}

// url makes a URL of a new identity at a port that was free a moment ago.
func (h *hosts) url() string {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(h.t, err)
	id, err := lpeer.IDFromPrivateKey(key)
	require.NoError(h.t, err)
	u := fmt.Sprintf("libp2p:///ip4/%s/p2p/%s", strings.Replace(testenv.FreeAddr(h.t), ":", "/tcp/", 1), id)
	h.mu.Lock()
	h.keys[u] = key
	h.mu.Unlock()
	return u
}

func (h *hosts) Listen(url string, p transport.Peer) (io.Closer, error) {
	h.mu.Lock()
	key := h.keys[url]
	h.mu.Unlock()
	return newTransport(h.t, p2p.Config{Key: key}).Listen(url, p)
}

func (h *hosts) Dial(url string) (transport.Peer, error) { return h.dialer.Dial(url) }

// The libp2p transport passes the suite every transport must pass.
func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (transport.Transport, func() string) {
		h := &hosts{t: t, dialer: newTransport(t, p2p.Config{}), keys: make(map[string]crypto.PrivKey)}
		return h, h.url
	})
}
