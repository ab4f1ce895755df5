package openapi

import (
	"encoding/json"
	"fmt"
	"go/token"
	"path"
	"reflect"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
)

// Schema is a JSON schema as OpenAPI 3.0 writes it; Ref points to a
// component.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
}

// registry collects the component schemas the routes' bodies name, each
// derived once from its Go type or protobuf message.
type registry struct {
	schemas map[string]*Schema
	// owner is the type each component name was taken for, so that two
	// types of one name are an error rather than one silently replacing
	// the other.
	owner map[string]string
	errs  []error
}

func newRegistry() *registry {
	return &registry{schemas: map[string]*Schema{}, owner: map[string]string{}}
}

// ref is a reference to the component of v's type, registering it (and the
// types it holds) on first use. An unnamed or unexported struct is
// described in place.
func (reg *registry) ref(v any) *Schema {
	if m, ok := v.(proto.Message); ok {
		return reg.message(m.ProtoReflect().Descriptor())
	}
	return reg.goType(reflect.TypeOf(v))
}

// inline is the schema of v's type itself, never a reference to it.
func (reg *registry) inline(v any) *Schema {
	return reg.structSchema(reflect.TypeOf(v))
}

// claim reserves the component name for the type called full; it reports
// whether the caller must fill the component in (the first claim).
func (reg *registry) claim(name, full string) (first bool) {
	if owner, ok := reg.owner[name]; ok {
		if owner != full {
			reg.errs = append(reg.errs, fmt.Errorf("openapi: component %s is both %s and %s", name, owner, full))
		}
		return false
	}
	reg.owner[name] = full
	reg.schemas[name] = &Schema{} // filled in by the caller; recursion stops here
	return true
}

func componentRef(name string) *Schema { return &Schema{Ref: "#/components/schemas/" + name} }

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// goType describes a Go type as encoding/json writes it.
func (reg *registry) goType(t reflect.Type) *Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[proto.Message]()) {
		return reg.ref(reflect.New(t).Interface())
	}
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case rawType:
		return &Schema{Description: "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return &Schema{Type: "integer", Format: "int32"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return &Schema{Type: "integer", Format: "int64"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		return &Schema{Type: "array", Items: reg.goType(t.Elem())}
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: reg.goType(t.Elem())}
	case reflect.Struct:
		if !token.IsExported(t.Name()) {
			// A handler's own answer type names nothing a client shares:
			// described in place.
			return reg.structSchema(t)
		}
		name := goComponentName(t)
		if reg.claim(name, t.PkgPath()+"."+t.Name()) {
			*reg.schemas[name] = *reg.structSchema(t)
		}
		return componentRef(name)
	}
	reg.errs = append(reg.errs, fmt.Errorf("openapi: cannot describe Go type %s", t))
	return &Schema{}
}

// goComponentName is the type's name, qualified by its package unless it
// is the protocol's own (package api).
func goComponentName(t reflect.Type) string {
	pkg := path.Base(t.PkgPath())
	if pkg == "api" {
		return t.Name()
	}
	return pkg + "." + t.Name()
}

// structSchema describes a struct's exported fields by their json tags; a
// field without omitempty is always written, so it is required.
func (reg *registry) structSchema(t reflect.Type) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous {
			reg.errs = append(reg.errs, fmt.Errorf("openapi: %s embeds %s: not described", t, f.Type))
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.Properties[name] = reg.goType(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			s.Required = append(s.Required, name)
		}
	}
	return s
}
