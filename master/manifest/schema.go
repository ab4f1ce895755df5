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
// protojson sees it, because protojson stops at the first problem and names
// it without its path. Keys must be field JSON names, values must have the
// JSON kind of their field. It returns the object with what it accepted
// normalised for protojson (numbers given to string fields become strings,
// nulls are dropped), and records every problem in errs.
//
// Values are expected from a json.Decoder with UseNumber, so that the literal
// text of a number survives (cpu: 0.5 stays "0.5").
func checkSchema(errs *errorList, path string, md protoreflect.MessageDescriptor, obj map[string]any) map[string]any {
	fields := md.Fields()
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// Unknown keys first: a misspelt field is the likeliest mistake, and its
	// value was not checked against anything.
	slices.Sort(keys)
	for _, k := range keys {
		if fields.ByJSONName(k) == nil {
			errs.add(child(path, k), "unknown field%s", suggest(fields, k))
		}
	}

	out := make(map[string]any, len(obj))
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := fd.JSONName()
		v, found := obj[name]
		if !found || v == nil {
			continue
		}
		p := child(path, name)
		switch {
		case fd.IsMap():
			m, isObj := v.(map[string]any)
			if !isObj {
				errs.add(p, "must be a mapping of %s", kindName(fd.MapValue()))
				continue
			}
			out[name] = checkMap(errs, p, fd, m)
		case fd.IsList():
			list, isList := v.([]any)
			if !isList {
				errs.add(p, "must be a list of %s", kindName(fd))
				continue
			}
			norm := make([]any, len(list))
			for j, elem := range list {
				norm[j] = checkValue(errs, index(p, j), fd, elem)
			}
			out[name] = norm
		default:
			out[name] = checkValue(errs, p, fd, v)
		}
	}
	return out
}

func checkMap(errs *errorList, path string, fd protoreflect.FieldDescriptor, m map[string]any) map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]any, len(m))
	for _, k := range keys {
		p := key(path, k)
		if !validMapKey(fd.MapKey(), k) {
			errs.add(p, "key must be %s", kindName(fd.MapKey()))
			continue
		}
		out[k] = checkValue(errs, p, fd.MapValue(), m[k])
	}
	return out
}

// checkValue checks one singular value (a field, a list element or a map
// value) against the kind of fd.
func checkValue(errs *errorList, path string, fd protoreflect.FieldDescriptor, v any) any {
	if v == nil {
		if fd.Kind() == protoreflect.StringKind {
			errs.add(path, `must be a string (write "" for an empty one)`)
		} else {
			errs.add(path, "must not be null")
		}
		return nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "must be a mapping")
			return nil
		}
		return checkSchema(errs, path, fd.Message(), obj)
	case protoreflect.StringKind, protoreflect.BytesKind:
		switch s := v.(type) {
		case string:
			return s
		case json.Number:
			// YAML reads cpu: 2 or a label value 1 as a number; the user meant
			// the text, and UseNumber kept it.
			return s.String()
		case bool:
			// YAML 1.1 turns yes/no/on/off into booleans; say so rather than
			// storing "true" where the user typed "yes".
			errs.add(path, "must be a string (quote it: YAML reads y, n, yes, no, on, off, true and false as booleans)")
		default:
			errs.add(path, "must be a string")
		}
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return b
		}
		errs.add(path, "must be true or false")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return checkInt(errs, path, v, math.MinInt32, math.MaxInt32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return checkInt(errs, path, v, math.MinInt64, math.MaxInt64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return checkInt(errs, path, v, 0, math.MaxUint32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// Above MaxInt64 is not reachable from a manifest field today.
		return checkInt(errs, path, v, 0, math.MaxInt64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Float64(); err == nil {
				return n
			}
		}
		errs.add(path, "must be a number")
	case protoreflect.EnumKind:
		switch v.(type) {
		case string:
			return v
		case json.Number:
			return checkInt(errs, path, v, math.MinInt32, math.MaxInt32)
		}
		errs.add(path, "must be one of the enum names")
	default:
		errs.add(path, "unsupported field type %s", fd.Kind())
	}
	return nil
}

// checkInt accepts only a JSON number with an integer literal: "3" (a string)
// and 3.5 are both mistakes worth reporting rather than coercing.
func checkInt(errs *errorList, path string, v any, lo, hi int64) any {
	n, ok := v.(json.Number)
	if !ok {
		errs.add(path, "must be an integer")
		return nil
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			errs.add(path, "is out of range")
			return nil
		}
		errs.add(path, "must be an integer")
		return nil
	}
	if i < lo || i > hi {
		errs.add(path, "is out of range")
		return nil
	}
	return json.Number(strconv.FormatInt(i, 10))
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
