package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// ProbeTimeout bounds the check that a peer answers (peer.Node.Ping).
const ProbeTimeout = 5 * time.Second

// Reason says in a few words why a call to a peer failed, for people:
// the chain of wrapped errors ("peer: hello: transport: dial: …") means
// little to someone who typed a URL.
func Reason(err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, peer.ErrUnhandled):
		return "no node on the network has it"
	case errors.Is(err, peer.ErrAccessDenied):
		return "access denied"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, transport.ErrUnreachable):
		return "nothing is listening there"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "that host cannot be reached from here"
	case errors.As(err, &dns):
		return "there is no host named " + dns.Name
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		return "it did not answer in time"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, peer.ErrClosed):
		return "this node is shutting down"
	case errors.Is(err, peer.ErrBadSearch):
		// What is wrong with the search, e.g. "more than 16 words".
		msg := err.Error()
		if i := strings.LastIndex(msg, peer.ErrBadSearch.Error()+": "); i >= 0 {
			return msg[i+len(peer.ErrBadSearch.Error())+2:]
		}
		return "not a search any node can run"
	}
	// Something rarer: the innermost message, without the layers' prefixes.
	msg := err.Error()
	for _, prefix := range []string{"peer: ", "transport: "} {
		if i := strings.LastIndex(msg, prefix); i >= 0 {
			msg = msg[i+len(prefix):]
		}
	}
	return msg
}

// Size formats a number of bytes for people.
func Size(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 10_000:
		return fmt.Sprintf("%d bytes", n)
	}
	size, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if size < 1024 {
			break
		}
		size, unit = size/1024, u
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", size, unit, n)
}

// PeerState says in a few words how a known peer is doing, as a node
// knows it (peer.Node.Peers).
func PeerState(p peer.PeerInfo) string {
	var s string
	switch {
	case p.Failures == 1:
		s = "failing: its last ping failed"
	case p.Failures > 1:
		s = fmt.Sprintf("failing: %d pings in a row failed", p.Failures)
	case p.Answered:
		s = "answering"
	default:
		s = "not heard from yet"
	}
	if p.Book {
		s += ", a book node (cannot search)"
	}
	return s
}
