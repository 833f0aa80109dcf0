package libp2p_test

import (
	"strings"
	"testing"

	p2p "github.com/filepeer/peer/transport/libp2p"
)

// FuzzParseURL: any string parses or fails with an error, never a panic,
// and what parses prints back as a URL that parses to the same.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"libp2p:///ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDKnCQFx6kquNfeREtrsH2gitpeXecCAGNCTWa4SzwCQ5",
		"libp2p:///ip6/::1/udp/4001/quic-v1/p2p/12D3KooWDKnCQFx6kquNfeREtrsH2gitpeXecCAGNCTWa4SzwCQ5",
		"libp2p:///dns4/example.com/tcp/1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		"libp2p:///p2p/12D3KooWDKnCQFx6kquNfeREtrsH2gitpeXecCAGNCTWa4SzwCQ5",
		"libp2p:///ip4/1.2.3.4/tcp/99999",
		"libp2p:///",
		"http://127.0.0.1:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, id, err := p2p.ParseURL(s)
		if err != nil {
			return
		}
		if len(addr) == 0 {
			return
		}
		u := p2p.URL(addr, id)
		addr2, id2, err := p2p.ParseURL(u)
		if err != nil {
			t.Fatalf("%q parsed, but its URL %q does not: %v", s, u, err)
		}
		if id2 != id || !addr2.Equal(addr) || !strings.HasPrefix(u, p2p.Scheme+":///") {
			t.Fatalf("%q: round trip through %q changed it", s, u)
		}
	})
}
