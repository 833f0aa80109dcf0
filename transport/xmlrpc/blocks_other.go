//go:build !amd64

package xmlrpc

// Without the vector checks of blocks_amd64.s, the word-at-a-time Go code
// does it all.

var haveAVX2 = false

func canonicalBlocks([]byte) int { return 0 }

func base64Blocks([]byte) int { return 0 }

func scanBlocks([]byte) (n, growth int) { return 0, 0 }

func escapeBlocks(dst, src []byte) (nd, ns int) { return 0, 0 }

func plainBlocks([]byte) int { return 0 }
