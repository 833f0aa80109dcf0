package peer

import (
	"context"
	"fmt"
	"io"

	"github.com/filepeer/peer/transport"
)

// The extension protocol: methods of filepeer's own, beyond the book's,
// under the prefix "filepeer.". PROTOCOL.md in the module's root is their
// contract. A node learns per peer whether it speaks them from the first
// extension call it makes there, and otherwise falls back on the book's
// methods, which keep their meaning for every caller.
const (
	// ExtensionVersion is the version of the extension protocol this
	// package speaks, as filepeer.info reports it.
	ExtensionVersion = 1

	methodQuery  = "filepeer.query"  // query(name, history) with the query's identity
	methodSearch = "filepeer.search" // the files whose names match, network-wide
	methodInfo   = "filepeer.info"   // what the node speaks
	methodPing   = "filepeer.ping"   // is the node there: liveness.go
	methodPeers  = "filepeer.peers"  // some of its known peers: discovery.go
	methodBye    = "filepeer.bye"    // a peer is going: leave.go
	methodPieces = "filepeer.pieces" // the piece hashes of some contents: pieces.go
	methodRange  = "filepeer.range"  // part of some contents: ranges.go
)

// extensionMethods are the extension methods a node serves, as
// filepeer.info lists them.
var extensionMethods = []string{methodInfo, methodQuery, methodSearch, methodPing, methodPeers, methodBye, methodPieces, methodRange}

// Call serves the extension methods to the node's transport.
func (s server) Call(ctx context.Context, method string, args ...any) (any, error) {
	switch method {
	case methodQuery:
		name, history, id, err := routedArgs(method, "name, history, id", args, 3)
		if err != nil {
			return nil, err
		}
		return s.n.query(ctx, name, history, id)
	case methodSearch:
		text, history, id, err := routedArgs(method, "query, history, id, max", args, 4)
		if err != nil {
			return nil, err
		}
		max, ok := args[3].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: max must be an int, not %T", method, args[3])
		}
		return s.n.serveSearch(ctx, text, history, id, int(min(max, 1<<20)))
	case methodInfo:
		if len(args) != 0 {
			return nil, fmt.Errorf("%s() takes no arguments (%d given)", method, len(args))
		}
		return map[string]any{
			"protocol": "filepeer",
			"version":  ExtensionVersion,
			"methods":  extensionMethods,
		}, nil
	case methodPing, methodPeers:
		if len(args) != 0 {
			return nil, fmt.Errorf("%s() takes no arguments (%d given)", method, len(args))
		}
		if method == methodPing {
			return true, nil
		}
		return s.n.samplePeers(), nil
	case methodBye:
		if len(args) != 1 {
			return nil, fmt.Errorf("%s(url) takes 1 argument (%d given)", method, len(args))
		}
		url, err := transport.StringArg(method, "url", args[0])
		if err != nil {
			return nil, err
		}
		return s.n.bye(ctx, url), nil
	case methodPieces:
		if len(args) != 2 {
			return nil, fmt.Errorf("%s(name, hash) takes 2 arguments (%d given)", method, len(args))
		}
		name, hash, err := nameAndHash(method, args)
		if err != nil {
			return nil, err
		}
		return s.n.servePieces(ctx, name, hash)
	case methodRange:
		if len(args) != 4 {
			return nil, fmt.Errorf("%s(name, hash, offset, length) takes 4 arguments (%d given)", method, len(args))
		}
		name, hash, err := nameAndHash(method, args)
		if err != nil {
			return nil, err
		}
		offset, err := int64Arg(method, "offset", args[2])
		if err != nil {
			return nil, err
		}
		length, err := int64Arg(method, "length", args[3])
		if err != nil {
			return nil, err
		}
		return s.n.serveRange(ctx, name, hash, offset, length)
	}
	return s.n.serveMethod(ctx, method, args)
}

// routedArgs checks the arguments that the methods which travel as a
// query does start with: a string (a name, a search), the history and the
// query's identity; want is how many arguments the method takes, sig how
// the caller should have written them.
func routedArgs(method, sig string, args []any, want int) (first string, history []string, id string, err error) {
	if len(args) != want {
		return "", nil, "", fmt.Errorf("%s(%s) takes %d arguments (%d given)", method, sig, want, len(args))
	}
	if first, err = transport.StringArg(method, "argument 1", args[0]); err != nil {
		return "", nil, "", err
	}
	if history, err = transport.StringsArg(method, "history", args[1]); err != nil {
		return "", nil, "", err
	}
	if id, err = transport.StringArg(method, "id", args[2]); err != nil {
		return "", nil, "", err
	}
	if !validQueryID(id) {
		return "", nil, "", fmt.Errorf("%s: id must be 1 to %d letters, digits, '-' or '_'", method, maxQueryIDLen)
	}
	return first, history, id, nil
}

// nameAndHash checks the arguments that filepeer.pieces and
// filepeer.range start with: a file's name and its contents' hash.
func nameAndHash(method string, args []any) (name, hash string, err error) {
	if name, err = transport.StringArg(method, "name", args[0]); err != nil {
		return "", "", err
	}
	if hash, err = transport.StringArg(method, "hash", args[1]); err != nil {
		return "", "", err
	}
	if !validHash(hash) {
		return "", "", fmt.Errorf("%s: hash must be 64 lowercase hex digits", method)
	}
	return name, hash, nil
}

// Open serves the extension methods whose result is file contents.
func (s server) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	v, err := s.Call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	body, ok := v.(io.ReadCloser)
	if !ok {
		return nil, fmt.Errorf("method %q does not return file contents", method)
	}
	return body, nil
}
