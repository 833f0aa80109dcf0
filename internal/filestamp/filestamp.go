// Package filestamp tells the versions of a file apart by its metadata, for
// caches of what was read from a file or worked out from its contents.
package filestamp

import (
	"io/fs"
	"time"
)

// Settle is how long a file must have been left alone before its stamp is
// trusted. Time stamps move in clock ticks, so two writes within one tick
// may leave them unchanged; a file untouched for longer than a tick cannot
// change again without a new stamp.
const Settle = 2 * time.Second

// Settled reports whether fi's file was last written more than Settle ago.
func Settled(fi fs.FileInfo) bool { return time.Since(fi.ModTime()) >= Settle }
