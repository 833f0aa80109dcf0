package filestamp

import (
	"io/fs"
	"syscall"
)

// Stamp identifies one version of a file: any write changes its change
// time, which no program can set back, and a replacement changes its
// inode. Stamps are comparable.
type Stamp struct {
	dev, ino             uint64
	size                 int64
	mtime, ctime         int64 // seconds
	mtimeNsec, ctimeNsec int64
}

// Of returns the stamp of the file fi describes, if fi came from a stat.
func Of(fi fs.FileInfo) (Stamp, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Stamp{}, false
	}
	s := Stamp{dev: uint64(st.Dev), ino: uint64(st.Ino), size: int64(st.Size)}
	s.mtime, s.mtimeNsec = st.Mtim.Unix()
	s.ctime, s.ctimeNsec = st.Ctim.Unix()
	return s, true
}
