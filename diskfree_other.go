//go:build !linux

package peer

import "os"

// diskFree is not known on this platform: the reserve is not kept.
func diskFree(*os.File) (int64, bool) { return 0, false }
