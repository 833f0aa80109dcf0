package xmlrpc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/filepeer/peer/transport/internal/wire"
)

// How the escaper treats each byte of text.
const (
	escCopy    = iota // copied as it is
	escEscape         // written as an entity
	escInvalid        // a control character XML 1.0 cannot carry
	escHigh           // starts or continues a multi-byte UTF-8 character
)

// escClass classifies bytes for the escaper. Read only.
var escClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = escInvalid
	}
	t['\t'], t['\n'] = escCopy, escCopy
	for _, c := range "&<>\r" {
		t[c] = escEscape
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = escHigh
	}
	return t
}()

// escPlain marks the bytes the escaper copies as they are. Read only.
var escPlain = func() (t [256]bool) {
	for c := range t {
		t[c] = escClass[c] == escCopy
	}
	return t
}()

// escapes are the entities the escaper writes. Python's marshaller escapes
// only & < >; CR is escaped too because a parser reads a raw CR as LF, and
// CRLF text would lose its CRs on the way.
func escapeOf(c byte) string {
	switch c {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return "&#13;"
}

// errNotText reports bytes that cannot travel as an XML-RPC <string>.
var errNotText = errors.New("transport: not text that XML 1.0 can carry")

// appendEscaped appends to dst the escaped form of src's characters. It
// stops before an incomplete UTF-8 character at the end of src, unless
// atEOF, and returns how many bytes of src it used. Bytes that are not
// valid UTF-8 or not XML characters are errNotText.
//
// It is one pass: escapeBlocks escapes ASCII 32 bytes at a time, where
// the processor can, and runs of plain bytes are found a word at a time
// (run, textRun) in what stops it, rather than with the bulk checks that
// scanText and the decoder use: on prose and source code, with an entity
// every 20-40 bytes, the one pass escaped 12-26% faster than a bulk check
// followed by escaping (BenchmarkCodec, text=prose and text=fox), and the
// bulk version won only on text dense with characters beyond ASCII.
// escapeBlocks, kept for its figure: BenchmarkCodec escape, 4 MiB, with
// and without the vectors, side by side in one run, medians of 3: the
// harness's text 0.79 ms against 3.60 ms, prose 1.55 ms against 3.23 ms,
// text dense with characters beyond ASCII 8.5 ms against 11.6 ms.
func appendEscaped(dst, src []byte, atEOF bool) ([]byte, int, error) {
	i := 0
	for i < len(src) {
		if haveAVX2 && len(src)-i >= 64 {
			if cap(dst)-len(dst) < 192 {
				dst = slices.Grow(dst, len(src)-i+192)
			}
			nd, ns := escapeBlocks(dst[len(dst):cap(dst)], src[i:])
			dst, i = dst[:len(dst)+nd], i+ns
		}
		j := i + textRun(src[i:min(len(src), i+runWindow)], &escPlain)
		dst = append(dst, src[i:j]...)
		i = j
		if i == len(src) {
			break
		}
		switch c := src[i]; escClass[c] {
		case escEscape:
			dst = append(dst, escapeOf(c)...)
			i++
		case escInvalid:
			return dst, i, errNotText
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				if !atEOF && !utf8.FullRune(src[i:]) {
					return dst, i, nil
				}
				return dst, i, errNotText
			}
			if !wire.IsXMLChar(r) {
				return dst, i, errNotText
			}
			dst = append(dst, src[i:i+size]...)
			i += size
		}
	}
	return dst, i, nil
}

// scanText is appendEscaped without the output: it returns the length the
// escaped text would have. Text that XML can carry is checked and
// measured in bulk: ASCII 32 bytes at a time by scanBlocks, where the
// processor can, and the rest a window at a time with the standard
// library's vectorised primitives (validText, escapeGrowth). Anything
// else (binary, or text with a character XML cannot carry) goes through
// scanExact, which stops at the right byte.
//
// Two paths beside scanExact, kept for their figures: BenchmarkCodec
// scan against scan-exact, side by side in one run (medians of 8),
// measured 4 MiB 1.40x as fast on prose (2.40 ms against 3.37 ms), 1.71x
// on the harness's text and 2.3x on dense text; a 16 MiB prose reply
// took 11% longer over loopback, and the handler alone 18% longer, with
// the exact path only. scanBlocks, in the same benchmark with and
// without the vectors, side by side, medians of 3: the harness's text
// 0.29 ms against 1.23 ms; prose and text dense with characters beyond
// ASCII even (1.62 against 1.59 ms, 5.0 against 5.1 ms), the windows
// doing the work.
func scanText(src []byte, atEOF bool) (escLen int64, used int, err error) {
	end := len(src)
	if !atEOF {
		end -= incompleteTail(src)
	}
	i, growth := 0, 0
	for i < end {
		n, g := scanBlocks(src[i:end])
		i, growth = i+n, growth+g
		if i == end {
			break
		}
		w := src[i:min(end, i+scanWindow)]
		if i+len(w) < end {
			w = w[:len(w)-incompleteTail(w)]
		}
		if len(w) == 0 || !validText(w) {
			return scanExact(src, atEOF)
		}
		i, growth = i+len(w), growth+escapeGrowth(w)
	}
	return int64(end + growth), end, nil
}

// scanWindow is how much scanText checks at a time beside scanBlocks:
// enough that text beyond ASCII is checked in bulk, little enough that
// ASCII after it goes back to the blocks soon.
const scanWindow = 4 << 10

// scanExact measures src by escaping it, piece by piece, into a scratch
// buffer: the exact path, one character at a time where it must be.
func scanExact(src []byte, atEOF bool) (escLen int64, used int, err error) {
	// Escaping makes a byte at most 5 ("&amp;").
	var scratch [1280]byte
	for used < len(src) {
		end := min(len(src), used+len(scratch)/5)
		out, k, err := appendEscaped(scratch[:0], src[used:end], atEOF && end == len(src))
		escLen += int64(len(out))
		used += k
		if err != nil || k == 0 {
			// k == 0: an incomplete character ends src.
			return escLen, used, err
		}
	}
	return escLen, used, nil
}

// escapeLossy escapes s for a message or a list, where a stand-in beats an
// error: bytes that XML cannot carry become U+FFFD.
func escapeLossy(b *bytes.Buffer, s string) {
	for len(s) > 0 {
		out, used, err := appendEscaped(b.AvailableBuffer(), []byte(s), true)
		b.Write(out)
		s = s[used:]
		if err != nil {
			_, size := utf8.DecodeRuneInString(s)
			b.WriteRune(utf8.RuneError)
			s = s[size:]
		}
	}
}

// escapeGrowth is how much longer escaping makes b: "&amp;", "&lt;",
// "&gt;" and "&#13;" replace single bytes.
func escapeGrowth(b []byte) int {
	return 4*bytes.Count(b, []byte{'&'}) + 3*bytes.Count(b, []byte{'<'}) +
		3*bytes.Count(b, []byte{'>'}) + 4*bytes.Count(b, []byte{'\r'})
}

// appendString appends s escaped, or fails if s is not text XML can
// carry: a name that cannot be sent as it is must not be sent as
// something else.
func appendString(b []byte, s string) ([]byte, error) {
	out, used, err := appendEscaped(b, []byte(s), true)
	if err == nil && used != len(s) {
		err = errNotText
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, wire.Short(s))
	}
	return out, nil
}

// isText reports whether b can travel as an XML-RPC <string>.
func isText(b []byte) bool {
	_, used, err := scanText(b, true)
	return err == nil && used == len(b)
}
