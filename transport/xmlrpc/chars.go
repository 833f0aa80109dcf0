package xmlrpc

// Word-at-a-time tests for the codec's hot loops: most file text is
// printable ASCII, and testing 8 bytes at once keeps escaping, scanning and
// decoding within a small factor of a plain copy.

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

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

// runWindow is how much of the text the loops that use the vector blocks
// (blocks_amd64.go) give textRun at a time, so that they go back to the
// blocks soon after what stopped them.
const runWindow = 256

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

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isPlain reports whether c stands for itself in text that the fast paths
// take as it is: printable ASCII other than '&' (and '<', which ends the
// text), tab and LF. CR, entities and characters beyond ASCII need the
// general decoder.
func isPlain(c byte) bool {
	return c >= 0x20 && c < 0x7F && c != '&' || c == '\t' || c == '\n'
}

func isLayout(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}
