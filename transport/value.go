package transport

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/filepeer/peer/transport/internal/wire"
)

// wireValue returns v as an XML-RPC wire would deliver it: a deep copy,
// with int and int32 as int64 and []string as []any, or an error for a
// value no wire could carry (nil, a string XML cannot hold, an int
// beyond 64 bits, a type XML-RPC has no name for). The in-memory network
// passes every argument and result through it, so that a node cannot
// tell it from a real one.
func wireValue(v any) (any, error) { return wireValueAt(v, 0) }

func wireValueAt(v any, depth int) (any, error) {
	if depth > wire.MaxDepth {
		return nil, fmt.Errorf("transport: values nested deeper than %d", wire.MaxDepth)
	}
	switch v := v.(type) {
	case string:
		if !wire.IsText(v) {
			return nil, fmt.Errorf("%w: %q", errNotText, wire.Short(v))
		}
		return v, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64, bool:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("transport: cannot send %v as a <double>", v)
		}
		return v, nil
	case []byte:
		return slices.Clone(v), nil
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			s, err := wireValueAt(s, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			e, err := wireValueAt(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if !wire.IsText(k) {
				return nil, fmt.Errorf("%w: member %q", errNotText, wire.Short(k))
			}
			e, err := wireValueAt(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("transport: cannot send nil: XML-RPC peers such as Python's refuse it")
	}
	return nil, fmt.Errorf("transport: cannot send a %T as an XML-RPC value", v)
}

// errNotText reports a string that cannot travel as an XML-RPC <string>.
var errNotText = errors.New("transport: not text that XML 1.0 can carry")

// wireArgs is wireValue for each of a call's arguments.
func wireArgs(args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := wireValue(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// StringArg returns argument arg of method, as a wire delivered it, if it
// is a string, and otherwise an error that names the method, the argument
// and the XML-RPC type it had: for a Peer's methods to check what a peer
// sent before using it.
func StringArg(method, arg string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string, not %s", method, arg, typeName(v))
	}
	return s, nil
}

// StringsArg is StringArg for an argument that must be an array of
// strings.
func StringsArg(method, arg string, v any) ([]string, error) {
	vals, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be an array of strings, not %s", method, arg, typeName(v))
	}
	ss := make([]string, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be an array of strings, not of %s", method, arg, typeName(v))
		}
		ss[i] = s
	}
	return ss, nil
}

// typeName names a value's XML-RPC type, as a wire delivers it.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []byte:
		return "base64"
	case int64:
		return "an int"
	case bool:
		return "a boolean"
	case float64:
		return "a double"
	case []any:
		return "an array"
	case map[string]any:
		return "a struct"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}
