// Package libp2p carries the filepeer protocol over libp2p, so that nodes
// reach each other by peer id over encrypted, authenticated streams
// instead of by an http:// URL anyone can claim.
//
// It is a module of its own (github.com/filepeer/peer/transport/libp2p),
// so that the core library does not bring go-libp2p's hundred-odd modules
// to programs that only speak XML-RPC.
//
// # URLs
//
// A node's URL is a libp2p multiaddr that ends in the node's peer id,
// behind the scheme "libp2p" and an empty host:
//
//	libp2p:///ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
//	libp2p:///ip4/192.0.2.7/udp/4001/quic-v1/p2p/12D3KooW…
//
// The peer id is the hash of the node's public key: a connection to the
// URL succeeds only if the node at that address proves it holds the key,
// so a URL cannot be claimed by another node. Listen also takes a URL
// without the /p2p part, and with port 0 for any free port; the listener's
// URL method then gives the full URL, which the node takes as its own.
// Dial refuses a URL without a peer id, and one whose address no peer can
// have (unspecified, link-local, multicast).
//
// # Identity
//
// Config.KeyFile names the file that holds the host's private key: it is
// read if it exists and made (an Ed25519 key, mode 0600) if not, so a
// node keeps its peer id, and thus its URL, across restarts.
//
// # Local discovery
//
// With Config.LocalDiscovery, a host that serves a node announces its
// addresses by mDNS, multicast on UDP port 5353 of the local network, and
// calls the program's LocalDiscovery.Found with each host announced there
// under the same service name: its URL, checked as Dial checks one, and
// reported at most once a minute, from a bounded number of peers. The
// program passes the URL to its node's Hello, marked with
// transport.WithCallerAddr, so that the node adds the peer only once it
// has answered. It is off by default, as it talks to every host on the
// network.
//
// # Wire
//
// Each call is one HTTP/1.1 exchange of the filepeer XML-RPC protocol on a
// libp2p stream of protocol ProtocolID: the server is the XML-RPC handler
// of package transport in an http.Server whose listener accepts streams,
// and the client is the XML-RPC client with an http.Transport that dials
// streams. Reusing them, rather than framing the protocol afresh, keeps
// every behaviour of the wire (faults and their codes, text and binary
// contents, streamed bodies, size caps and stall timeouts, the filepeer.*
// extensions and Caller) the same on both transports, and lets a node
// bridge the two without translating anything. libp2p's own HTTP package
// (p2p/http) was not used: it adds a discovery round trip per peer
// (/.well-known/libp2p) that the protocol does not need. An idle stream is
// kept for the next call to the same peer, as a keep-alive connection is.
//
// # Network
//
// A host listens only where Listen is told, over TCP and QUIC, with Noise
// or TLS 1.3 encryption and yamux multiplexing. It uses no relays, hole
// punching, NAT port mapping or AutoNAT, and knows no bootstrap peers: it
// connects only to the peers whose URLs it dials (and, with a DHT, to the
// DHT's hosts; with LocalDiscovery, to the hosts found on the LAN, see
// Local discovery) and is reached only by those who dial it.
// Config.ConnectionGater can narrow that further.
//
// # Content routing
//
// NewDHT adds, if a program wants it, a Kademlia DHT of filepeer's own
// (protocol /filepeer/kad/1.0.0, apart from the public IPFS DHT), joined
// by the bootstrap URLs it is given: a DHT is a peer.ContentRouter, so a
// node with it as Config.Router announces the hashes of its files there
// and asks it for the holders of contents before flooding. The host then
// also connects to the DHT's hosts that its lookups lead to.
//
// Mux joins this transport and the XML-RPC one, so that a node serves and
// dials both kinds of URL: a bridge between the book's Python nodes and
// libp2p peers.
package libp2p
