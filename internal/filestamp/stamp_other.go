//go:build !linux

package filestamp

import (
	"errors"
	"io/fs"
	"os"
)

// Stamp is empty where no change time is known: without one a change
// cannot be detected surely, so Of never gives one and nothing is cached.
type Stamp struct{}

// Of reports false: see Stamp.
func Of(fs.FileInfo) (Stamp, bool) { return Stamp{}, false }

// Dir is Linux's only: here OpenDir fails with errors.ErrUnsupported.
type Dir struct{}

// OpenDir fails with errors.ErrUnsupported: see Dir.
func OpenDir(*os.Root) (*Dir, error) { return nil, errors.ErrUnsupported }

// Lstat fails with errors.ErrUnsupported: see Dir.
func (*Dir) Lstat(string) (Stamp, fs.FileMode, error) {
	return Stamp{}, 0, errors.ErrUnsupported
}

// Close does nothing.
func (*Dir) Close() error { return nil }
