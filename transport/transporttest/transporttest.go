// Package transporttest checks that a transport.Transport carries the
// filepeer protocol as every transport must, in the manner of
// testing/fstest.TestFS: a program that brings its own transport runs
// Run against it, as the module does against the in-memory network, the
// XML-RPC transport and peertest's wire-codec mode.
package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer/transport"
)

// Maker makes a fresh transport for one test, and a function that
// returns a new URL at which a node may listen on it each time it is
// called. The test's Cleanup closes what the Maker made.
type Maker func(t *testing.T) (tr transport.Transport, url func() string)

// bound is how long the suite waits for something that must happen at
// once, before it calls the transport stuck: a bound on a wait, not a
// measure of speed.
const bound = 20 * time.Second

// Run checks the transports that mk makes: file contents cross exactly,
// faults keep their codes, the book's methods, List and Call carry their
// arguments and results as an XML-RPC wire would, calls to nothing fail
// without a fault, the caller's context ends a call on both sides,
// concurrent calls do not mix, and no goroutine outlives the test's
// Cleanup. Run's subtests must not run in parallel with other tests of
// the package, whose goroutines the last check would count.
func Run(t *testing.T, mk Maker) {
	for _, c := range []struct {
		name string
		test func(*testing.T, Maker)
	}{
		{"Contents", testContents},
		{"Methods", testMethods},
		{"Faults", testFaults},
		{"Optional", testOptional},
		{"Unreachable", testUnreachable},
		{"Cancel", testCancel},
		{"Concurrent", testConcurrent},
		{"BodyClosedEarly", testClosedEarly},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so run last: once what the Maker
			// made is closed, no goroutine of it may be left.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			c.test(t, mk)
		})
	}
}

// serve listens with p at a new URL and returns a client of it.
func serve(t *testing.T, tr transport.Transport, url func() string, p transport.Peer) transport.Peer {
	t.Helper()
	u := url()
	l, err := tr.Listen(u, p)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	if lu, ok := l.(interface{ URL() string }); ok && lu.URL() != "" {
		u = lu.URL()
	}
	c, err := tr.Dial(u)
	require.NoError(t, err)
	return c
}

// peer is a served node: files by name, and what its calls received.
type peer struct {
	files map[string][]byte
	query func(ctx context.Context, name string) (io.ReadCloser, error)

	mu sync.Mutex
	// guards the fields below
	history [][]string
	hellos  []string
	fetches [][2]string
}

