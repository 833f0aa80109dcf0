// Package benchdata makes the file contents the benchmarks send, so that
// every benchmark of the module measures the same kind of text.
package benchdata

import (
	"bytes"
	"unicode/utf8"
)

// Prose returns about size bytes of text like a shared document or source
// file: lines of prose and code, with a character that needs escaping every
// 20-40 bytes and a little beyond ASCII. It is cut back to whole UTF-8
// characters, so it is always text.
func Prose(size int) []byte {
	lines := []string{
		"The book's nodes share files over XML-RPC; each knows a few peers.\n",
		"\tif len(history) >= maxHistory && !found { return fault(100) } // <- limit\n",
		"A query travels at most five hops: Zürich → Genève → Köln, then stops.\n",
		"Text goes out as <string>, everything else as <base64>, so Python can write it.\n",
	}
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		b.WriteString(lines[i*7%len(lines)])
	}
	t := b.Bytes()[:size]
	for !utf8.Valid(t) {
		t = t[:len(t)-1]
	}
	return t
}
