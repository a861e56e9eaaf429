package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
)

func init() {
	// Validation errors name fields as clients write them.
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || name == "" {
				return f.Name
			}
			return name
		})
	}
}

// bind decodes a JSON body into v and validates it: 415 for another
// content type, 413 past the size limit, 400 for malformed JSON, 422 for
// invalid fields.
func bind(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return newProblem(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var maxBytes *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &maxBytes):
			return err
		case errors.Is(err, io.EOF):
			return badRequest("the request body is empty; send a JSON object")
		case errors.As(err, &syntax):
			return badRequest("malformed JSON at byte %d", syntax.Offset)
		case errors.As(err, &typ):
			if typ.Field != "" {
				return invalidField(typ.Field, "must be a JSON "+jsonKind(typ.Type))
			}
			return badRequest("the body must be a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("malformed JSON: the body ends too early")
		default:
			return badRequest("malformed JSON")
		}
	}
	if dec.More() {
		return badRequest("malformed JSON: more than one value in the body")
	}
	if err := binding.Validator.ValidateStruct(v); err != nil {
		return err
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	default:
		return t.String()
	}
}
