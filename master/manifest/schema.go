package manifest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkSchema walks a decoded JSON object against a message descriptor before
// buildSpec turns it into a spec, so that every problem is reported with its
// path (protojson, whose rules buildSpec keeps, stops at the first and names
// it without one). Keys must be field JSON names, values must have the
// JSON kind of their field. It normalises, in place, what it accepted
// (numbers given to string fields become strings, integers become int64,
// nulls are dropped), returns obj, and records every problem in errs.
//
// Values are expected as decodeJSON gives them, with the literal text of a
// number kept as a json.Number (cpu: 0.5 stays "0.5").
func checkSchema(errs *errorList, path string, md protoreflect.MessageDescriptor, obj map[string]any) map[string]any {
	fields := md.Fields()
	// Unknown keys first: a misspelt field is the likeliest mistake, and its
	// value was not checked against anything.
	for k := range obj {
		if fields.ByJSONName(k) == nil {
			unknownFields(errs, path, fields, obj)
			break
		}
	}

	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := fd.JSONName()
		v, found := obj[name]
		if !found {
			continue
		}
		if v == nil {
			delete(obj, name)
			continue
		}
		at := location{parent: path, field: name, index: -1}
		switch {
		case fd.IsMap():
			m, isObj := v.(map[string]any)
			if !isObj {
				errs.add(at.String(), "must be a mapping of %s", kindName(fd.MapValue()))
				continue
			}
			checkMap(errs, at.String(), fd, m)
		case fd.IsList():
			list, isList := v.([]any)
			if !isList {
				errs.add(at.String(), "must be a list of %s", kindName(fd))
				continue
			}
			for j, elem := range list {
				at.index = j
				list[j] = checkValue(errs, at, fd, elem)
			}
		default:
			obj[name] = checkValue(errs, at, fd, v)
		}
	}
	return obj
}

// location is where a value sits, spelt out only when an error names it or
// a nested mapping needs it as its prefix: most values are fine, and
// joining every path up front was a good part of the cost of checking.
type location struct {
	parent string
	field  string // parent.field, or parent.field[index] when index >= 0
	index  int
	key    string // a map entry of parent instead, when isKey
	isKey  bool
}

func (l location) String() string {
	switch {
	case l.isKey:
		return key(l.parent, l.key)
	case l.index >= 0:
		return index(child(l.parent, l.field), l.index)
	}
	return child(l.parent, l.field)
}

// unknownFields reports the keys of obj that are no field, in key order.
func unknownFields(errs *errorList, path string, fields protoreflect.FieldDescriptors, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if fields.ByJSONName(k) == nil {
			errs.add(child(path, k), "unknown field%s", suggest(fields, k))
		}
	}
}

func checkMap(errs *errorList, path string, fd protoreflect.FieldDescriptor, m map[string]any) {
	if stringsOnly(fd, m) {
		return
	}
	// Errors are reported in key order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		at := location{parent: path, key: k, isKey: true}
		if !validMapKey(fd.MapKey(), k) {
			errs.add(at.String(), "key must be %s", kindName(fd.MapKey()))
			delete(m, k)
			continue
		}
		m[k] = checkValue(errs, at, fd.MapValue(), m[k])
	}
}

// stringsOnly normalises a map of strings to strings (env, labels) that has
// nothing to report, without sorting its keys, and reports whether it could.
func stringsOnly(fd protoreflect.FieldDescriptor, m map[string]any) bool {
	if fd.MapKey().Kind() != protoreflect.StringKind || fd.MapValue().Kind() != protoreflect.StringKind {
		return false
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
		case json.Number:
			m[k] = v.String() // as checkValue does
		default:
			return false
		}
	}
	return true
}

// checkValue checks one singular value (a field, a list element or a map
// value) against the kind of fd.
func checkValue(errs *errorList, at location, fd protoreflect.FieldDescriptor, v any) any {
	if v == nil {
		if fd.Kind() == protoreflect.StringKind {
			errs.add(at.String(), `must be a string (write "" for an empty one)`)
		} else {
			errs.add(at.String(), "must not be null")
		}
		return nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == durationName {
			return checkDuration(errs, at, v)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(at.String(), "must be a mapping")
			return nil
		}
		return checkSchema(errs, at.String(), fd.Message(), obj)
	case protoreflect.StringKind, protoreflect.BytesKind:
		switch s := v.(type) {
		case string:
			return v // already boxed: returning s would box it again
		case json.Number:
			// YAML reads cpu: 2 or a label value 1 as a number; the user meant
			// the text, and decodeJSON kept it.
			return s.String()
		case bool:
			// YAML 1.1 turns yes/no/on/off into booleans; say so rather than
			// storing "true" where the user typed "yes".
			errs.add(at.String(), "must be a string (quote it: YAML reads y, n, yes, no, on, off, true and false as booleans)")
		default:
			errs.add(at.String(), "must be a string")
		}
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return b
		}
		errs.add(at.String(), "must be true or false")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return checkInt(errs, at, v, math.MinInt32, math.MaxInt32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return checkInt(errs, at, v, math.MinInt64, math.MaxInt64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return checkInt(errs, at, v, 0, math.MaxUint32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// Above MaxInt64 is not reachable from a manifest field today.
		return checkInt(errs, at, v, 0, math.MaxInt64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Float64(); err == nil {
				return n
			}
		}
		errs.add(at.String(), "must be a number")
	case protoreflect.EnumKind:
		switch v.(type) {
		case string:
			return v
		case json.Number:
			return checkInt(errs, at, v, math.MinInt32, math.MaxInt32)
		}
		errs.add(at.String(), "must be one of the enum names")
	default:
		errs.add(at.String(), "unsupported field type %s", fd.Kind())
	}
	return nil
}

// checkInt accepts only a JSON number with an integer literal: "3" (a string)
// and 3.5 are both mistakes worth reporting rather than coercing. It returns
// the value as an int64.
func checkInt(errs *errorList, at location, v any, lo, hi int64) any {
	n, ok := v.(json.Number)
	if !ok {
		errs.add(at.String(), "must be an integer")
		return nil
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			errs.add(at.String(), "is out of range")
			return nil
		}
		errs.add(at.String(), "must be an integer")
		return nil
	}
	if i < lo || i > hi {
		errs.add(at.String(), "is out of range")
		return nil
	}
	return i
}

func validMapKey(fd protoreflect.FieldDescriptor, k string) bool {
	var err error
	switch fd.Kind() {
	case protoreflect.StringKind:
		return true
	case protoreflect.BoolKind:
		return k == "true" || k == "false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		_, err = strconv.ParseInt(k, 10, 32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		_, err = strconv.ParseInt(k, 10, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		_, err = strconv.ParseUint(k, 10, 32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		_, err = strconv.ParseUint(k, 10, 64)
	default:
		return false
	}
	return err == nil
}

// kindName is the user's word for what a field holds.
func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "strings"
	case protoreflect.BoolKind:
		return "booleans"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "mappings"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "numbers"
	case protoreflect.EnumKind:
		return "names"
	}
	return "integers"
}

// suggest names the field the user probably meant when only case or
// snake_case separates them (hostport, host_port for hostPort). Looser
// guesses would be wrong too often to be worth the noise.
func suggest(fields protoreflect.FieldDescriptors, k string) string {
	folded := strings.ReplaceAll(strings.ToLower(k), "_", "")
	for i := 0; i < fields.Len(); i++ {
		name := fields.Get(i).JSONName()
		if strings.ToLower(name) == folded {
			return " (did you mean " + name + "?)"
		}
	}
	return ""
}
