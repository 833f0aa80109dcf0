package xmlrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

// valueStream is valueStart and the decoded contents, for the tests.
func (d *xmlDecoder) valueStream() (io.Reader, bool, error) {
	c, err := d.valueStart()
	if err != nil {
		return nil, false, err
	}
	return c.decoded(), c.text, nil
}

// readReply reads the file contents of the reply doc, decoded or encoded,
// through a buffer of bufSize and reads of step bytes.
func readReply(doc []byte, encoded bool, bufSize, step int) (text bool, b []byte, err error) {
	d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader(doc), bufSize), 1<<20)
	f, err := d.replyStart()
	if err != nil {
		return false, nil, err
	}
	if f != nil {
		return false, nil, f
	}
	c, err := d.valueStart()
	if err != nil {
		return false, nil, err
	}
	r := c.decoded()
	if encoded {
		r = c.encoded()
	}
	b, err = readInSteps(r, step)
	return c.text, b, err
}

// checkPassThrough is the pass-through's contract, for one document: its
// encoded contents are exactly the decoded ones encoded again, as this
// package encodes them, or both fail; and a reply of them decodes as doc
// does.
func checkPassThrough(t *testing.T, doc []byte) {
	text, want, werr := readReply(doc, false, 64<<10, 32<<10)
	for _, read := range []struct{ buf, step int }{{64 << 10, 32 << 10}, {16, 1}, {16, 7}, {64, 100}} {
		_, got, gerr := readReply(doc, true, read.buf, read.step)
		require.Equal(t, werr == nil, gerr == nil, "decode: %v, pass-through: %v, %q", werr, gerr, doc)
		if werr != nil {
			continue
		}
		relayed := base64Reply(string(got))
		if text {
			esc, _, err := appendEscaped(nil, want, true)
			require.NoError(t, err)
			require.Equal(t, string(esc), string(got), "%q", doc)
			relayed = stringReply(string(got))
		} else {
			require.Equal(t, base64.StdEncoding.EncodeToString(want), string(got), "%q", doc)
		}
		// What a relay sends on decodes as the peer's reply does.
		_, again, err := readReply(relayed, false, 64<<10, 32<<10)
		require.NoError(t, err)
		require.Equal(t, string(want), string(again), "%q", doc)
	}
}

func stringReply(content string) []byte {
	return []byte(replyHead + "<string>" + content + "</string>" + replyTail)
}

func base64Reply(content string) []byte {
	return []byte(replyHead + "<base64>" + content + "</base64>" + replyTail)
}

// goodReplies are replies of text in every form a peer may send.
var goodReplies = []string{
	string(stringReply("plain text")),
	string(stringReply("a &amp; b &lt;c&gt; d&#13;\n")),
	string(stringReply("quot &quot; apos &apos; refs &#65;&#x42;&#x3c;&#60;&#38;&#x26; &#10;&#9;&#xD;")),
	string(stringReply("raw > and ]]> and CR\r and CRLF\r\n and CR CR LF\r\r\n end\r")),
	string(stringReply("é € 😀 \uFFFD")),
	string(stringReply("a<!-- a comment -->b<?pi x?>c")),
	string(stringReply("cr before a comment\r<!-- x -->\nafter")),
	string(stringReply("")),
	replyHead + "<string/>" + replyTail,
	replyHead + "untyped &amp; text" + replyTail,
	replyHead + "  untyped after spaces" + replyTail,
	replyHead + "   " + replyTail,
	replyHead + "  <string>layout around</string>  " + replyTail,
	"<methodResponse><params><param><value><string>x</string></value></param></params></methodResponse><!-- after -->",
}

