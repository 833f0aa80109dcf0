// Package wire holds what the in-memory network and the XML-RPC codec
// must agree on for a value to cross either alike: which characters XML
// can carry, and how deeply values may nest.
package wire

import "unicode/utf8"

// MaxDepth caps how deeply arrays and structs nest in a value, so that a
// hostile document cannot recurse without bound.
const MaxDepth = 16

// IsXMLChar reports whether r may appear in an XML 1.0 document.
func IsXMLChar(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}

// IsText reports whether s can travel as an XML-RPC <string>: valid UTF-8
// of characters XML 1.0 allows.
func IsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !IsXMLChar(r) {
			return false
		}
	}
	return true
}

// Short shortens s, a name or a method, for an error message.
func Short(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
