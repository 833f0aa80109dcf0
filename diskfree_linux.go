package peer

import (
	"os"
	"syscall"
)

// diskFree returns the bytes an unprivileged writer may still put on the
// file system that holds f.
func diskFree(f *os.File) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
