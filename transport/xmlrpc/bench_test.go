package xmlrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/filepeer/peer/internal/benchdata"
)

// codecText is text dense with the characters that need escaping and
// with characters beyond ASCII: a worst case.
func codecText(size int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"file", "peer", "sharing", "über", "<xml>", "a&b", "🙂", "node", "query", "history"}
	var b bytes.Buffer
	for b.Len() < size {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(" \n"[min(r.IntN(10), 1)^1])
	}
	t := b.Bytes()[:size]
	for !utf8.Valid(t) {
		t = t[:len(t)-1]
	}
	return t
}

func BenchmarkCodec(b *testing.B) {
	for _, kind := range []string{"dense", "prose", "fox"} {
		var text []byte
		switch kind {
		case "dense":
			text = codecText(4 << 20)
		case "prose":
			text = benchdata.Prose(4 << 20)
		case "fox":
			// The text of go run ./bench: an entity every 20 bytes.
			line := []byte("the quick brown fox jumps over the lazy dog & friends <again>\n")
			text = bytes.Repeat(line, 4<<20/len(line))
		}
		b.Run("text="+kind, func(b *testing.B) { benchCodec(b, text) })
	}
}

func benchCodec(b *testing.B, text []byte) {
	esc, _, err := appendEscaped(nil, text, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			scanText(text, true)
		}
	})
	b.Run("scan-exact", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			scanExact(text, true)
		}
	})
	b.Run("escape", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		out := make([]byte, 0, 2*len(text))
		for b.Loop() {
			appendEscaped(out[:0], text, true)
		}
	})
	doc := []byte(replyHead + "<string>" + string(esc) + "</string>" + replyTail)
	for _, exact := range []bool{false, true} {
		name := "decode"
		if exact {
			name = "decode-exact"
		}
		b.Run(name, func(b *testing.B) { benchDecode(b, doc, len(text), exact) })
	}
}

// benchDecode decodes doc, a reply of a file of size bytes; exact sends
// every character through readChars' exact path, as if bulkChars had
// refused it.
func benchDecode(b *testing.B, doc []byte, size int, exact bool) {
	b.SetBytes(int64(size))
	for b.Loop() {
		d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader(doc), ioChunk), 1<<20)
		if exact {
			d.slow = math.MaxInt
		}
		if _, err := d.replyStart(); err != nil {
			b.Fatal(err)
		}
		r, _, err := d.valueStream()
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != int64(size) {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkBase64 decodes a reply of 4 MiB of random bytes, as
// valueStream does (base64Text) and with every byte of the text checked
// by textStream first (checked).
func BenchmarkBase64(b *testing.B) {
	bin := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	doc := []byte(replyHead + "<base64>" + base64.StdEncoding.EncodeToString(bin) + "</base64>" + replyTail)
	for _, checked := range []bool{false, true} {
		name := "decode"
		if checked {
			name = "decode-checked"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(bin)))
			for b.Loop() {
				d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader(doc), ioChunk), 1<<20)
				if _, err := d.replyStart(); err != nil {
					b.Fatal(err)
				}
				var rd io.Reader
				if checked {
					if err := d.expect(start("base64")); err != nil {
						b.Fatal(err)
					}
					rd = newBase64Stream(&textStream{d: d, end: "base64", after: afterTyped}, ioChunk)
				} else {
					var err error
					if rd, _, err = d.valueStream(); err != nil {
						b.Fatal(err)
					}
				}
				if n, err := io.Copy(io.Discard, rd); err != nil || n != int64(len(bin)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkSmallCall measures the codec's share of a relayed query: the
// request with a history of three nodes, encoded and decoded (by the
// general decoder, and by parseSimpleCall, which the handler tries
// first), and a small text reply decoded.
func BenchmarkSmallCall(b *testing.B) {
	history := []string{"http://127.0.0.1:40001", "http://127.0.0.1:40002", "http://127.0.0.1:40003"}
	call, err := encodeCall("query", "f", history)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeCall("query", "f", history); err != nil {
				b.Fatal(err)
			}
		}
	})
	br := bufio.NewReaderSize(nil, smallReply)
	doc := bytes.NewReader(call)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc.Reset(call)
			br.Reset(doc)
			d := newXMLDecoder(br, DefaultMaxRequestBytes)
			if _, params, err := d.request(); err != nil || len(params) != 2 {
				b.Fatal(params, err)
			}
		}
	})
	b.Run("decode-simple", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, params, ok := parseSimpleCall(call); !ok || len(params) != 2 {
				b.Fatal(params, ok)
			}
		}
	})
	reply := []byte(replyHead + "<string>a small file of text, as the book's examples share\n</string>" + replyTail)
	b.Run("reply", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 512)
		for b.Loop() {
			doc.Reset(reply)
			br.Reset(doc)
			d := newXMLDecoder(br, DefaultMaxRequestBytes)
			if _, err := d.replyStart(); err != nil {
				b.Fatal(err)
			}
			r, _, err := d.valueStream()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf[:51]); err != nil {
				b.Fatal(err)
			}
			if n, err := r.Read(buf); n != 0 || err != io.EOF {
				b.Fatal(n, err)
			}
		}
	})
}

