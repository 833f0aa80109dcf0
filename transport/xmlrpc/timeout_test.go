package xmlrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// trickle answers a query with a reply whose body comes a piece at a
// time, every gap, and then, unless stall is set, ends; with stall set it
// sends nothing more until the request is cancelled.
func trickle(t *testing.T, pieces int, gap time.Duration, stall bool) string {
	return rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, replyHead+"<string>")
		w.(http.Flusher).Flush()
		for range pieces {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
		}
		if stall {
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "</string>"+replyTail)
	})
}

// TestXMLRPCSlowBodyOutlivesCallTimeout checks that a body that keeps
// moving may take many times as long as either timeout: CallTimeout
// bounds only the wait for the reply to begin, and StallTimeout each read
// (its timer, which fires now and then, must find the read in progress
// young and set itself again).
func TestXMLRPCSlowBodyOutlivesCallTimeout(t *testing.T) {
	for _, c := range []struct {
		name        string
		pieces      int
		gap         time.Duration
		call, stall time.Duration
	}{
		{"call timeout", 20, 10 * time.Millisecond, 20 * time.Millisecond, 5 * time.Second},
		{"stall timeout", 30, 5 * time.Millisecond, 0, 40 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := trickle(t, c.pieces, c.gap, false)
			tr := New(Config{CallTimeout: c.call, StallTimeout: c.stall})
			defer tr.Close()
			body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
			require.NoError(t, err)
			defer body.Close()
			b, err := io.ReadAll(body)
			require.NoError(t, err)
			require.Equal(t, strings.Repeat("x", c.pieces), string(b))
		})
	}
}

// TestXMLRPCStalledBodyFails checks that a reply that stops in mid-body
// fails after StallTimeout, with an error that says so and that is a
// deadline error, while the call timeout is far away.
func TestXMLRPCStalledBodyFails(t *testing.T) {
	url := trickle(t, 2, time.Millisecond, true)
	tr := New(Config{CallTimeout: time.Minute, StallTimeout: 50 * time.Millisecond})
	defer tr.Close()
	body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	require.NoError(t, err)
	defer body.Close()
	_, err = io.ReadAll(body)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "stalled")

	// The same holds for a small call such as hello.
	_, err = dial(t, tr, url).(*xmlrpcPeer).smallCall(context.Background(), "hello", "http://a:1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "stalled")
}

// TestXMLRPCPauseBetweenReadsIsNotAStall checks that time the caller
// spends between reads does not count against StallTimeout.
func TestXMLRPCPauseBetweenReadsIsNotAStall(t *testing.T) {
	url := trickle(t, 3, time.Millisecond, false)
	tr := New(Config{StallTimeout: 20 * time.Millisecond})
	defer tr.Close()
	body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	require.NoError(t, err)
	defer body.Close()
	var got []byte
	p := make([]byte, 1)
	for {
		n, err := body.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		time.Sleep(40 * time.Millisecond)
	}
	require.Equal(t, "xxx", string(got))
}

// TestXMLRPCHeaderTimeout checks that a reply whose headers do not come
// within CallTimeout fails with an error that says so.
func TestXMLRPCHeaderTimeout(t *testing.T) {
	url := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	tr := New(Config{CallTimeout: 20 * time.Millisecond})
	defer tr.Close()
	err := dial(t, tr, url).Hello(context.Background(), "http://a:1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "call timeout")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestXMLRPCCallErrorKept checks that a failed call reports the error of
// its RoundTripper, not the cancellation of its own context that ending
// the call causes.
func TestXMLRPCCallErrorKept(t *testing.T) {
	sentinel := errors.New("no route to peer")
	tr := New(Config{RoundTripper: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, sentinel
	})})
	defer tr.Close()
	err := dial(t, tr, "http://x:1").Hello(context.Background(), "http://a:1")
	require.ErrorIs(t, err, sentinel)
	require.NotErrorIs(t, err, context.Canceled)
	_, err = dial(t, tr, "http://x:1").Query(context.Background(), "f", nil)
	require.ErrorIs(t, err, sentinel)
}
