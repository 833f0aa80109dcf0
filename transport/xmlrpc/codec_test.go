package xmlrpc

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// codecPieces are the makings of random text for the bulk paths: plain
// runs of several lengths, the bytes that need escaping, controls, CR and
// CRLF, characters of each UTF-8 length, U+FFFE, and broken UTF-8.
var codecPieces = []string{
	"a", "plain", "a longer run of plain text, longer than a word", "\t", "\n",
	"&", "<", ">", "\r", "\r\n", "é", "€", "😀", "\uFFFD", "\uFFFE", "\uFFFF",
	"\x00", "\x07", "\x1f", "\x7f", "\xe9", "\xed\xa0\x80", "\xc0\xaf", "\xe2\x82",
	"&amp;", "&lt;", "&#13;", " ",
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")

func randomText(r *rand.Rand, valid bool) []byte {
	var b []byte
	for range r.IntN(80) {
		p := codecPieces[r.IntN(len(codecPieces))]
		if valid && !isText([]byte(p)) {
			continue
		}
		b = append(b, p...)
	}
	return b
}

// TestCodecBulkMatchesSlow checks the bulk scanner against the
// one-character-at-a-time code it stands in for, and the escaper against
// both, at every split of the input, as chunks of a stream meet them:
// with the vector blocks, where the processor has them, and without.
func TestCodecBulkMatchesSlow(t *testing.T) {
	bothWays(t, codecBulkMatchesSlow)
}

func codecBulkMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		src := randomText(r, r.IntN(2) == 0)
		for _, atEOF := range []bool{true, false} {
			for cut := 0; cut <= len(src); cut += 1 + r.IntN(7) {
				in := src[:cut]
				l1, u1, e1 := scanText(in, atEOF)
				l2, u2, e2 := scanExact(in, atEOF)
				if e1 == nil && e2 != nil {
					// A broken character cut by the end of a chunk
					// is left for the next chunk, where it fails.
					require.False(t, atEOF, "%q", in)
					_, _, err := scanText(in[u1:], true)
					require.Error(t, err, "%q", in)
					continue
				}
				if e1 == nil {
					require.NoError(t, e2, "%q", in)
					require.Equal(t, l2, l1, "%q", in)
					require.Equal(t, u2, u1, "%q", in)
				} else {
					require.Error(t, e2, "%q", in)
				}
				// The escaper is one pass, exact like scanExact.
				o1, v1, f1 := appendEscaped([]byte("x"), in, atEOF)
				require.Equal(t, e2 == nil, f1 == nil, "%q", in)
				if f1 == nil {
					require.Equal(t, u2, v1, "%q", in)
					require.Equal(t, l2, int64(len(o1)-1), "%q", in)
					require.Equal(t, "x"+xmlEscaper.Replace(string(in[:v1])), string(o1), "%q", in)
				}
			}
		}
	}
}

// TestCodecDecodeMatchesXML checks the decoder's reading of text, in small
// and large reads, against encoding/xml, on raw documents such as Python
// writes (raw CR, CRLF, character references) as well as escaped ones.
func TestCodecDecodeMatchesXML(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 3000 {
		var content string
		if i%2 == 0 {
			esc, _, err := appendEscaped(nil, randomText(r, true), true)
			require.NoError(t, err)
			content = string(esc)
		} else {
			// Raw pieces, some of them not XML at all.
			content = strings.ReplaceAll(string(randomText(r, r.IntN(4) != 0)), "<", "&lt;")
		}
		doc := replyHead + "<string>" + content + "</string>" + replyTail
		var want struct {
			Text string `xml:"params>param>value>string"`
		}
		werr := xml.Unmarshal([]byte(strings.TrimPrefix(doc, "<?xml version='1.0'?>\n")), &want)
		for _, step := range []int{1, 3, 8192} {
			for _, bufSize := range []int{16, 64 << 10} {
				d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader([]byte(doc)), bufSize), 1<<20)
				f, err := d.replyStart()
				require.NoError(t, err)
				require.Nil(t, f)
				rd, text, err := d.valueStream()
				require.NoError(t, err)
				require.True(t, text)
				got, gerr := readInSteps(rd, step)
				if werr != nil {
					require.Error(t, gerr, "%q", content)
					continue
				}
				require.NoError(t, gerr, "%q", content)
				require.Equal(t, want.Text, string(got), "%q", content)
			}
		}
	}
}

