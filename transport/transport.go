// Package transport carries the filepeer protocol between nodes.
//
// A Transport does two things: it serves a node's side of the protocol (a
// Peer) at a URL, and it reaches other nodes by URL. Two transports ship with
// the module: XML-RPC over HTTP, which speaks to the book's Python nodes, and
// an in-memory network for tests (NewMemory). A program may bring its own,
// say over gRPC or QUIC, by implementing Transport.
//
// File contents cross a transport as streams, so a relay or a fetch never has
// to hold a whole file. New remote methods come as optional interfaces on
// Peer (see Lister), found by type assertion, so that the Transport and Peer
// interfaces never grow and no user's transport breaks.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/filepeer/peer/transport/internal/wire"
)

// Peer is the protocol's remote methods. A node implements it to be served,
// and a Transport returns one to reach a node by URL. Implementations are
// safe for concurrent use.
//
// Errors that the remote node meant, such as "not found", are *Fault values;
// any other error (a dead host, a timeout, garbage on the wire) means the
// call itself failed.
type Peer interface {
	// Query returns the contents of the file name, found on the peer or,
	// through it, on the network. history lists the nodes the query has
	// already passed through. The caller must close the body.
	Query(ctx context.Context, name string, history []string) (io.ReadCloser, error)
	// Hello tells the peer about the node at url.
	Hello(ctx context.Context, url string) error
	// Fetch asks the peer to find name on the network and store it; secret
	// is the peer's password.
	Fetch(ctx context.Context, name, secret string) error
}

// Lister is an optional interface of a Peer that can list the names of the
// files it shares (chapter 28's list()).
type Lister interface {
	List(ctx context.Context) ([]string, error)
}

// Caller is an optional interface of a Peer for methods beyond the book's:
// filepeer's own extensions (PROTOCOL.md in the module's root) and, later,
// a program's. A transport's clients implement it; a Peer given to Listen
// implements it to serve such methods, answering UnknownMethod for any it
// does not have, as a book node answers every method it does not know.
//
// Arguments and results are XML-RPC values: string, int64 (int and int32
// are accepted and arrive as int64), bool, float64, []byte (base64),
// []any and map[string]any of those, and []string (arriving as []any).
// nil is refused, as Python refuses to send None.
type Caller interface {
	// Call calls method with args and returns its result.
	Call(ctx context.Context, method string, args ...any) (any, error)
	// Open calls a method whose result is file contents, as query's is,
	// and returns them as a stream, which the caller must close. A
	// served Peer's Call returns such a result as an io.ReadCloser.
	Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error)
}

// UnknownMethod is the fault a node answers for a method it does not
// have: code 1, with the words of Python's server, so that either kind
// of node reads the same.
func UnknownMethod(method string) *Fault {
	return &Fault{Code: CodeError, Message: fmt.Sprintf("method %q is not supported", wire.Short(method))}
}

// Contexter is an optional interface of the Peer given to Listen. A
// transport that honours it serves every call to that Peer under a
// context derived from Context, which thus ends the calls when it ends.
// The XML-RPC transport honours it. A node uses it to end the calls it is
// serving when it closes, without a context of its own for each one.
type Contexter interface {
	Context() context.Context
}

// Texter is an optional interface of a Query body that knows whether its
// bytes are text: valid UTF-8 that XML 1.0 can carry. The XML-RPC client's
// bodies know it from the wire type; a relay keeps it, so text stays text.
type Texter interface {
	IsText() bool
}

// Encoded is an optional interface of a Query body whose contents came in
// a wire encoding and can be handed on in it: a transport that would send
// them in that same encoding copies them through, rather than decode them
// and encode them again. The XML-RPC client's bodies implement it, and
// the XML-RPC handler uses it when it relays one. The encoding names are
// the transport's own (xmlrpc.EncodingText, xmlrpc.EncodingBase64).
//
// A body that wraps another and reads nothing differently (a relay's,
// which only adds to Close) keeps the Encoded of the body within by
// having a method Unwrap() io.ReadCloser that returns it.
type Encoded interface {
	// Encoding names the encoding Encoded gives the contents in.
	Encoding() string
	// Encoded returns the contents in Encoding, checked as they are
	// read: they fail where a decode would. It takes the place of the
	// body's Read, which must not be called before or after it; the
	// body must still be closed.
	Encoded() io.Reader
}

// Transport serves nodes at URLs and reaches them by URL. Implementations are
// safe for concurrent use.
type Transport interface {
	// Listen serves p at url until the returned io.Closer is closed.
	// Closing it stops new calls; calls already running are the served
	// node's to end. The Closer may also have a method URL() string
	// giving the URL actually served, when it differs from url (port 0
	// asks an XML-RPC transport for a free port); a node then takes
	// that URL as its own.
	Listen(url string, p Peer) (io.Closer, error)
	// Dial returns a client for the node at url. It does no I/O: an error
	// means the URL can never be reached over this transport.
	Dial(url string) (Peer, error)
}

// ErrUnreachable reports a call to a URL at which nothing is served: the
// in-memory counterpart of a refused connection.
var ErrUnreachable = errors.New("transport: peer unreachable")
