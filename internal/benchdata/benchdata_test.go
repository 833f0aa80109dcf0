package benchdata

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestProse(t *testing.T) {
	for _, size := range []int{1, 100, 4096, 1 << 20} {
		p := Prose(size)
		if !utf8.Valid(p) || len(p) > size || len(p) < size-3 {
			t.Fatalf("Prose(%d): %d bytes, valid UTF-8 %v", size, len(p), utf8.Valid(p))
		}
	}
	if p := Prose(4096); !bytes.ContainsAny(p, "<&") || !bytes.ContainsRune(p, 'ü') {
		t.Fatal("Prose has no characters to escape or beyond ASCII")
	}
}
