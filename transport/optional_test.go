package transport_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

// bookPeer has only the book's three methods.
type bookPeer struct{}

func (bookPeer) Query(context.Context, string, []string) (io.ReadCloser, error) {
	return nil, errors.New("unused")
}
func (bookPeer) Hello(context.Context, string) error         { return nil }
func (bookPeer) Fetch(context.Context, string, string) error { return nil }

// listPeer lists one name.
type listPeer struct{ bookPeer }

func (listPeer) List(context.Context) ([]string, error) { return []string{"a"}, nil }

func TestOptionalMethods(t *testing.T) {
	ctx := context.Background()
	unknown := func(t *testing.T, err error, method string) {
		t.Helper()
		var f *transport.Fault
		require.ErrorAs(t, err, &f)
		require.Equal(t, transport.CodeError, f.Code)
		require.Equal(t, transport.UnknownMethod(method).Message, f.Message)
	}
	_, err := transport.List(ctx, bookPeer{})
	unknown(t, err, "list")
	_, err = transport.Call(ctx, bookPeer{}, "x.y", 1)
	unknown(t, err, "x.y")
	_, err = transport.Open(ctx, bookPeer{}, "x.z")
	unknown(t, err, "x.z")

	names, err := transport.List(ctx, listPeer{})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, names)
}
