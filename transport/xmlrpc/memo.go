package xmlrpc

import (
	"encoding/base64"
	"io"
	"io/fs"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/filepeer/peer/internal/filestamp"
)

// scanSeeker reads rs from where it stands to its end to learn whether it
// is text, and rewinds it. length is the size of the encoded contents,
// pos where rs stands and size the number of bytes from there to its end.
// buf is its buffer.
func scanSeeker(rs io.ReadSeeker, buf []byte) (text bool, length, pos, size int64, err error) {
	pos, err = rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, 0, 0, 0, err
	}
	endPos, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return false, 0, 0, 0, err
	}
	if _, err := rs.Seek(pos, io.SeekStart); err != nil {
		return false, 0, 0, 0, err
	}
	size = endPos - pos
	text, length = true, 0
	carry := 0
	for {
		n, rerr := io.ReadFull(rs, buf[carry:])
		n += carry
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return false, 0, 0, 0, rerr
		}
		l, used, err := scanText(buf[:n], eof)
		length += l
		if err != nil {
			text = false
			break
		}
		carry = copy(buf, buf[used:n])
		if eof {
			break
		}
	}
	if !text {
		length = int64(base64.StdEncoding.EncodedLen(int(size)))
	}
	if _, err := rs.Seek(pos, io.SeekStart); err != nil {
		return false, 0, 0, 0, err
	}
	return text, length, pos, size, nil
}

// scanMemo remembers what scanSeeker found in files, by version
// (filestamp), so that a file sent again is not read twice again: the scan
// of a 16 MiB text took 7.7 ms, a quarter of its reply's time. Safe for
// concurrent use; a nil *scanMemo remembers nothing.
type scanMemo struct {
	kinds *lru.Cache[filestamp.Stamp, fileKind]
}

// fileKind is what a scan found: text or not, and the length encoded.
type fileKind struct {
	text   bool
	length int64
}

// scanMemoSize is how many files a handler remembers the kind of.
const scanMemoSize = 256

// minMemoSize is the smallest file whose kind is remembered: below it, a
// scan costs less than a stat.
const minMemoSize = 1 << 20

func newScanMemo() *scanMemo {
	kinds, err := lru.New[filestamp.Stamp, fileKind](scanMemoSize)
	if err != nil {
		return nil
	}
	return &scanMemo{kinds: kinds}
}

// version is what a stat says of a body the memo (and the reply cache)
// may remember things of: a whole file (rs at its start) that can say what
// version it is (an *os.File), of minMemoSize bytes or more, left alone
// for filestamp.Settle. ok is false for any other body.
type version struct {
	stamp filestamp.Stamp
	size  int64
	ok    bool
}

// versionOf stats rs, if it can, for its version.
func versionOf(rs io.ReadSeeker) version {
	f, ok := rs.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return version{}
	}
	fi, err := f.Stat()
	if err != nil {
		return version{}
	}
	stamp, ok := filestamp.Of(fi)
	if !ok || fi.Size() < minMemoSize || !filestamp.Settled(fi) {
		return version{}
	}
	if pos, err := rs.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return version{}
	}
	return version{stamp: stamp, size: fi.Size(), ok: true}
}

// scan is scanSeeker, remembered for rs of version v (see versionOf). A
// file that changes after its scan gets a new stamp, and so a new scan.
// known reports that the kind came from the memo: the file has been sent
// before, in this version.
func (m *scanMemo) scan(rs io.ReadSeeker, v version, buf []byte) (text bool, length, pos, size int64, known bool, err error) {
	if m == nil || !v.ok {
		text, length, pos, size, err = scanSeeker(rs, buf)
		return text, length, pos, size, false, err
	}
	if k, ok := m.kinds.Get(v.stamp); ok {
		return k.text, k.length, 0, v.size, true, nil
	}
	text, length, pos, size, err = scanSeeker(rs, buf)
	if err == nil && size == v.size {
		m.kinds.Add(v.stamp, fileKind{text: text, length: length})
	}
	return text, length, pos, size, false, err
}