// hostileReplies are documents the pass-through must refuse, as the
// decoder does.
var hostileReplies = []string{
	string(stringReply("a <b> c")),
	string(stringReply("bad &entity; here")),
	string(stringReply("nul &#0; ref")),
	string(stringReply("surrogate &#xD800; ref")),
	string(stringReply("beyond &#x110000; ref")),
	string(stringReply("sign &#+65; ref")),
	string(stringReply("unterminated &amp")),
	string(stringReply("long &#0000000000000065; ref")),
	string(stringReply("bad utf-8 \xff\xfe here")),
	string(stringReply("overlong \xc0\xaf here")),
	string(stringReply("surrogate \xed\xa0\x80 here")),
	string(stringReply("control \x01 here")),
	string(stringReply("nonchar \uFFFE here")),
	string(stringReply("cdata <![CDATA[x]]>")),
	replyHead + "<string>no end",
	replyHead + "<string>wrong end</base64>" + replyTail,
	replyHead + "<string>x</string></value></param></params>",
	replyHead + "<string>x</string></value></param></params></methodResponse><more/>",
	replyHead + "<string>x</string></value></param></params></methodResponse>trailing text",
	replyHead + "<string>x</string><string>y</string>" + replyTail,
	"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value>no</value></member></struct></value></fault></methodResponse>",
	replyHead + "<string>x</string></value></param></params><fault/></methodResponse>",
	string(base64Reply("QQ")),
	string(base64Reply("QQ=")),
	string(base64Reply("Q===")),
	string(base64Reply("====")),
	string(base64Reply("QQ==QQ==")),
	string(base64Reply("QQ==Q")),
	string(base64Reply("QQ=A")),
	string(base64Reply("QUI=\n=")),
	string(base64Reply("QU!=")),
	string(base64Reply("QUJD\x01")),
	string(base64Reply("QUJD&lt;")),
	string(base64Reply("QUJD\xc3\xa9")),
	replyHead + "<base64>QUJD</base64></value></param></params></methodResponse>x",
	replyHead + "<base64>QUJD",
}

var goodBase64Replies = []string{
	string(base64Reply("aGVsbG8gd29ybGQ=")),
	string(base64Reply("aGVs\nbG8g\r\nd29y bGQ=\t")),
	string(base64Reply("QQ==")),
	string(base64Reply("QR==")),
	string(base64Reply("QUI=")),
	string(base64Reply("QUJ=")),
	string(base64Reply("QQ= =")),
	string(base64Reply("QU&#73;=")),
	string(base64Reply("Q<!-- c -->Q==")),
	string(base64Reply("")),
	replyHead + "<base64/>" + replyTail,
}

// TestPassThroughMatchesDecode checks the pass-through against a decode
// encoded again, on good and hostile documents, through buffers and reads
// of several sizes, so that every boundary meets an entity, a character
// or a quantum. It runs with the vector checks (blocks_amd64.s), where
// the processor has them, and with the word-at-a-time code alone.
func TestPassThroughMatchesDecode(t *testing.T) {
	bothWays(t, passThroughMatchesDecode)
}

func passThroughMatchesDecode(t *testing.T) {
	for _, doc := range slices.Concat(goodReplies, goodBase64Replies) {
		checkPassThrough(t, []byte(doc))
		_, _, err := readReply([]byte(doc), true, 16, 5)
		require.NoError(t, err, "%q", doc)
	}
	for _, doc := range hostileReplies {
		checkPassThrough(t, []byte(doc))
		_, _, err := readReply([]byte(doc), true, 16, 5)
		require.Error(t, err, "%q", doc)
	}
	r := rand.New(rand.NewPCG(21, 22))
	for range 2000 {
		checkPassThrough(t, stringReply(strings.ReplaceAll(string(randomText(r, r.IntN(4) != 0)), "<", "&lt;")))
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		enc := []byte(base64.StdEncoding.EncodeToString(b))
		if len(enc) > 0 && r.IntN(3) == 0 {
			enc[r.IntN(len(enc))] = "=\n A\x00&<"[r.IntN(7)]
		}
		checkPassThrough(t, base64Reply(string(enc)))
	}
}