// BenchmarkQuery measures a query of a 100-byte file with a history of
// three nodes, the operation the request and reply fast paths serve: over
// loopback (client, handler and the sockets between), and the handler
// alone, served in process.
func BenchmarkQuery(b *testing.B) {
	history := []string{"http://127.0.0.1:40001", "http://127.0.0.1:40002", "http://127.0.0.1:40003"}
	p := &fakePeer{files: map[string][]byte{"f": bytes.Repeat([]byte("a small file "), 8)[:100]}}
	b.Run("loopback", func(b *testing.B) {
		tr, url := serve(b, p, Config{})
		c := dial(b, tr, url)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			body, err := c.Query(ctx, "f", history)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, body); err != nil || n != 100 {
				b.Fatal(n, err)
			}
			body.Close()
		}
	})
	b.Run("handler", func(b *testing.B) {
		call, err := encodeCall("query", "f", history)
		if err != nil {
			b.Fatal(err)
		}
		h := newHandler(p, DefaultMaxRequestBytes, 0, DefaultReplyCacheBytes)
		body := bytes.NewReader(call)
		req := httptest.NewRequest(http.MethodPost, "/RPC2", body)
		b.ReportAllocs()
		for b.Loop() {
			body.Reset(call)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() < 100 {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}

// hiddenFile is an *os.File that the handler cannot see as one, so it
// does not send it as it is; its kind is remembered as the file's is.
type hiddenFile struct{ *os.File }

// BenchmarkFileReply measures 16 MiB files, settled (their kind
// remembered), fetched over loopback by a raw HTTP client that counts the
// reply's bytes and decodes nothing: text with nothing to escape, text
// with an entity every 20 bytes, and random bytes. Each goes the ways a
// handler may send it: as it is (copy; plain text only), encoded by
// copyParallel (parallel), and streamed through the encoder (stream),
// both with the reply cache off; text and binary also from the reply
// cache (cached: the first two replies, before it holds the file, go the
// parallel way); text also as a file written a moment ago (fresh),
// scanned each time. Plain text also goes out with sendfile (sendfile),
// which the handler does not use: a reference, written here, for
// sendPlainFile's comment.
func BenchmarkFileReply(b *testing.B) {
	dir := b.TempDir()
	bin := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	line := func(s string) []byte { return bytes.Repeat([]byte(s), 16<<20/len(s)) }
	files := []struct {
		name  string
		b     []byte
		modes []string
	}{
		{"plain", line("the quick brown fox jumps over the lazy dog\n"), []string{"copy", "sendfile", "parallel"}},
		{"text", line("the quick brown fox jumps over the lazy dog & friends <again>\n"), []string{"cached", "parallel", "stream", "fresh"}},
		{"binary", bin, []string{"cached", "parallel", "stream"}},
	}
	old := time.Now().Add(-time.Hour)
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.b, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			b.Fatal(err)
		}
		call, err := encodeCall("query", f.name, []string{})
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range f.modes {
			b.Run(f.name+"/"+mode, func(b *testing.B) {
				cache := int64(-1)
				if mode == "cached" {
					cache = DefaultReplyCacheBytes
				}
				h := newHandler(&fakePeer{query: func(context.Context, string, []string) (io.ReadCloser, error) {
					file, err := os.Open(path)
					if err != nil || mode == "copy" {
						return file, err
					}
					return hiddenFile{file}, nil
				}}, DefaultMaxRequestBytes, DefaultReplyStallTimeout, cache)
				if mode == "stream" {
					// No token is ever free: copyParallel is not used.
					h.parallel = make(chan struct{})
				}
				var hh http.Handler = h
				if mode == "sendfile" {
					hh = sendfileReply(path)
				}
				srv := httptest.NewServer(hh)
				defer srv.Close()
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				defer client.CloseIdleConnections()
				b.SetBytes(int64(len(f.b)))
				for b.Loop() {
					if mode == "fresh" {
						// Written a moment ago, as far as the handler
						// can tell: scanned again, its kind not
						// remembered.
						now := time.Now()
						os.Chtimes(path, now, now)
					}
					resp, err := client.Post(srv.URL+"/RPC2", "text/xml", bytes.NewReader(call))
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || n < int64(len(f.b)) {
						b.Fatal(n, resp.StatusCode, err)
					}
				}
			})
		}
	}
}

// sendfileReply answers every request with the reply to a query of the
// plain text file at path, sent with sendfile: io.Copy from the *os.File
// reaches net/http's ReadFrom, which takes it when the reply's length is
// known and the connection is a bare *net.TCPConn, as httptest's is.
func sendfileReply(path string) http.Handler {
	const open, close = replyHead + "<string>", "</string>" + replyTail
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", strconv.FormatInt(int64(len(open)+len(close))+fi.Size(), 10))
		io.WriteString(w, open)
		io.Copy(w, f)
		io.WriteString(w, close)
	})
}

