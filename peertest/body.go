package peertest

import (
	"io"

	"github.com/filepeer/peer/transport"
)

// tracedBody is a reply's file contents as the network carries them: it
// counts their bytes into the call's trace (Call.Bytes) and applies the
// faults that alter them (Corrupt, CutAfter).
type tracedBody struct {
	rc      io.ReadCloser
	t       *tracer
	c       *Call // nil when the trace keeps no calls
	corrupt bool
	cut     int64 // -1: never
	pos     int64 // bytes read so far
}

// wrapBody wraps a reply's body for the call c.
func (t *tracer) wrapBody(rc io.ReadCloser, c *Call, corrupt bool, cut int64) io.ReadCloser {
	b := &tracedBody{rc: rc, t: t, c: c, corrupt: corrupt, cut: cut}
	if tx, ok := rc.(transport.Texter); ok && !corrupt {
		// Contents that are not altered stay text, so that a node
		// passing them on sends them as the holder did.
		return &textTracedBody{tracedBody: b, text: tx.IsText()}
	}
	return b
}

func (b *tracedBody) Read(p []byte) (int, error) {
	if b.cut >= 0 {
		left := b.cut - b.pos
		if left <= 0 {
			// At the cut: a body that ends here comes whole.
			var one [1]byte
			if k, err := b.rc.Read(one[:]); k == 0 && err == io.EOF {
				return 0, io.EOF
			}
			return 0, ErrCut
		}
		p = p[:min(int64(len(p)), left)]
	}
	k, err := b.rc.Read(p)
	if b.corrupt {
		for i := range p[:k] {
			if (b.pos+int64(i))%1024 == 0 {
				p[i] ^= 1
			}
		}
	}
	b.pos += int64(k)
	b.t.carried(b.c, int64(k))
	return k, err
}

func (b *tracedBody) Close() error { return b.rc.Close() }

type textTracedBody struct {
	*tracedBody
	text bool
}

func (b *textTracedBody) IsText() bool { return b.text }