func readInSteps(r io.Reader, step int) ([]byte, error) {
	var out []byte
	p := make([]byte, step)
	for {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestCodecBase64Lines checks that base64 in Python's lines of 76, with
// spaces, tabs and CRLFs, decodes like one line, and that a control byte
// in it is refused.
func TestCodecBase64Lines(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		b := make([]byte, r.IntN(3000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		enc := []byte(base64.StdEncoding.EncodeToString(b))
		var lined []byte
		for len(enc) > 0 {
			n := min(len(enc), 1+r.IntN(100))
			lined = append(lined, enc[:n]...)
			lined = append(lined, []string{"\n", "\r\n", " ", "\t", ""}[r.IntN(5)]...)
			enc = enc[n:]
		}
		for _, bad := range []bool{false, true} {
			content := lined
			if bad && len(lined) > 0 {
				content = append(append(append([]byte{}, lined[:len(lined)/2]...), 0x01), lined[len(lined)/2:]...)
			}
			doc := replyHead + "<base64>" + string(content) + "</base64>" + replyTail
			d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader([]byte(doc)), 64), 1<<20)
			_, err := d.replyStart()
			require.NoError(t, err)
			rd, text, err := d.valueStream()
			require.NoError(t, err)
			require.False(t, text)
			got, err := readInSteps(rd, 1+r.IntN(5000))
			if bad && len(lined) > 0 {
				require.Error(t, err)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, b, got)
		}
	}
}

// TestCodecLargeBodies checks the reply of a large seekable body, which
// is encoded in chunks: characters of every length straddling the chunk
// boundaries, sizes around them, binary, and a body read from where it
// stands rather than from its start.
func TestCodecLargeBodies(t *testing.T) {
	const chunk = streamChunk
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var cases [][]byte
	for _, char := range []string{"é", "€", "😀", "\r"} {
		for shift := -3; shift <= 3; shift++ {
			b := bytes.Repeat([]byte("a"), 3*chunk+shift)
			for _, at := range []int{chunk, 2 * chunk} {
				copy(b[at+shift-len(char)/2:], char)
			}
			cases = append(cases, b)
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, size := range []int{2*chunk + 1, 3 * chunk, 5*chunk + 7} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cases = append(cases, b)
		cases = append(cases, []byte(strings.Repeat("x<y&z\r\n€", size/12)))
	}
	for i, want := range cases {
		skip := i % 3
		src := bytes.NewReader(append(bytes.Repeat([]byte{0}, skip), want...))
		src.Seek(int64(skip), io.SeekStart)
		rec := httptest.NewRecorder()
		require.NoError(t, writeQueryReply(rec, src, nil, nil, nil))
		require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
		d := newXMLDecoder(bufio.NewReader(rec.Body), 1<<20)
		f, err := d.replyStart()
		require.NoError(t, err)
		require.Nil(t, f)
		rd, text, err := d.valueStream()
		require.NoError(t, err)
		require.Equal(t, isText(want), text)
		got, err := io.ReadAll(rd)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "case %d differs", i)
	}
}

// changing is a body that loses its second half, or doubles, between the
// scan and the send, as a file truncated or appended to meanwhile does:
// when it is rewound the second time, after the scan.
type changing struct {
	*bytes.Reader
	content []byte
	rewinds int
	grow    bool
}

func (c *changing) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		if c.rewinds++; c.rewinds == 2 {
			changed := c.content[:len(c.content)/2]
			if c.grow {
				changed = append(bytes.Clone(c.content), c.content...)
			}
			c.Reader = bytes.NewReader(changed)
		}
	}
	return c.Reader.Seek(off, whence)
}

// TestCodecFileChangedWhileSent checks that a file that shrinks while it
// is sent cuts the reply short with an error, and that one that grows is
// sent as it was when its length went out.
func TestCodecFileChangedWhileSent(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, content := range [][]byte{
		bytes.Repeat([]byte("text "), 4*streamChunk), bytes.Repeat([]byte{0, 1, 2}, 4*streamChunk),
		bytes.Repeat([]byte("text "), 4*parallelChunk), bytes.Repeat([]byte{0, 1, 2}, 4*parallelChunk),
	} {
		rec := httptest.NewRecorder()
		err := writeQueryReply(rec, &changing{Reader: bytes.NewReader(content), content: content}, nil, nil, nil)
		require.ErrorContains(t, err, "shrank")

		rec = httptest.NewRecorder()
		require.NoError(t, writeQueryReply(rec, &changing{Reader: bytes.NewReader(content), content: content, grow: true}, nil, nil, nil))
		require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
		d := newXMLDecoder(bufio.NewReader(rec.Body), 1<<20)
		_, err = d.replyStart()
		require.NoError(t, err)
		rd, _, err := d.valueStream()
		require.NoError(t, err)
		got, err := io.ReadAll(rd)
		require.NoError(t, err)
		require.True(t, bytes.Equal(content, got))
	}
}

