package testenv

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Ports FreeAddr hands out: below Linux's default range for ephemeral
// ports (32768–60999), so that no outgoing connection of this or another
// process takes one between the check and the program's own listen.
const (
	lowPort  = 20000
	highPort = 32768
)

var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreeAddr returns a loopback address, 127.0.0.1:port, whose port was
// free a moment ago and has not been handed out before in this process.
// It is for programs that must be told their address before they listen;
// asking the kernel for port 0 could give two of them the same port once
// the first probe is closed.
func FreeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = make(map[int]bool)
	}
	for range 1000 {
		port := lowPort + rand.IntN(highPort-lowPort)
		if handedOut.ports[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		handedOut.ports[port] = true
		return addr
	}
	t.Fatalf("no free loopback port in %d–%d after 1000 tries", lowPort, highPort-1)
	return ""
}
