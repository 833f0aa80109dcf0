package testenv

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// PyNode is a running node of testdata/pynode.py: the book's protocol in
// Python, for the interop tests of every module of the repository.
type PyNode struct {
	URL, Dir, Secret string
}

// StartPyNode runs the script pynode.py, at the path script, with the
// interpreter py on a free loopback port, and waits until it answers; it
// is killed when the test ends, and what it said is logged if the test
// failed.
func StartPyNode(t testing.TB, py, script string) *PyNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("python node: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	n := &PyNode{URL: "http://" + addr, Dir: t.TempDir(), Secret: "py secret"}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, py, script, n.URL, n.Dir, n.Secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("python node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("python node %s said:\n%s", n.URL, out.String())
		}
	})
	if err := waitListening(addr, 15*time.Second); err != nil {
		t.Fatalf("python node at %s did not start: %v\n%s", n.URL, err, out.String())
	}
	return n
}

// PyResult is what Python's ServerProxy made of a reply: its type (str,
// Binary, int, fault…), the bytes of a str or Binary in hex, another
// value as JSON has it, or a fault's code and message.
type PyResult struct {
	Type    string `json:"type"`
	Hex     string `json:"hex"`
	Value   any    `json:"value"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Bytes returns the bytes of a str or Binary reply.
func (r PyResult) Bytes(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(r.Hex)
	if err != nil {
		t.Fatalf("python reply: %v", err)
	}
	return b
}

// PyCall calls method at url with Python's ServerProxy, through the
// script's "call" mode, and returns what Python made of the reply.
func PyCall(t testing.TB, py, script, url, method string, args ...any) PyResult {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatalf("python call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, "call", url, method, string(js)).CombinedOutput()
	if err != nil {
		t.Fatalf("python call %s %s: %v\n%s", method, url, err, out)
	}
	var r PyResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("python call %s %s: %v\n%s", method, url, err, strings.TrimSpace(string(out)))
	}
	return r
}
