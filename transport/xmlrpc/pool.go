package xmlrpc

import (
	"bufio"
	"sync"
)

const (
	// ioChunk is the unit in which file contents are read and written.
	ioChunk = 64 << 10
	// spoolInMemory is how much of a body of unknown kind is held in
	// memory while deciding whether it is text; beyond it, a temporary
	// file holds it.
	spoolInMemory = 1 << 20
)

// Readers for replies, pooled: a call allocated a new one each time, 64
// KiB for a file.
var (
	smallReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, smallReply) }}
	bigReaders   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, ioChunk) }}
)

// smallReply is the buffer of a reply whose length says it is small.
const smallReply = 4 << 10

// streamChunk is the unit in which a reply is encoded and written.
const streamChunk = 16 << 10

// streamPool holds streamChunk buffers.
var streamPool = &sync.Pool{}

// Buffers for file contents are pooled: a relay or a large file would
// otherwise allocate (and clear) 192 KiB a reply; the chain benchmark
// allocated 1 MB an operation, most of its garbage.
var (
	inPool  = &sync.Pool{}
	outPool = &sync.Pool{}
)

// maxPooled is the largest buffer kept for reuse; escaping a chunk of
// nothing but '&' makes one five times the chunk.
const maxPooled = 8 * ioChunk

// getBuf returns a buffer of length size (contents undefined) from pool.
func getBuf(pool *sync.Pool, size int) *[]byte {
	if b, ok := pool.Get().(*[]byte); ok && cap(*b) >= size {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size)
	return &b
}

func putBuf(pool *sync.Pool, b *[]byte) {
	if cap(*b) <= maxPooled {
		pool.Put(b)
	}
}
