package transport

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/bits"
	"unicode/utf8"
)

// Word-at-a-time tests for the codec's hot loops: most file text is
// printable ASCII, and testing 8 bytes at once keeps escaping, scanning and
// decoding within a small factor of a plain copy.

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// zeroMask flags with 0x80 the lowest zero byte of v (and perhaps later
// bytes, never earlier ones).
func zeroMask(v uint64) uint64 { return (v - lo8) &^ v & hi8 }

// specialMask flags with 0x80 the first byte of w that is not printable
// ASCII (0x20-0x7F) or is '&', '<' or '>': the bytes neither the escaper
// nor the decoder may copy blindly. Flags after the first may be false
// alarms; the first is exact. Zero means all 8 bytes are plain.
func specialMask(w uint64) uint64 {
	return w&hi8 | (w-0x20*lo8)&^w&hi8 |
		zeroMask(w^('&'*lo8)) | zeroMask(w^('<'*lo8)) | zeroMask(w^('>'*lo8))
}

// run returns the end of the run of bytes from i that class marks as
// copied as they are.
func run(src []byte, i int, class *[256]bool) int {
	for {
		for i+8 <= len(src) {
			// specialMask, written out: the compiler will not inline it.
			w := binary.LittleEndian.Uint64(src[i:])
			a, l, g := w^('&'*lo8), w^('<'*lo8), w^('>'*lo8)
			m := (w | (w-0x20*lo8)&^w | (a-lo8)&^a | (l-lo8)&^l | (g-lo8)&^g) & hi8
			if m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(src) || !class[src[i]] {
			return i
		}
		i++
	}
}

// escPlain marks the bytes the escaper copies as they are. Read only.
var escPlain = func() (t [256]bool) {
	for c := range t {
		t[c] = escClass[c] == escCopy
	}
	return t
}()

// stripSpaceBytes removes whitespace from b in place.
func stripSpaceBytes(b []byte) []byte {
	i := 0
	// Base64 has no byte at or below ' '; whitespace is all there.
	for i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		if (w-0x21*lo8)&^w&hi8 != 0 {
			break
		}
		i += 8
	}
	k := i
	for ; i < len(b); i++ {
		if c := b[i]; !isSpace(c) {
			b[k] = c
			k++
		}
	}
	return b[:k]
}

// base64Stream decodes base64 text read from src, in bulk.
type base64Stream struct {
	src    io.Reader
	in     []byte // undecoded text; in[:n] holds a partial quantum
	n      int
	out    []byte // decoded bytes not yet read
	outBuf []byte
	padded bool // a quantum with '=' has been decoded: nothing may follow
	err    error
}

// newBase64Stream decodes src in chunks of about size bytes.
func newBase64Stream(src io.Reader, size int) *base64Stream {
	size = max(size/4*4, 64)
	return &base64Stream{src: src, in: make([]byte, size), outBuf: make([]byte, size/4*3)}
}

func (s *base64Stream) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		m, err := s.src.Read(s.in[s.n:])
		s.n += len(stripSpaceBytes(s.in[s.n : s.n+m]))
		k := s.n / 4 * 4
		if err == io.EOF {
			if s.n != k {
				s.err = syntaxErrorf("bad base64: truncated")
				return 0, s.err
			}
			s.err = io.EOF
		} else if err != nil {
			s.err = err
			return 0, err
		}
		if k == 0 {
			continue
		}
		if s.padded {
			s.err = syntaxErrorf("bad base64: data after padding")
			return 0, s.err
		}
		d, derr := base64.StdEncoding.Decode(s.outBuf, s.in[:k])
		if derr != nil {
			s.err = syntaxErrorf("bad base64: %v", derr)
			return 0, s.err
		}
		s.padded = s.in[k-1] == '='
		s.out = s.outBuf[:d]
		s.n = copy(s.in, s.in[k:s.n])
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// textRun returns the length of the longest prefix of b made of bytes that
// class marks as copied as they are and of complete UTF-8 characters that
// XML allows beyond ASCII. The caller handles what stops it one byte or
// character at a time.
func textRun(b []byte, class *[256]bool) int {
	i := 0
	for i < len(b) {
		i = run(b, i, class)
		for i < len(b) && b[i] >= utf8.RuneSelf {
			n := xmlRuneLen(b[i:])
			if n == 0 {
				return i
			}
			i += n
		}
		if i == len(b) || !class[b[i]] {
			return i
		}
	}
	return i
}

// xmlRuneLen returns the length of the UTF-8 character that starts b, at
// or beyond U+0080, or 0 if it is invalid, incomplete, or not allowed in
// XML 1.0 (U+FFFE, U+FFFF; surrogates are invalid UTF-8 anyway). It is
// utf8.DecodeRune cut down to what this hot loop needs.
func xmlRuneLen(b []byte) int {
	cont := func(c byte) bool { return c&0xC0 == 0x80 }
	switch c := b[0]; {
	case c < 0xC2:
	case c < 0xE0:
		if len(b) >= 2 && cont(b[1]) {
			return 2
		}
	case c < 0xF0:
		if len(b) >= 3 && cont(b[1]) && cont(b[2]) &&
			!(c == 0xE0 && b[1] < 0xA0) && // overlong
			!(c == 0xED && b[1] >= 0xA0) && // surrogate
			!(c == 0xEF && b[1] == 0xBF && b[2] >= 0xBE) { // U+FFFE, U+FFFF
			return 3
		}
	case c < 0xF5:
		if len(b) >= 4 && cont(b[1]) && cont(b[2]) && cont(b[3]) &&
			!(c == 0xF0 && b[1] < 0x90) && // overlong
			!(c == 0xF4 && b[1] >= 0x90) { // beyond U+10FFFF
			return 4
		}
	}
	return 0
}
