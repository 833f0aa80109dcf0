package peer

import (
	"context"
	"fmt"
	"io"
	"os"
)

// serveRange answers filepeer.range: length bytes of name from offset,
// provided the file's current contents have the hash given. The reply
// streams from the open file.
func (n *Node) serveRange(ctx context.Context, name, hash string, offset, length int64) (io.ReadCloser, error) {
	if err := n.register(); err != nil {
		return nil, err
	}
	defer n.calls.Done()
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("%s: offset and length must not be negative", methodRange)
	}
	f, _, err := n.openVersion(ctx, name, hash)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if offset > fi.Size() || length > fi.Size()-offset {
		f.Close()
		return nil, fmt.Errorf("%s: bytes %d to %d are past the end of the file (%d bytes)", methodRange, offset, offset+length, fi.Size())
	}
	return &rangeBody{Reader: io.NewSectionReader(f, offset, length), f: f}, nil
}

// rangeBody is a ranged read of an open file, which closing closes.
type rangeBody struct {
	io.Reader
	f *os.File
}

func (b *rangeBody) Close() error { return b.f.Close() }

// int64Arg reads an integer argument.
func int64Arg(method, arg string, v any) (int64, error) {
	i, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("%s: %s must be an int, not %T", method, arg, v)
	}
	return i, nil
}
