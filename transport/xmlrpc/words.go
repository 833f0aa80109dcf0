package xmlrpc

import (
	"bytes"
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

// run returns the end of the run of bytes from i that class marks as
// copied as they are.
func run(src []byte, i int, class *[256]bool) int {
	for {
		for i+8 <= len(src) {
			// Flags the first byte that is not printable ASCII or is
			// '&', '<' or '>'; flags after it may be false alarms.
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

// stripSpaceBytes removes whitespace from b in place. Base64 has no byte
// at or below ' ', so runs free of them are found a word at a time and
// moved whole: Python breaks base64 into lines of 76, this package sends
// one line.
func stripSpaceBytes(b []byte) []byte {
	k := 0
	for i := 0; i < len(b); {
		j := i
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			if m := (w - 0x21*lo8) &^ w & hi8; m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && b[j] > ' ' {
			j++
		}
		if k != i {
			copy(b[k:], b[i:j])
		}
		k += j - i
		for i = j; i < len(b) && b[i] <= ' '; i++ {
			// Other control bytes stay, for the decoder to refuse.
			if !isSpace(b[i]) {
				b[k] = b[i]
				k++
			}
		}
	}
	return b[:k]
}

// base64Text is the text of a <base64> element for base64Stream: runs of
// plain text are copied out of the decoder's buffer as they are, without
// the checks textStream makes, because the base64 decoder refuses any byte
// outside its alphabet anyway; entities and the end of the element go
// through textStream. A profile of a 16 MiB binary transfer had the text
// checks at a quarter of the client's time.
type base64Text struct{ s *textStream }

func (t base64Text) Read(p []byte) (int, error) {
	d := t.s.d
	if t.s.err == nil && len(d.pend) == 0 {
		if _, err := d.r.Peek(1); err == nil {
			buf, _ := d.r.Peek(d.r.Buffered())
			seg := buf[:min(len(buf), len(p))]
			if k := bytes.IndexByte(seg, '<'); k >= 0 {
				seg = seg[:k]
			}
			if k := bytes.IndexByte(seg, '&'); k >= 0 {
				seg = seg[:k]
			}
			if len(seg) > 0 {
				n := copy(p, seg)
				d.r.Discard(n)
				return n, nil
			}
		}
	}
	return t.s.Read(p)
}

// base64Stream decodes base64 text read from src, in bulk. Its buffers
// come from the pools, and go back once it has failed or ended.
type base64Stream struct {
	src    io.Reader
	in     []byte // undecoded text; in[:n] holds a partial quantum
	n      int
	out    []byte // decoded bytes not yet read
	outBuf []byte
	inP    *[]byte // the pooled buffers of in and outBuf
	outP   *[]byte
	padded bool // a quantum with '=' has been decoded: nothing may follow
	err    error
}

// newBase64Stream decodes src in chunks of about size bytes.
func newBase64Stream(src io.Reader, size int) *base64Stream {
	size = max(size/4*4, 64)
	s := &base64Stream{src: src, inP: getBuf(inPool, size), outP: getBuf(outPool, size/4*3)}
	s.in, s.outBuf = *s.inP, *s.outP
	return s
}

func (s *base64Stream) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			if s.inP != nil {
				putBuf(inPool, s.inP)
				putBuf(outPool, s.outP)
				s.inP, s.outP, s.in, s.outBuf = nil, nil, nil, nil
			}
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

// The functions below are the bulk paths of the scanner (is it text, how
// long is it escaped) and of the decoder. They lean on the standard
// library's vectorised primitives (utf8.Valid, bytes.Count,
// bytes.IndexByte), which on amd64 run at 10-40 GB/s, and handle what
// those cannot do in word-at-a-time loops. A profile of a 16 MiB text
// transfer had the one-character-at-a-time loops they replace at 40% of
// the CPU; BenchmarkCodec has the scan 1.8-2.6x and the decoder 1.0-1.3x
// as fast. Anything the bulk paths do not accept (invalid bytes, rare
// entities, an incomplete character) falls back to the exact code, which
// reports errors at the right byte.

const (
	amp8 = '&' * lo8
	cr8  = '\r' * lo8
)

// incompleteTail returns how many bytes at the end of b start a UTF-8
// character that b cuts short, or 0. Bytes that cannot start a complete
// character are left for validation to refuse.
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xC0 == 0x80 {
			continue
		}
		need := 1
		switch {
		case c >= 0xF0:
			need = 4
		case c >= 0xE0:
			need = 3
		case c >= 0xC0:
			need = 2
		}
		if need > k {
			return k
		}
		return 0
	}
	return 0
}

// validText reports whether b is text XML 1.0 can carry: valid UTF-8,
// no control characters but tab, LF and CR, and neither U+FFFE nor U+FFFF.
func validText(b []byte) bool {
	return utf8.Valid(b) && noControls(b) && !hasNonChars(b)
}

// hasNonChars reports whether b, valid UTF-8, holds U+FFFE or U+FFFF: EF
// BF BE and EF BF BF. utf8.Valid has made sure that two bytes follow
// every EF.
func hasNonChars(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], 0xEF)
		if j < 0 {
			return false
		}
		i += j
		if b[i+1] == 0xBF && b[i+2] >= 0xBE {
			return true
		}
		i++
	}
}

