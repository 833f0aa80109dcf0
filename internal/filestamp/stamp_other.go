//go:build !linux

package filestamp

import "io/fs"

// Stamp is empty where no change time is known: without one a change
// cannot be detected surely, so Of never gives one and nothing is cached.
type Stamp struct{}

// Of reports false: see Stamp.
func Of(fs.FileInfo) (Stamp, bool) { return Stamp{}, false }
