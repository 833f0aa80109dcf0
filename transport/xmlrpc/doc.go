// Package xmlrpc is filepeer's default transport: XML-RPC over HTTP,
// wire-compatible with Python's xmlrpc.client and xmlrpc.server, so that
// Go nodes and the book's Python nodes form one network.
//
// New returns a transport.Transport whose Listen owns a listener;
// NewHandler serves a Peer as an http.Handler, for a server of one's own.
//
// The files hold, from the bottom up: buffer pools (pool.go) and the
// guards against hostile peers (guard.go); the bytes XML can carry
// (chars.go) and their escaping (escape.go); the decoder of XML-RPC's
// subset of XML (decode.go), the checks of a relayed reply copied through
// still encoded (passthrough.go), an element's text as a stream, decoded
// or checked (textstream.go), base64 streams (base64.go), values
// (value.go), requests (request.go) and replies (reply.go), which read
// from an io.Reader and write to an io.Writer; the file-kind memo
// (memo.go) and the cache of settled files' encoded replies
// (replycache.go); and over them the heads of HTTP/1.x messages, read
// and written (httphead.go), the client's pooled HTTP/1.1 connections
// (conns.go) and the client (client.go), the handler, which owns HTTP
// headers and spooling (handler.go), the HTTP/1.1 server that runs it
// (server.go), the listener (listen.go) and the Transport that ties them
// (transport.go). Both ends of HTTP are the package's own, so that a call
// runs on one goroutine at each end. A file uses only those before it,
// but for transport.go's defaults and Transport type.
package xmlrpc