func (p *peer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	p.mu.Lock()
	p.history = append(p.history, history)
	p.mu.Unlock()
	if p.query != nil {
		return p.query(ctx, name)
	}
	b, ok := p.files[name]
	if !ok {
		return nil, &transport.Fault{Code: transport.CodeUnhandled, Message: "Couldn't handle the query"}
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (p *peer) Hello(ctx context.Context, url string) error {
	if url == "bad" {
		return errors.New("no such thing")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hellos = append(p.hellos, url)
	return nil
}

func (p *peer) Fetch(ctx context.Context, name, secret string) error {
	if secret != "s3cret" {
		return &transport.Fault{Code: transport.CodeAccessDenied, Message: "Access denied"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetches = append(p.fetches, [2]string{name, secret})
	return nil
}

// fullPeer is a peer with List and Call.
type fullPeer struct{ *peer }

func (fullPeer) List(context.Context) ([]string, error) { return []string{"a.txt", "b<&>.bin"}, nil }

func (p fullPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	switch method {
	case "test.echo":
		return args, nil
	case "test.fault":
		return nil, &transport.Fault{Code: 4711, Message: "as asked"}
	case "test.file":
		return p.Query(ctx, "text", nil)
	}
	return nil, transport.UnknownMethod(method)
}

func (p fullPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	v, err := p.Call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	rc, ok := v.(io.ReadCloser)
	if !ok {
		return nil, fmt.Errorf("%s returns no file", method)
	}
	return rc, nil
}

// contents are files that must cross exactly.
func contents() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	return map[string][]byte{
		"empty":   {},
		"text":    []byte("plain text\n"),
		"markup":  []byte("a<b&c>d\r\ne\rf &amp; ]]> \t"),
		"utf8":    []byte("ünïcödé € 😀"),
		"binary":  {0, 1, 2, 0xff, 0xfe, '<', '&'},
		"broken":  []byte("ok \xe2\x82 then"),
		"big":     big,
		"bigtext": bytes.Repeat([]byte("the quick brown fox & friends <again>\n"), 30000),
	}
}

func testContents(t *testing.T, mk Maker) {
	tr, url := mk(t)
	files := contents()
	c := serve(t, tr, url, &peer{files: files})
	for name, want := range files {
		body, err := c.Query(context.Background(), name, nil)
		require.NoError(t, err, name)
		got, err := io.ReadAll(body)
		require.NoError(t, err, name)
		require.NoError(t, body.Close(), name)
		require.True(t, bytes.Equal(want, got), "%s: %d bytes sent, %d received", name, len(want), len(got))
		if tx, ok := body.(transport.Texter); ok {
			// A body that says whether it is text must say it right
			// for contents that are plainly one or the other.
			switch name {
			case "text", "markup", "utf8", "bigtext":
				require.True(t, tx.IsText(), name)
			case "binary", "broken", "big":
				require.False(t, tx.IsText(), name)
			}
		}
	}
}

func testMethods(t *testing.T, mk Maker) {
	tr, url := mk(t)
	p := &peer{files: map[string][]byte{"a": []byte("A")}}
	c := serve(t, tr, url, p)
	ctx := context.Background()

	history := []string{"http://x:1", "http://y:2"}
	body, err := c.Query(ctx, "a", history)
	require.NoError(t, err)
	body.Close()
	_, err = c.Query(ctx, "a", nil)
	require.NoError(t, err)
	p.mu.Lock()
	require.Equal(t, [][]string{history, nil}, normalise(p.history))
	p.mu.Unlock()

	require.NoError(t, c.Hello(ctx, "http://z:3"))
	require.NoError(t, c.Fetch(ctx, "a&b", "s3cret"))
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Equal(t, []string{"http://z:3"}, p.hellos)
	require.Equal(t, [][2]string{{"a&b", "s3cret"}}, p.fetches)
}

// normalise makes every empty history nil: a wire cannot tell the two
// apart.
func normalise(hs [][]string) [][]string {
	out := make([][]string, len(hs))
	for i, h := range hs {
		if len(h) > 0 {
			out[i] = slices.Clone(h)
		}
	}
	return out
}

// requireFault checks that err is a *Fault with code, and message if
// not empty.
func requireFault(t *testing.T, err error, code int, message string) {
	t.Helper()
	var f *transport.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, code, f.Code, f.Message)
	if message != "" {
		require.Equal(t, message, f.Message)
	}
	require.ErrorIs(t, err, &transport.Fault{Code: code})
}

func testFaults(t *testing.T, mk Maker) {
	tr, url := mk(t)
	c := serve(t, tr, url, fullPeer{&peer{}})
	ctx := context.Background()
	_, err := c.Query(ctx, "missing", nil)
	requireFault(t, err, transport.CodeUnhandled, "Couldn't handle the query")
	requireFault(t, c.Fetch(ctx, "a", "wrong"), transport.CodeAccessDenied, "Access denied")
	// An error that is not a *Fault crosses as code 1, its words kept.
	requireFault(t, c.Hello(ctx, "bad"), transport.CodeError, "no such thing")
	_, err = transport.Call(ctx, c, "test.fault")
	requireFault(t, err, 4711, "as asked")
}

func testOptional(t *testing.T, mk Maker) {
	tr, url := mk(t)
	ctx := context.Background()
	full := serve(t, tr, url, fullPeer{&peer{files: map[string][]byte{"text": []byte("contents")}}})
	names, err := transport.List(ctx, full)
	require.NoError(t, err)
	require.Equal(t, []string{"a.txt", "b<&>.bin"}, names)

	args := []any{"s", 7, int64(1) << 40, true, 1.5, []byte{0, 1, '<'}, []string{"a", "b"},
		[]any{"x", int64(2)}, map[string]any{"k": "v", "n": int64(3)}}
	v, err := transport.Call(ctx, full, "test.echo", args...)
	require.NoError(t, err)
	// As an XML-RPC wire carries them: ints as int64, []string as []any.
	require.Equal(t, []any{"s", int64(7), int64(1) << 40, true, 1.5, []byte{0, 1, '<'}, []any{"a", "b"},
		[]any{"x", int64(2)}, map[string]any{"k": "v", "n": int64(3)}}, v)
	_, err = transport.Call(ctx, full, "test.echo", nil)
	require.Error(t, err, "nil cannot be sent")

	body, err := transport.Open(ctx, full, "test.file")
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	body.Close()
	require.Equal(t, "contents", string(got))

	_, err = transport.Call(ctx, full, "test.nothing")
	requireFault(t, err, transport.CodeError, transport.UnknownMethod("test.nothing").Message)

	// A served Peer without List or Call answers as a node that does
	// not know the method.
	book := serve(t, tr, url, &peer{})
	_, err = transport.List(ctx, book)
	requireFault(t, err, transport.CodeError, "")
	_, err = transport.Call(ctx, book, "test.echo", "x")
	requireFault(t, err, transport.CodeError, "")
	_, err = transport.Open(ctx, book, "test.file")
	requireFault(t, err, transport.CodeError, "")
}

// requireCallFailed checks that err is a failed call, not a fault.
func requireCallFailed(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var f *transport.Fault
	require.False(t, errors.As(err, &f), "a call to nothing is no fault: %v", err)
}

func testUnreachable(t *testing.T, mk Maker) {
	tr, url := mk(t)
	ctx := context.Background()
	_, err := tr.Listen(url(), nil)
	require.Error(t, err, "Listen of a nil Peer")

	nothing, err := tr.Dial(url())
	require.NoError(t, err)
	requireCallFailed(t, nothing.Hello(ctx, "http://a:1"))

	u := url()
	l, err := tr.Listen(u, &peer{})
	require.NoError(t, err)
	if lu, ok := l.(interface{ URL() string }); ok && lu.URL() != "" {
		u = lu.URL()
	}
	_, err = tr.Listen(u, &peer{})
	require.Error(t, err, "a second Listen at %s", u)
	c, err := tr.Dial(u)
	require.NoError(t, err)
	require.NoError(t, c.Hello(ctx, "http://a:1"))
	require.NoError(t, l.Close())
	requireCallFailed(t, c.Hello(ctx, "http://a:1"))
	require.NoError(t, l.Close(), "a second Close")
}

func testCancel(t *testing.T, mk Maker) {
	tr, url := mk(t)
	served := make(chan struct{})
	ended := make(chan struct{})
	c := serve(t, tr, url, &peer{query: func(ctx context.Context, _ string) (io.ReadCloser, error) {
		close(served)
		select {
		case <-ctx.Done():
			close(ended)
			return nil, ctx.Err()
		case <-time.After(bound):
			return nil, errors.New("the call's context never ended")
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Query(ctx, "slow", nil)
		errc <- err
	}()
	wait(t, served, "the call to reach the served Peer")
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(bound):
		t.Fatal("a cancelled call did not return")
	}
	wait(t, ended, "the served call's context to end")
}

func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(bound):
		t.Fatalf("waited %v for %s", bound, what)
	}
}

func testConcurrent(t *testing.T, mk Maker) {
	tr, url := mk(t)
	files := map[string][]byte{}
	for i := range 16 {
		files[fmt.Sprint(i)] = bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
	}
	c := serve(t, tr, url, &peer{files: files})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			for range 10 {
				name := fmt.Sprint((i + 1) % 16)
				body, err := c.Query(context.Background(), name, []string{name})
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(body)
				body.Close()
				if err == nil && !bytes.Equal(got, files[name]) {
					err = fmt.Errorf("%s: wrong contents", name)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func testClosedEarly(t *testing.T, mk Maker) {
	tr, url := mk(t)
	files := contents()
	c := serve(t, tr, url, &peer{files: files})
	ctx := context.Background()
	for range 3 {
		body, err := c.Query(ctx, "big", nil)
		require.NoError(t, err)
		buf := make([]byte, 10)
		_, err = io.ReadFull(body, buf)
		require.NoError(t, err)
		require.NoError(t, body.Close())
	}
	body, err := c.Query(ctx, "text", nil)
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	body.Close()
	require.Equal(t, files["text"], got)
}