// noControls reports whether b holds no byte below 0x20 other than tab,
// LF and CR. It counts the bytes below 0x20 a word at a time, without a
// branch, and compares the count with that of tabs, LFs and CRs, which
// bytes.Count finds with vector instructions: text has an LF in every
// other word or so, and a branch on each cost a third of the check.
func noControls(b []byte) bool {
	ctl := 0
	i := 0
	for ; i+16 <= len(b); i += 16 {
		// The two words' flags land on different bits, so one count
		// covers both.
		m := ctlMask(binary.LittleEndian.Uint64(b[i:]))>>7 | ctlMask(binary.LittleEndian.Uint64(b[i+8:]))>>6
		ctl += bits.OnesCount64(m)
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			ctl++
		}
	}
	if ctl == 0 {
		return true
	}
	return ctl == bytes.Count(b, []byte{'\n'})+bytes.Count(b, []byte{'\t'})+bytes.Count(b, []byte{'\r'})
}

// ctlMask flags with 0x80 exactly the bytes of w below 0x20: for a byte
// under 0x80, adding 0x60 sets its top bit unless it is below 0x20, and
// no sum carries into the next byte.
func ctlMask(w uint64) uint64 {
	return ^((w &^ hi8) + 0x60*lo8) &^ w & hi8
}

// escapeGrowth is how much longer escaping makes b: "&amp;", "&lt;",
// "&gt;" and "&#13;" replace single bytes.
func escapeGrowth(b []byte) int {
	return 4*bytes.Count(b, []byte{'&'}) + 3*bytes.Count(b, []byte{'<'}) +
		3*bytes.Count(b, []byte{'>'}) + 4*bytes.Count(b, []byte{'\r'})
}

// decodeMask is non-zero if w holds '&' or CR, the bytes the decoder's
// bulk path does not copy as they are. Zero is exact.
func decodeMask(w uint64) uint64 {
	a, r := w^amp8, w^cr8
	return ((a-lo8)&^a | (r-lo8)&^r) & hi8
}

// decodeValid decodes text that holds no '<' from src into dst: the
// entities Python and this package write become their characters, and a
// raw CR or CRLF becomes LF, as an XML parser reads them. It stops where
// the bulk path cannot go on (another entity, or one or a CR cut short by
// the end of src, or dst full) and returns the bytes written and read, and
// ctl, how many of the bytes read are below 0x20, for the caller to check
// against the tabs, LFs and CRs among them: counting here, in the loop
// that reads every word anyway, saved a pass over the text.
func decodeValid(dst, src []byte) (o, i, ctl int) {
	for i < len(src) && o < len(dst) {
		if i+8 <= len(src) && o+8 <= len(dst) {
			// The word is stored whole; o and i move past its plain
			// bytes, which the mask's first flag marks exactly.
			w := binary.LittleEndian.Uint64(src[i:])
			binary.LittleEndian.PutUint64(dst[o:], w)
			c := ctlMask(w)
			m := decodeMask(w)
			if m == 0 {
				ctl += bits.OnesCount64(c)
				i, o = i+8, o+8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			ctl += bits.OnesCount64(c & (1<<(8*k) - 1))
			i, o = i+k, o+k
		}
		switch c := src[i]; c {
		case '&':
			rest := src[i:]
			switch {
			case len(rest) >= 5 && string(rest[:5]) == "&amp;":
				dst[o] = '&'
				i += 5
			case len(rest) >= 4 && string(rest[:4]) == "&lt;":
				dst[o] = '<'
				i += 4
			case len(rest) >= 4 && string(rest[:4]) == "&gt;":
				dst[o] = '>'
				i += 4
			case len(rest) >= 5 && string(rest[:5]) == "&#13;":
				dst[o] = '\r'
				i += 5
			default:
				return o, i, ctl
			}
			o++
		case '\r':
			if i+1 == len(src) {
				return o, i, ctl
			}
			ctl++
			if src[i+1] == '\n' {
				i++ // the LF that follows stands for the pair
				continue
			}
			dst[o] = '\n'
			i, o = i+1, o+1
		default:
			if c < 0x20 {
				ctl++
			}
			dst[o] = c
			i, o = i+1, o+1
		}
	}
	return o, i, ctl
}
