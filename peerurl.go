package peer

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrPeerURL is what Hello returns, wrapped, for a URL that is no peer's
// address: errors.Is(err, ErrPeerURL) tells such a refusal from a failure.
var ErrPeerURL = errors.New("peer: not a peer's address")

// PeerPolicy decides whether a node may add a peer at u, a URL that has
// passed the node's own checks (see Config.PeerPolicy). It returns nil to
// allow it, or an error saying why not, which the caller of hello sees.
type PeerPolicy func(u *url.URL) error

// checkPeerURL refuses a URL that names no peer's address, before anything
// is sent to it. http and https URLs, the ones a node dials over the
// network, must be a peer's address and nothing more: a host and a port,
// a path that is empty, "/" or "/RPC2", no userinfo, query or fragment,
// and no IP address that no peer can have (unspecified, link-local,
// multicast, broadcast). Those are refused because a URL that reaches
// anything else (a metadata service, an admin page, credentials in a log)
// turns every node into a proxy for whoever says hello. URLs of other
// schemes (mem:// and the like) are the transport's to judge. The
// message never repeats the URL, which may hold a password.
func checkPeerURL(raw string, policy PeerPolicy) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: it does not parse as a URL", ErrPeerURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	switch {
	case u.Opaque != "":
		return fmt.Errorf("%w: %s: needs //host:port", ErrPeerURL, u.Scheme)
	case u.User != nil:
		return fmt.Errorf("%w: it has userinfo (user:password@)", ErrPeerURL)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("%w: it has a query string", ErrPeerURL)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%w: it has a fragment", ErrPeerURL)
	case u.Path != "" && u.Path != "/" && u.Path != "/RPC2":
		return fmt.Errorf("%w: its path must be empty, / or /RPC2", ErrPeerURL)
	case u.Hostname() == "":
		return fmt.Errorf("%w: it has no host", ErrPeerURL)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w: it needs a port from 1 to 65535", ErrPeerURL)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := badPeerIP(ip); why != "" {
			return fmt.Errorf("%w: %s is %s", ErrPeerURL, host, why)
		}
	} else if !validHostName(host) {
		return fmt.Errorf("%w: %q is neither an IP address nor a host name", ErrPeerURL, truncate(host))
	}
	if policy != nil {
		if err := policy(u); err != nil {
			return fmt.Errorf("%w: refused by the node's policy: %w", ErrPeerURL, err)
		}
	}
	return nil
}

// badPeerIP says why no peer can be at ip, or "" if one can.
func badPeerIP(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.Zone() != "":
		return "scoped to an interface"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	return ""
}

// validHostName reports whether s is a DNS name: labels of letters,
// digits, '-' and '_', at most 63 bytes each and 253 in all, the last
// not a number.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	// A numeric last label makes no DNS name but, to some resolvers, an
	// IP address in a form netip refuses ("127.1", "0x7f.1",
	// "2852039166"): refused, as it could hide an address refused above.
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.HasPrefix(strings.ToLower(last), "0x") || strings.Trim(last, "0123456789") == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
