package xmlrpc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// value reads a value after its <value> tag, through </value>. Strings come
// back as string, base64 as []byte, integers as int64, booleans as bool,
// doubles as float64, arrays as []any, structs as map[string]any and
// <nil/> as nil. depth counts the arrays and structs around it.
func (d *xmlDecoder) value(depth int) (any, error) {
	text, err := d.smallText()
	if err != nil {
		return nil, err
	}
	t, err := d.nextTag()
	if err != nil {
		return nil, err
	}
	if t == end("value") {
		return text, nil // an untyped value is a string
	}
	if strings.Trim(text, " \t\r\n") != "" {
		return nil, syntaxErrorf("text before %s in a value", t)
	}
	if t.end {
		return nil, syntaxErrorf("unexpected %s in a value", t)
	}
	v, err := d.typed(t, depth)
	if err != nil {
		return nil, err
	}
	return v, d.expect(end("value"))
}

// typed reads the typed value that t opens, through its end tag.
func (d *xmlDecoder) typed(t tag, depth int) (any, error) {
	switch t.name {
	case "string", "dateTime.iso8601":
		return d.textIn(t)
	case "int", "i4", "i8", "boolean", "double":
		s, err := d.textIn(t)
		if err != nil {
			return nil, err
		}
		return scalar(t.name, strings.Trim(s, " \t\r\n"))
	case "base64":
		s, err := d.textIn(t)
		if err != nil {
			return nil, err
		}
		text := stripSpace([]byte(s))
		b := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
		n, err := base64.StdEncoding.Decode(b, text)
		if err != nil {
			return nil, syntaxErrorf("bad base64: %v", err)
		}
		return b[:n], nil
	case "nil":
		if !t.empty {
			if err := d.expect(end("nil")); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case "array":
		if depth >= maxValueDepth {
			return nil, syntaxErrorf("values nested deeper than %d", maxValueDepth)
		}
		return d.array(t, depth+1)
	case "struct":
		if depth >= maxValueDepth {
			return nil, syntaxErrorf("values nested deeper than %d", maxValueDepth)
		}
		return d.structure(t, depth+1)
	}
	return nil, syntaxErrorf("unknown value type %s", t)
}

func scalar(typ, s string) (any, error) {
	switch typ {
	case "int", "i4":
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, syntaxErrorf("bad <%s> %q", typ, truncateQ(s))
		}
		return v, nil
	case "i8":
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, syntaxErrorf("bad <i8> %q", truncateQ(s))
		}
		return v, nil
	case "boolean":
		switch s {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, syntaxErrorf("bad <boolean> %q", truncateQ(s))
	default: // double
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, syntaxErrorf("bad <double> %q", truncateQ(s))
		}
		return v, nil
	}
}

func (d *xmlDecoder) array(t tag, depth int) ([]any, error) {
	// Room for a typical history, which grows by one a hop.
	vals := make([]any, 0, 4)
	if t.empty {
		return vals, nil
	}
	dt, err := d.nextTag()
	if err != nil {
		return nil, err
	}
	switch {
	case dt == tag{name: "data", empty: true}:
		return vals, d.expect(end("array"))
	case dt != start("data"):
		return nil, syntaxErrorf("got %s, want <data>", dt)
	}
	for {
		vt, err := d.nextTag()
		if err != nil {
			return nil, err
		}
		switch vt {
		case end("data"):
			return vals, d.expect(end("array"))
		case start("value"):
			v, err := d.value(depth)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		case tag{name: "value", empty: true}:
			vals = append(vals, "")
		default:
			return nil, syntaxErrorf("got %s in an array", vt)
		}
		// Each element costs memory, even an empty one: charged so
		// that an array of a million <value/>s is refused.
		if d.budget -= elementCost; d.budget < 0 {
			return nil, syntaxErrorf("values too large")
		}
	}
}

// elementCost is what an array element or struct member is charged to
// the decoder's budget besides its text: about the memory it takes.
const elementCost = 32

func (d *xmlDecoder) structure(t tag, depth int) (map[string]any, error) {
	m := map[string]any{}
	if t.empty {
		return m, nil
	}
	for {
		mt, err := d.nextTag()
		if err != nil {
			return nil, err
		}
		switch mt {
		case end("struct"):
			return m, nil
		case start("member"):
		default:
			return nil, syntaxErrorf("got %s in a struct", mt)
		}
		if err := d.expect(start("name")); err != nil {
			return nil, err
		}
		name, err := d.textIn(start("name"))
		if err != nil {
			return nil, err
		}
		vt, err := d.nextTag()
		if err != nil {
			return nil, err
		}
		var v any = ""
		switch vt {
		case start("value"):
			if v, err = d.value(depth); err != nil {
				return nil, err
			}
		case tag{name: "value", empty: true}:
		default:
			return nil, syntaxErrorf("got %s in a struct member", vt)
		}
		m[name] = v
		if d.budget -= elementCost; d.budget < 0 {
			return nil, syntaxErrorf("values too large")
		}
		if err := d.expect(end("member")); err != nil {
			return nil, err
		}
	}
}

// appendValue appends v, a value of any type Caller names, without its
// <value> tags.
func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("transport: values nested deeper than %d", maxValueDepth)
	}
	var err error
	switch v := v.(type) {
	case string:
		b = append(b, "<string>"...)
		if b, err = appendString(b, v); err != nil {
			return nil, err
		}
		return append(b, "</string>"...), nil
	case int:
		return appendInt(b, int64(v)), nil
	case int32:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case bool:
		if v {
			return append(b, "<boolean>1</boolean>"...), nil
		}
		return append(b, "<boolean>0</boolean>"...), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("transport: cannot send %v as a <double>", v)
		}
		b = append(b, "<double>"...)
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
		return append(b, "</double>"...), nil
	case []byte:
		b = append(b, "<base64>"...)
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, "</base64>"...), nil
	case []string:
		b = append(b, "<array><data>\n"...)
		for _, s := range v {
			b = append(b, "<value><string>"...)
			if b, err = appendString(b, s); err != nil {
				return nil, err
			}
			b = append(b, "</string></value>\n"...)
		}
		return append(b, "</data></array>"...), nil
	case []any:
		b = append(b, "<array><data>\n"...)
		for _, e := range v {
			b = append(b, "<value>"...)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
			b = append(b, "</value>\n"...)
		}
		return append(b, "</data></array>"...), nil
	case map[string]any:
		b = append(b, "<struct>\n"...)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b = append(b, "<member>\n<name>"...)
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, "</name>\n<value>"...)
			if b, err = appendValue(b, v[k], depth+1); err != nil {
				return nil, err
			}
			b = append(b, "</value>\n</member>\n"...)
		}
		return append(b, "</struct>"...), nil
	case nil:
		return nil, errors.New("transport: cannot send nil: XML-RPC peers such as Python's refuse it")
	}
	return nil, fmt.Errorf("transport: cannot encode %T", v)
}

// appendInt writes an <int>, or an <i8> for a value beyond 32 bits, which
// Python reads but does not send.
func appendInt(b []byte, v int64) []byte {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		b = append(b, "<int>"...)
		b = strconv.AppendInt(b, v, 10)
		return append(b, "</int>"...)
	}
	b = append(b, "<i8>"...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, "</i8>"...)
}
