package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// ProbeTimeout bounds the check that a peer answers.
const ProbeTimeout = 5 * time.Second

// Probe checks that a node answers at url, asking on behalf of the node at
// self. It asks for a file with a history as long as the book allows, so
// that any node, Go or Python, answers at once with a fault instead of
// passing the query on: any fault means the node is up.
func Probe(ctx context.Context, tr transport.Transport, self, url string) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	p, err := tr.Dial(url)
	if err != nil {
		return err
	}
	history := slices.Repeat([]string{self}, peer.DefaultMaxHistory-1)
	body, err := p.Query(ctx, "filepeer client probe", history)
	if err == nil {
		return body.Close()
	}
	var f *peer.Fault
	if errors.As(err, &f) {
		return nil
	}
	return err
}

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
