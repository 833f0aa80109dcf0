package peer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Pieces are 1 MiB, doubling so that no file has more than 4,096.
func TestPieceSize(t *testing.T) {
	for _, c := range []struct {
		size, piece int64
		count       int
	}{
		{0, 1 << 20, 0},
		{1, 1 << 20, 1},
		{1 << 20, 1 << 20, 1},
		{1<<20 + 1, 1 << 20, 2},
		{4 << 30, 1 << 20, 4096},
		{4<<30 + 1, 2 << 20, 2049},
		{16 << 30, 4 << 20, 4096},
		{1 << 40, 256 << 20, 4096},
	} {
		require.Equal(t, c.piece, pieceSize(c.size), "size %d", c.size)
		require.Equal(t, c.count, pieceCount(c.size, pieceSize(c.size)), "size %d", c.size)
	}
}

// A piece list from a peer is refused unless every field holds.
func TestCheckPiecesRefusesBadLists(t *testing.T) {
	h := strings.Repeat("ab", 32)
	good := map[string]any{"size": int64(3 << 20), "hashes": []any{h, h, h}}
	got, err := checkPieces(good, 3<<20)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, byte(0xab), got[2][31])
	for name, v := range map[string]any{
		"not a struct":   []any{h},
		"other size":     map[string]any{"size": int64(3<<20 + 1), "hashes": []any{h, h, h}},
		"size missing":   map[string]any{"hashes": []any{h, h, h}},
		"too few":        map[string]any{"size": int64(3 << 20), "hashes": []any{h, h}},
		"too many":       map[string]any{"size": int64(3 << 20), "hashes": []any{h, h, h, h}},
		"not hex":        map[string]any{"size": int64(3 << 20), "hashes": []any{h, h, strings.Repeat("zz", 32)}},
		"upper case":     map[string]any{"size": int64(3 << 20), "hashes": []any{h, h, strings.Repeat("AB", 32)}},
		"not strings":    map[string]any{"size": int64(3 << 20), "hashes": []any{h, h, int64(1)}},
		"hashes missing": map[string]any{"size": int64(3 << 20)},
	} {
		_, err := checkPieces(v, 3<<20)
		require.Error(t, err, name)
	}
}

// Partial files, like temporary ones, are never names.
func TestPartialFilesAreNoNames(t *testing.T) {
	for _, name := range []string{".filepeer-part-" + strings.Repeat("0", 64), "sub/.filepeer-part-x", ".filepeer-part-"} {
		require.False(t, validName(name), name)
	}
	require.True(t, validName(".filepeer-par"), "only the prefix is ours")
}
