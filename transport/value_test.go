package transport_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

func TestArgs(t *testing.T) {
	s, err := transport.StringArg("query", "name", "a.txt")
	require.NoError(t, err)
	require.Equal(t, "a.txt", s)
	_, err = transport.StringArg("query", "name", int64(3))
	require.EqualError(t, err, "query: name must be a string, not an int")
	_, err = transport.StringArg("fetch", "secret", nil)
	require.EqualError(t, err, "fetch: secret must be a string, not nil")

	ss, err := transport.StringsArg("query", "history", []any{"a", "b"})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, ss)
	ss, err = transport.StringsArg("query", "history", []any{})
	require.NoError(t, err)
	require.Empty(t, ss)
	_, err = transport.StringsArg("query", "history", map[string]any{})
	require.EqualError(t, err, "query: history must be an array of strings, not a struct")
	_, err = transport.StringsArg("query", "history", []any{"a", []byte("b")})
	require.EqualError(t, err, "query: history must be an array of strings, not of base64")
}
