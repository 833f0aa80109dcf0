package transport

import (
	"context"
	"net/netip"
)

// callerKey is the context key of WithCallerAddr.
type callerKey struct{}

// WithCallerAddr returns ctx marked with the network address of the
// client whose call it serves. The XML-RPC server marks every call so; a
// transport of one's own may do the same, so that the served node can
// limit calls per caller.
func WithCallerAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, callerKey{}, addr)
}

// CallerAddr returns the address WithCallerAddr put in ctx, if any.
func CallerAddr(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(callerKey{}).(netip.Addr)
	return a, ok
}