// TestCodecDecodeNamesTheBadCharacter checks that a character XML does
// not allow, deep in a long text, is reported as itself, however the text
// is cut into reads.
func TestCodecDecodeNamesTheBadCharacter(t *testing.T) {
	for _, bad := range []struct{ raw, msg string }{
		{"\x00", "character 0x0 is not allowed"},
		{"\x1b", "character 0x1b is not allowed"},
		{"\xff", "invalid UTF-8"},
		{"\uFFFE", "character U+FFFE is not allowed"},
	} {
		content := strings.Repeat("plain text &amp; more\n", 500) + bad.raw + "tail"
		doc := replyHead + "<string>" + content + "</string>" + replyTail
		for _, step := range []int{7, 8192, 1 << 20} {
			d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader([]byte(doc)), 4096), 1<<20)
			_, err := d.replyStart()
			require.NoError(t, err)
			rd, _, err := d.valueStream()
			require.NoError(t, err)
			got, err := readInSteps(rd, step)
			require.ErrorContains(t, err, bad.msg)
			require.Equal(t, strings.Repeat("plain text & more\n", 500), string(got))
		}
	}
}

// countingFile is an *os.File that counts the bytes read from it, through
// Read and ReadAt alike.
type countingFile struct {
	*os.File
	n atomic.Int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.File.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestCodecScanMemo checks that a handler scans a settled large file once
// per version: a file sent again is read once, not twice; the same file
// rewritten with other bytes of the same size and given back its old
// modification time is scanned anew (the change time tells); and a file
// written a moment ago is scanned on every send.
func TestCodecScanMemo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file versions are told apart by change time only on Linux")
	}
	path := filepath.Join(t.TempDir(), "big")
	text := bytes.Repeat([]byte("text & more <text>\n"), 3*minMemoSize/19)
	binary := bytes.Clone(text)
	binary[len(binary)/2] = 0
	old := time.Now().Add(-time.Hour)
	memo := newScanMemo()
	send := func() (read int64, gotText bool, got []byte) {
		t.Helper()
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		c := &countingFile{File: f}
		rec := httptest.NewRecorder()
		require.NoError(t, writeQueryReply(rec, c, memo, nil, nil))
		require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
		d := newXMLDecoder(bufio.NewReader(rec.Body), 1<<20)
		_, err = d.replyStart()
		require.NoError(t, err)
		rd, gotText, err := d.valueStream()
		require.NoError(t, err)
		got, err = io.ReadAll(rd)
		require.NoError(t, err)
		return c.n.Load(), gotText, got
	}
	size := int64(len(text))

	require.NoError(t, os.WriteFile(path, text, 0o644))
	require.NoError(t, os.Chtimes(path, old, old))
	read, isText, got := send()
	// A scan reads the file once more than the send; the first 64 KiB
	// are read once more still, to see whether the file is small.
	require.GreaterOrEqual(t, read, 2*size, "first send: a scan and the send")
	require.True(t, isText)
	require.Equal(t, text, got)
	read, isText, got = send()
	require.Less(t, read, size+size/2, "second send: the send alone")
	require.True(t, isText)
	require.Equal(t, text, got)

	// The change time moves in clock ticks: wait one out, as any two
	// versions of a file set apart by their change time must be.
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, os.WriteFile(path, binary, 0o644))
	require.NoError(t, os.Chtimes(path, old, old))
	read, isText, got = send()
	require.GreaterOrEqual(t, read, size+size/2, "a new version is scanned (up to its first byte not text)")
	require.False(t, isText)
	require.Equal(t, binary, got)

	require.NoError(t, os.WriteFile(path, text, 0o644))
	for range 2 {
		read, isText, got = send()
		require.GreaterOrEqual(t, read, 2*size, "a file just written is scanned each time")
		require.True(t, isText)
		require.Equal(t, text, got)
	}
}
