package peer

import (
	"errors"

	"github.com/filepeer/peer/transport"
)

// Fault codes of the protocol.
const (
	Unhandled    = transport.CodeUnhandled    // fault code: the query could not be handled
	AccessDenied = transport.CodeAccessDenied // fault code: wrong secret, or a name outside Dir
)

// Fault is a protocol fault. errors.Is(err, ErrUnhandled) and
// errors.Is(err, ErrAccessDenied) hold for local and remote faults alike,
// over every transport; errors.As(err, &f) with f *Fault gives the code.
type Fault = transport.Fault

// The protocol's two faults, with the book's messages. Compare with
// errors.Is, which matches any *Fault of the same code.
var (
	ErrUnhandled    error = &Fault{Code: Unhandled, Message: "Couldn't handle the query"}
	ErrAccessDenied error = &Fault{Code: AccessDenied, Message: "Access denied"}
)

// ErrClosed is returned by calls on a node after Close.
var ErrClosed = errors.New("peer: node is closed")

// unhandled and denied return fresh faults, so that no caller can change
// the shared sentinels through errors.As.
func unhandled() error { return &Fault{Code: Unhandled, Message: "Couldn't handle the query"} }
func denied() error    { return &Fault{Code: AccessDenied, Message: "Access denied"} }

// repeatedMessage is the message of the fault 100 a node answers for a
// copy of a query it has handled already (see PROTOCOL.md).
const repeatedMessage = "Couldn't handle the query: already handled here"

func repeated() error { return &Fault{Code: Unhandled, Message: repeatedMessage} }

// IsRepeat reports whether err is the fault a node answers for a copy of
// a query that it has already handled with at least as many hops left:
// a fault 100 (errors.Is(err, ErrUnhandled) holds) that says the copy
// was answered at once, without being passed on.
func IsRepeat(err error) bool {
	var f *Fault
	return errors.As(err, &f) && f.Code == Unhandled && f.Message == repeatedMessage
}
