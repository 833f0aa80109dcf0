package libp2p

import (
	"io"
	"log"
	"net/http"
	"time"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// The one file that knows the XML-RPC transport's constructors: the rest
// of the package sees only package transport's interfaces.

// newHandler serves p's side of the XML-RPC protocol.
func newHandler(p transport.Peer) http.Handler {
	return xmlrpc.NewHandler(p)
}

// newClient is the XML-RPC client, making its requests with rt.
func newClient(rt http.RoundTripper, call, stall time.Duration) transport.Transport {
	return xmlrpc.New(xmlrpc.Config{
		RoundTripper: rt,
		CallTimeout:  call,
		StallTimeout: stall,
	})
}

// discardLog receives the HTTP server's own errors (streams reset and
// the like), which are the calling peer's business.
var discardLog = log.New(io.Discard, "", 0)
