package xmlrpc

import "io"

// textStream is the text of one element, decoded (or checked and escaped
// again) as it is read; at its end tag it checks the rest of the document.
type textStream struct {
	d     *xmlDecoder
	end   string   // the element whose end tag closes the text
	after []string // the end tags that must follow
	// escaped has Read give the text escaped, as this package escapes
	// it (readEscaped), rather than decoded.
	escaped bool
	err     error // sticky, io.EOF at the end
}

func (s *textStream) Read(p []byte) (int, error) {
	for s.err == nil {
		var (
			n   int
			err error
		)
		if s.escaped {
			n, err = s.d.readEscaped(p)
		} else {
			n, err = s.d.readChars(p)
		}
		if err == nil {
			return n, nil
		}
		if err != errAtTag {
			s.err = err
			return n, err
		}
		// Only a comment may interrupt the text; anything else ends it.
		s.d.r.Discard(1) // '<'
		t, skip, err := s.d.readTag()
		switch {
		case err != nil:
			s.err = err
		case skip:
			continue
		case t != end(s.end):
			s.err = syntaxErrorf("got %s in <%s>", t, s.end)
		default:
			s.err = s.d.closeDoc(s.after...)
			if s.err == nil {
				s.err = io.EOF
			}
		}
	}
	return 0, s.err
}
