package libp2p

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Scheme is the URL scheme of libp2p nodes: libp2p:///<multiaddr>.
const Scheme = "libp2p"

const prefix = Scheme + "://"

// maxURL caps the length of a URL parsed, well above any real one.
const maxURL = 1024

// URL returns the URL of the node with id at addr, an address without a
// /p2p part: libp2p:///ip4/…/p2p/<id>.
func URL(addr ma.Multiaddr, id peer.ID) string {
	return prefix + addr.String() + "/p2p/" + id.String()
}

// ParseURL splits a libp2p URL into its address and its peer id. The id
// is required; the address is not (a URL of "libp2p:///p2p/<id>" names a
// peer whose address the host must learn otherwise).
func ParseURL(raw string) (ma.Multiaddr, peer.ID, error) {
	addr, id, err := parseURL(raw)
	if err != nil {
		return nil, "", err
	}
	if id == "" {
		return nil, "", fmt.Errorf("libp2p: URL %q: no /p2p/<peer id> at its end", short(raw))
	}
	return addr, id, nil
}

// parseURL is ParseURL with the id optional, as Listen takes it.
func parseURL(raw string) (ma.Multiaddr, peer.ID, error) {
	if len(raw) > maxURL {
		return nil, "", fmt.Errorf("libp2p: URL of %d bytes: longer than %d", len(raw), maxURL)
	}
	rest, ok := strings.CutPrefix(raw, prefix)
	if !ok {
		return nil, "", fmt.Errorf("libp2p: URL %q: not libp2p:///<multiaddr>", short(raw))
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, "", fmt.Errorf("libp2p: URL %q: has a host; the multiaddr follows libp2p:// at once, as in libp2p:///ip4/…", short(raw))
	}
	m, err := ma.NewMultiaddr(rest)
	if err != nil {
		return nil, "", fmt.Errorf("libp2p: URL %q: %w", short(raw), err)
	}
	addr, last := ma.SplitLast(m)
	if last == nil || last.Protocol().Code != ma.P_P2P {
		if err := checkAddr(m); err != nil {
			return nil, "", fmt.Errorf("libp2p: URL %q: %w", short(raw), err)
		}
		return m, "", nil
	}
	id, err := peer.Decode(last.Value())
	if err != nil {
		return nil, "", fmt.Errorf("libp2p: URL %q: peer id: %w", short(raw), err)
	}
	if err := checkAddr(addr); err != nil {
		return nil, "", fmt.Errorf("libp2p: URL %q: %w", short(raw), err)
	}
	return addr, id, nil
}

// checkAddr refuses addresses no peer can have, and relayed ones, which
// this transport does not use.
func checkAddr(m ma.Multiaddr) error {
	if len(m) == 0 {
		return nil
	}
	for _, c := range m {
		switch c.Protocol().Code {
		case ma.P_P2P:
			return errors.New("a /p2p/ part before its end")
		case ma.P_CIRCUIT:
			return errors.New("relayed addresses are not used")
		case ma.P_IP4, ma.P_IP6:
			ip := net.IP(c.RawValue())
			switch {
			case ip.IsUnspecified():
				return fmt.Errorf("%s is unspecified", ip)
			case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
				return fmt.Errorf("%s is link-local", ip)
			case ip.IsMulticast(), ip.Equal(net.IPv4bcast):
				return fmt.Errorf("%s is multicast or broadcast", ip)
			}
		}
	}
	if len(m) < 2 {
		return fmt.Errorf("%s is no TCP or QUIC address", m)
	}
	switch m[0].Protocol().Code {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		return fmt.Errorf("%s is no TCP or QUIC address: it starts with neither an IP address nor a DNS name", m)
	}
	tcp := m[1].Protocol().Code == ma.P_TCP && len(m) == 2
	quic := len(m) == 3 && m[1].Protocol().Code == ma.P_UDP && m[2].Protocol().Code == ma.P_QUIC_V1
	if !tcp && !quic {
		return fmt.Errorf("%s is no TCP or QUIC address (…/tcp/<port> or …/udp/<port>/quic-v1)", m)
	}
	return nil
}

// short cuts a URL for an error message.
func short(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