// TestPassThroughCanonical checks what the pass-through makes of forms
// this package does not write.
func TestPassThroughCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"&quot;&apos;&#65;&#x3c;&#38;": `"'A&lt;&amp;`,
		"a > b ]]> c":                  "a &gt; b ]]&gt; c",
		"CR\r CRLF\r\n CRCRLF\r\r\n":   "CR\n CRLF\n CRCRLF\n\n",
		"&#13;&#xD;&#10;&#9;":          "&#13;&#13;\n\t",
		"a<!-- c -->b":                 "ab",
	} {
		_, got, err := readReply(stringReply(in), true, 16, 3)
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, string(got), "%q", in)
	}
	for in, want := range map[string]string{"QR==": "QQ==", "QUJ=": "QUI=", "QU\nJD\r\n": "QUJD", "QU&#74;D": "QUJD"} {
		_, got, err := readReply(base64Reply(in), true, 16, 3)
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, string(got), "%q", in)
	}
}

// FuzzPassThrough checks the pass-through's contract on any document:
// handed on encoded, it is exactly the decoded contents encoded again, or
// both fail. It reads byte by byte too, off the bulk paths.
func FuzzPassThrough(f *testing.F) {
	for _, s := range slices.Concat(goodReplies, goodBase64Replies, hostileReplies) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkPassThrough(t, doc)
		_, want, werr := readReply(doc, true, 64<<10, 64<<10)
		d := newXMLDecoder(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(doc)), 16), 1<<20)
		f, err := d.replyStart()
		if err != nil || f != nil {
			return
		}
		c, err := d.valueStart()
		if err != nil {
			return
		}
		got, gerr := io.ReadAll(c.encoded())
		require.Equal(t, werr == nil, gerr == nil, "%v, %v", werr, gerr)
		if werr == nil {
			require.Equal(t, string(want), string(got))
		}
	})
}

// relayBody stands for a node's relay: it wraps a client's body, counting
// the reads that reach it, and lets the handler reach the body within.
type relayBody struct {
	io.ReadCloser
	reads *atomic.Int64
}

func (r relayBody) Read(p []byte) (int, error) {
	r.reads.Add(1)
	return r.ReadCloser.Read(p)
}

func (r relayBody) Unwrap() io.ReadCloser { return r.ReadCloser }

// decodedRelay relays by decoding and escaping again: a body that hides
// all but Texter.
type decodedRelay struct {
	io.ReadCloser
	text bool
}

func (r decodedRelay) IsText() bool { return r.text }

// relayOf serves, on loopback, a relay of the reply doc that the server
// upstream sends: by pass-through, or by decoding if decode. It returns
// the relay's URL and its count of reads of the decoded body.
func relayOf(t testing.TB, upstream string, cfg Config, decode bool) (string, *atomic.Int64) {
	t.Helper()
	up := New(cfg)
	t.Cleanup(func() { up.Close() })
	reads := &atomic.Int64{}
	p := &fakePeer{query: func(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
		body, err := dial(t, up, upstream).Query(ctx, name, history)
		if err != nil {
			return nil, err
		}
		if decode {
			return decodedRelay{body, body.(transport.Texter).IsText()}, nil
		}
		return relayBody{body, reads}, nil
	}}
	_, url := serve(t, p, Config{})
	return url, reads
}

// fetchRelayed queries the relay and reads the reply whole.
func fetchRelayed(t *testing.T, url string) ([]byte, error) {
	t.Helper()
	tr := New(Config{})
	defer tr.Close()
	body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

func docServer(t *testing.T, doc []byte) string {
	return rawServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(doc) })
}