// BenchmarkRelay measures a 16 MiB settled file relayed one hop: a node
// serving it from disk, a relay in front of it and a raw HTTP client that
// counts the reply's bytes and decodes nothing, as go run ./bench has it.
// The relay passes the reply through (pass) or decodes it and encodes it
// again (decode), as relays did before pass-through.
func BenchmarkRelay(b *testing.B) {
	dir := b.TempDir()
	bin := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	line := func(s string) []byte { return bytes.Repeat([]byte(s), 16<<20/len(s)) }
	files := map[string][]byte{
		"plain":  line("the quick brown fox jumps over the lazy dog\n"),
		"text":   line("the quick brown fox jumps over the lazy dog & friends <again>\n"),
		"binary": bin,
	}
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{"plain", "text", "binary"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			b.Fatal(err)
		}
		source := httptest.NewServer(newHandler(&fakePeer{query: func(context.Context, string, []string) (io.ReadCloser, error) {
			return os.Open(path)
		}}, DefaultMaxRequestBytes, DefaultReplyStallTimeout, DefaultReplyCacheBytes))
		call, err := encodeCall("query", name, []string{})
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"pass", "decode"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				url, _ := relayOf(b, source.URL, Config{}, mode == "decode")
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				defer client.CloseIdleConnections()
				b.SetBytes(int64(len(files[name])))
				for b.Loop() {
					resp, err := client.Post(url+"/RPC2", "text/xml", bytes.NewReader(call))
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || n < int64(len(files[name])) {
						b.Fatal(n, resp.StatusCode, err)
					}
				}
			})
		}
		source.Close()
	}
}

// BenchmarkPassThrough reads the contents of a 4 MiB reply as a relay
// passes them on, checked but still encoded (pass), and decoded (decode),
// from memory: the harness's dense text, prose, text with nothing to
// escape, random bytes as base64, and character references only.
func BenchmarkPassThrough(b *testing.B) {
	line := func(s string) []byte { return bytes.Repeat([]byte(s), 4<<20/len(s)) }
	bin := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	for _, kind := range []string{"fox", "prose", "plain", "binary", "refs"} {
		var doc []byte
		switch kind {
		case "refs":
			// Nothing in the form this package writes: every
			// character a reference, each taken on its own.
			doc = stringReply(strings.Repeat("&#65;", 4<<20/5))
		case "fox":
			doc = stringReply(xmlEscaper.Replace(string(line("the quick brown fox jumps over the lazy dog & friends <again>\n"))))
		case "prose":
			doc = stringReply(xmlEscaper.Replace(string(benchdata.Prose(4 << 20))))
		case "plain":
			doc = stringReply(string(line("the quick brown fox jumps over the lazy dog\n")))
		case "binary":
			doc = base64Reply(base64.StdEncoding.EncodeToString(bin))
		}
		for _, mode := range []string{"pass", "decode"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				buf := make([]byte, ioChunk)
				for b.Loop() {
					d := newXMLDecoder(bufio.NewReaderSize(bytes.NewReader(doc), ioChunk), 1<<20)
					if _, err := d.replyStart(); err != nil {
						b.Fatal(err)
					}
					c, err := d.valueStart()
					if err != nil {
						b.Fatal(err)
					}
					rd := c.decoded()
					if mode == "pass" {
						rd = c.encoded()
					}
					for {
						_, err := io.ReadFull(rd, buf)
						if err == io.EOF || err == io.ErrUnexpectedEOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
