package peer

// PENDING-XMLRPC: placeholder until the XML-RPC transport lands; replaced before commit.

import (
	"net/http"

	"github.com/filepeer/peer/transport"
)

func defaultTransport() transport.Transport { return transport.NewMemory() }

func xmlrpcHandler(p transport.Peer) http.Handler { return http.NotFoundHandler() }
