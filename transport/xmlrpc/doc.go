// Package xmlrpc is filepeer's default transport: XML-RPC over HTTP,
// wire-compatible with Python's xmlrpc.client and xmlrpc.server, so that
// Go nodes and the book's Python nodes form one network.
//
// New returns a transport.Transport whose Listen owns a listener;
// NewHandler serves a Peer as an http.Handler, for a server of one's own.
//
// The files hold, from the bottom up: the bytes XML can carry (words.go,
// escape.go), the decoder of XML-RPC's subset of XML (decode.go), values
// (value.go), requests (request.go) and replies (reply.go), base64
// streams (base64.go); then the client (client.go), the handler
// (handler.go), its file-kind memo (memo.go) and the guards against
// hostile peers (guard.go). Each file uses only those before it.
package xmlrpc
