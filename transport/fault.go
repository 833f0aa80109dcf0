package transport

import "fmt"

// Protocol fault codes.
const (
	CodeError        = 1   // any other failure, as Python's server reports it
	CodeUnhandled    = 100 // the query could not be handled
	CodeAccessDenied = 200 // wrong secret, or a name outside the shared directory
)

// Fault is a protocol fault: an error a node meant to send, which crosses
// every transport with its code intact. Package peer re-exports it as
// peer.Fault.
type Fault struct {
	Code    int
	Message string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("fault %d: %s", f.Code, f.Message)
}

// Is reports whether target is a *Fault with the same code, so that
// errors.Is(err, peer.ErrUnhandled) holds whatever the message.
func (f *Fault) Is(target error) bool {
	t, ok := target.(*Fault)
	return ok && t != nil && f != nil && t.Code == f.Code
}
