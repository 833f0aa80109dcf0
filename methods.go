package peer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/filepeer/peer/transport"
)

// A program's own remote methods (btpeer's handlers): Handle registers
// one on a node, Call calls one on a peer. On the wire a method is called
// by its name with the caller's URL first, then the program's arguments:
// chat.say("http://127.0.0.1:4243", "hello"). The caller's URL is what
// the caller says it is: a handler that acts on it should check it.
const (
	maxMethodName = 64     // bytes of a program's method name
	maxValueDepth = 32     // nesting of arrays and structs in an argument
	maxValueItems = 100000 // values in all of a call's arguments
)

// Handler serves a program's remote method: from is the caller's URL, as
// the caller gave it, args the call's arguments, XML-RPC values as
// transport.Caller describes them. The result must be such a value too;
// a nil result is sent as true, since XML-RPC has no nil. An error is
// sent as a fault: a *Fault with its code, any other error as code 1.
type Handler func(ctx context.Context, from string, args []any) (any, error)

// ErrMethodName reports a method name a program may not use: empty,
// longer than 64 bytes, holding other than ASCII letters, digits, '_',
// '-' and '.', or reserved: query, hello, fetch and list, the book's,
// and names beginning "filepeer." or "system." (Python's server's).
var ErrMethodName = errors.New("peer: not a method name a program may use")

// methods are a node's program's methods. Safe for concurrent use.
type methods struct {
	mu sync.Mutex
	// guards of
	of map[string]Handler
}

func checkMethodName(name string) error {
	switch {
	case name == "" || len(name) > maxMethodName:
		return fmt.Errorf("%w: %q must be 1 to %d bytes", ErrMethodName, truncate(name), maxMethodName)
	case name == "query" || name == "hello" || name == "fetch" || name == "list",
		strings.HasPrefix(name, "filepeer."), strings.HasPrefix(name, "system."):
		return fmt.Errorf("%w: %q is the protocol's", ErrMethodName, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("%w: %q holds %q", ErrMethodName, truncate(name), r)
		}
	}
	return nil
}

// Handle registers h as the node's remote method name, replacing any
// before it; a nil h removes it. It fails with ErrMethodName for a name
// the protocol reserves or the wire could not carry.
func (n *Node) Handle(name string, h Handler) error {
	if err := checkMethodName(name); err != nil {
		return err
	}
	m := &n.methods
	m.mu.Lock()
	defer m.mu.Unlock()
	if h == nil {
		delete(m.of, name)
		return nil
	}
	if m.of == nil {
		m.of = make(map[string]Handler)
	}
	m.of[name] = h
	return nil
}

// Call calls the program's method name on the peer at peerURL, which
// need not be a known peer, with args, which must be XML-RPC values (see
// transport.Caller). A peer that has no such method answers a *Fault of
// code 1 (transport.CodeError), as a book node does.
func (n *Node) Call(ctx context.Context, peerURL, name string, args ...any) (any, error) {
	if err := checkMethodName(name); err != nil {
		return nil, err
	}
	if !validURL(peerURL) {
		return nil, fmt.Errorf("peer: call %s: invalid peer URL %q", name, truncate(peerURL))
	}
	items := 0
	for i, a := range args {
		if err := checkValue(a, 0, &items); err != nil {
			return nil, fmt.Errorf("peer: call %s: argument %d: %w", name, i+1, err)
		}
	}
	ctx, cancel, err := n.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer n.calls.Done()
	defer cancel()
	p, err := n.tr.Dial(peerURL)
	if err != nil {
		return nil, fmt.Errorf("peer: call %s: %w", name, err)
	}
	c, ok := p.(transport.Caller)
	if !ok {
		return nil, fmt.Errorf("peer: call %s: the transport carries only the book's methods", name)
	}
	v, err := c.Call(ctx, name, append([]any{n.URL()}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("peer: call %s on %s: %w", name, truncate(peerURL), err)
	}
	return v, nil
}

// serveMethod serves a call of a method that is not the protocol's:
// the program's, or unknown.
func (n *Node) serveMethod(ctx context.Context, method string, args []any) (any, error) {
	m := &n.methods
	m.mu.Lock()
	h := m.of[method]
	m.mu.Unlock()
	if h == nil {
		return nil, transport.UnknownMethod(method)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("peer: %s: the caller's URL must come first", method)
	}
	from, ok := args[0].(string)
	if !ok || !validURL(from) {
		return nil, fmt.Errorf("peer: %s: the first argument must be the caller's URL", method)
	}
	if err := n.register(); err != nil {
		return nil, err
	}
	defer n.calls.Done()
	v, err := h(ctx, from, args[1:])
	if err != nil {
		return nil, err
	}
	if v == nil {
		return true, nil
	}
	items := 0
	if err := checkValue(v, 0, &items); err != nil {
		n.log.Warn("a method's result cannot be sent", "method", method, "err", err)
		return nil, fmt.Errorf("peer: %s: result: %w", method, err)
	}
	return v, nil
}

// checkValue checks that v is an XML-RPC value within the depth and item
// bounds; *items counts the values seen so far.
func checkValue(v any, depth int, items *int) error {
	if *items++; *items > maxValueItems {
		return fmt.Errorf("more than %d values", maxValueItems)
	}
	if depth > maxValueDepth {
		return fmt.Errorf("nested more than %d deep", maxValueDepth)
	}
	switch v := v.(type) {
	case string:
		return checkText(v)
	case bool, int, int32, int64, []byte:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v is no XML-RPC double", v)
		}
		return nil
	case []string:
		for _, s := range v {
			if err := checkValue(s, depth+1, items); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for _, e := range v {
			if err := checkValue(e, depth+1, items); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for k, e := range v {
			if err := checkText(k); err != nil {
				return fmt.Errorf("member name: %w", err)
			}
			if err := checkValue(e, depth+1, items); err != nil {
				return err
			}
		}
		return nil
	case nil:
		return errors.New("nil is no XML-RPC value")
	}
	return fmt.Errorf("%T is no XML-RPC value", v)
}

// checkText checks that s can travel as an XML-RPC string.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("a string that is not UTF-8")
	}
	for _, r := range s {
		if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF && (r < 0xD800 || r > 0xDFFF)) {
			return fmt.Errorf("a string holding %U, which XML cannot carry", r)
		}
	}
	return nil
}