// TestRelayPassesThrough relays replies in every form a peer may send,
// large and small: the relay never reads them decoded, and the node
// downstream reads what the peer sent.
func TestRelayPassesThrough(t *testing.T) {
	bin := make([]byte, 300<<10)
	rng := rand.New(rand.NewPCG(23, 24))
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	lined := base64.StdEncoding.EncodeToString(bin)
	var py strings.Builder
	for len(lined) > 76 {
		py.WriteString(lined[:76] + "\n")
		lined = lined[76:]
	}
	py.WriteString(lined + "\n")
	dense := bytes.Repeat([]byte("the quick brown fox & friends <again>\r\n é😀 "), 8<<10)
	docs := map[string][]byte{
		"dense text": stringReply(xmlEscaper.Replace(string(dense))),
		"raw CRLF":   stringReply(strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace(string(dense))),
		"base64":     base64Reply(base64.StdEncoding.EncodeToString(bin)),
		"python":     base64Reply(py.String()),
	}
	for _, doc := range slices.Concat(goodReplies, goodBase64Replies) {
		docs[doc] = []byte(doc)
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, want, err := readReply(doc, false, 64<<10, 64<<10)
			require.NoError(t, err)
			url, reads := relayOf(t, docServer(t, doc), Config{}, false)
			got, err := fetchRelayed(t, url)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
			require.Zero(t, reads.Load(), "the relay decoded the reply")
		})
	}
}

// TestRelayRefusesWhatDecodingRefuses relays hostile replies: the node
// downstream gets what a relay that decodes would give it, a fault when
// the reply fails at once and a broken document when it fails once
// passing on has begun, never a document that looks whole.
func TestRelayRefusesWhatDecodingRefuses(t *testing.T) {
	long := strings.Repeat("a long good start &amp; more ", 20<<10)
	docs := map[string][]byte{}
	for _, doc := range hostileReplies {
		docs[doc] = []byte(doc)
		if i := strings.Index(doc, "<string>"); i >= 0 {
			docs["long "+doc] = []byte(doc[:i+8] + long + doc[i+8:])
		}
		if i := strings.Index(doc, "<base64>"); i >= 0 {
			docs["long "+doc] = []byte(doc[:i+8] + strings.Repeat("QUJD", 150<<10) + doc[i+8:])
		}
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			upstream := docServer(t, doc)
			passURL, _ := relayOf(t, upstream, Config{}, false)
			decodeURL, _ := relayOf(t, upstream, Config{}, true)
			_, perr := fetchRelayed(t, passURL)
			_, derr := fetchRelayed(t, decodeURL)
			require.Error(t, perr)
			require.Error(t, derr)
			var pf, df *transport.Fault
			require.Equal(t, errors.As(derr, &df), errors.As(perr, &pf), "decode: %v, pass-through: %v", derr, perr)
			if df != nil {
				require.Equal(t, df.Code, pf.Code)
			}
		})
	}
}

// TestRelayKeepsCapsAndTimeouts checks that a reply passed through is
// still cut off by the relay's MaxReplyBytes and StallTimeout, and that a
// reader downstream that goes away ends the call upstream.
func TestRelayKeepsCapsAndTimeouts(t *testing.T) {
	endless := func(ended chan<- error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, replyHead+"<string>")
			chunk := bytes.Repeat([]byte("y&amp;"), 10<<10)
			var err error
			for range 2000 { // 120 MiB at most
				if _, err = w.Write(chunk); err != nil {
					break
				}
			}
			if ended != nil {
				ended <- err
			}
		}
	}
	url, _ := relayOf(t, rawServer(t, endless(nil)), Config{MaxReplyBytes: 1 << 20}, false)
	_, err := fetchRelayed(t, url)
	require.Error(t, err)

	stall := make(chan struct{})
	defer close(stall)
	stalled := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, replyHead+"<string>"+strings.Repeat("partial ", 10<<10))
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	})
	url, _ = relayOf(t, stalled, Config{StallTimeout: 100 * time.Millisecond}, false)
	_, err = fetchRelayed(t, url)
	require.Error(t, err)

	ended := make(chan error, 1)
	url, _ = relayOf(t, rawServer(t, endless(ended)), Config{}, false)
	tr := New(Config{})
	defer tr.Close()
	body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	require.NoError(t, err)
	_, err = io.ReadFull(body, make([]byte, 1<<20))
	require.NoError(t, err)
	body.Close()
	select {
	case err := <-ended:
		require.Error(t, err, "the upstream reply was read to its end")
	case <-time.After(20 * time.Second):
		t.Fatal("the relay kept reading upstream after the reader went away")
	}
}
