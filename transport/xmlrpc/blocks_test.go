package xmlrpc

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// canonicalBlocksRef is canonicalBlocks a byte at a time: blocks of 32
// while 36 bytes are left, to the first byte that is not canonical ASCII.
func canonicalBlocksRef(b []byte) int {
	ok := func(j int) bool {
		switch c := b[j]; {
		case c == '&':
			return canonicalEntity(b[j:]) > 0
		case c == '<' || c == '>':
			return false
		default:
			return c == '\t' || c == '\n' || c >= 0x20 && c < 0x80
		}
	}
	i := 0
	for ; i+36 <= len(b); i += 32 {
		for j := i; j < i+32; j++ {
			if !ok(j) {
				return j
			}
		}
	}
	return i
}

// plainBlocksRef is plainBlocks a byte at a time.
func plainBlocksRef(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		for j := i; j < i+32; j++ {
			if c := b[j]; c == '&' || c == '<' || !escPlain[c] && c != '>' {
				return j
			}
		}
	}
	return i
}

// base64BlocksRef is base64Blocks a byte at a time.
func base64BlocksRef(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		for j := i; j < i+32; j++ {
			if notBase64[b[j]] != 0 {
				return j
			}
		}
	}
	return i
}

// scanBlocksRef is scanBlocks a byte at a time.
func scanBlocksRef(b []byte) (n, growth int) {
	for i := 0; i+32 <= len(b); i += 32 {
		for j := i; j < i+32; j++ {
			c := b[j]
			if c >= 0x80 || c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return j, growth
			}
			switch c {
			case '&', '\r':
				growth += 4
			case '<', '>':
				growth += 3
			}
		}
		n = i + 32
	}
	return n, growth
}

// escapeBlocksRef is escapeBlocks a byte at a time, with room bytes to
// write in.
func escapeBlocksRef(room int, src []byte) (out []byte, ns int) {
	i := 0
	for ; i+64 <= len(src) && len(out)+192 <= room; i += 32 {
		for j := i; j < i+32; j++ {
			switch c := src[j]; {
			case escPlain[c]:
				out = append(out, c)
			case escClass[c] == escEscape:
				out = append(out, escapeOf(c)...)
			default:
				return out, j
			}
		}
	}
	return out, i
}

// blockInputs are texts made mostly of what passes, with a stop now and
// then, at every offset within a block and across block ends.
func blockInputs() [][]byte {
	r := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Z", "q", "0", "+", "/", " ", "\t", "\n", "~", "\x7f", ";",
		"&amp;", "&lt;", "&gt;", "&#13;", "&", "&am", "&amp", "&lt", "&#1;", "&quot;",
		"<", ">", "\r", "\x00", "\x1f", "\x80", "é", "🙂", "\xff", "="}
	var out [][]byte
	for range 3000 {
		var b strings.Builder
		n := r.IntN(160)
		for b.Len() < n {
			if r.IntN(12) == 0 {
				b.WriteString(pieces[r.IntN(len(pieces))])
			} else {
				b.WriteByte("abcxyzABC0129+/ "[r.IntN(16)])
			}
		}
		out = append(out, []byte(b.String()))
	}
	return out
}

// The vector blocks agree with their byte-at-a-time definitions. On a
// processor without AVX2, or another architecture, they take nothing.
func TestBlocksMatchReference(t *testing.T) {
	for _, b := range blockInputs() {
		checkBlocks(t, b)
	}
}

func checkBlocks(t *testing.T, b []byte) {
	if !haveAVX2 {
		require.Zero(t, canonicalBlocks(b))
		require.Zero(t, base64Blocks(b))
		n, growth := scanBlocks(b)
		require.Zero(t, n+growth)
		nd, ns := escapeBlocks(make([]byte, 1000), b)
		require.Zero(t, nd+ns)
		require.Zero(t, plainBlocks(b))
		return
	}
	require.Equal(t, canonicalBlocksRef(b), canonicalBlocks(b), "%q", b)
	require.Equal(t, base64BlocksRef(b), base64Blocks(b), "%q", b)
	require.Equal(t, plainBlocksRef(b), plainBlocks(b), "%q", b)
	n, growth := scanBlocks(b)
	wn, wgrowth := scanBlocksRef(b)
	require.Equal(t, [2]int{wn, wgrowth}, [2]int{n, growth}, "%q", b)
	for _, room := range []int{0, 191, 192, 193, 250, 400, 5*len(b) + 192} {
		dst := make([]byte, room)
		nd, ns := escapeBlocks(dst, b)
		want, wns := escapeBlocksRef(room, b)
		require.Equal(t, wns, ns, "room %d: %q", room, b)
		require.Equal(t, string(want), string(dst[:nd]), "room %d: %q", room, b)
	}
}

// withoutVectors turns the vector checks off until the test ends.
func withoutVectors(t *testing.T) {
	was := haveAVX2
	haveAVX2 = false
	t.Cleanup(func() { haveAVX2 = was })
}

// bothWays runs test as "vectors", with the vector blocks, where the
// processor has them, and as "words", with the word-at-a-time code alone.
func bothWays(t *testing.T, test func(*testing.T)) {
	if haveAVX2 {
		t.Run("vectors", test)
	}
	t.Run("words", func(t *testing.T) {
		withoutVectors(t)
		test(t)
	})
}

func FuzzBlocks(f *testing.F) {
	for _, b := range blockInputs()[:50] {
		f.Add(b)
	}
	f.Fuzz(checkBlocks)
}
