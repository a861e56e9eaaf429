package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
)

// Problem is an RFC 9457 problem: every error the API answers with.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid request field.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// problemTypes are the problem kinds; each maps to one status and title, here only.
var problemTypes = map[int]struct{ slug, title string }{
	http.StatusBadRequest:            {"bad-request", "Bad request"},
	http.StatusUnauthorized:          {"unauthorized", "Unauthorized"},
	http.StatusForbidden:             {"forbidden", "Forbidden"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request body too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"invalid", "Unprocessable request"},
	http.StatusTooManyRequests:       {"rate-limited", "Too many requests"},
	http.StatusInternalServerError:   {"internal", "Internal server error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
}

// problemTypeBase prefixes every problem type; the pages behind it are the
// API reference.
const problemTypeBase = "https://omnichat.dev/problems/"

func newProblem(status int, detail string) *Problem {
	t, ok := problemTypes[status]
	if !ok {
		t = problemTypes[http.StatusInternalServerError]
	}
	return &Problem{Type: problemTypeBase + t.slug, Title: t.title, Status: status, Detail: detail}
}

func badRequest(format string, args ...any) *Problem {
	return newProblem(http.StatusBadRequest, fmt.Sprintf(format, args...))
}
func unauthorized(detail string) *Problem { return newProblem(http.StatusUnauthorized, detail) }
func forbidden(detail string) *Problem    { return newProblem(http.StatusForbidden, detail) }
func notFound(what string) *Problem       { return newProblem(http.StatusNotFound, what+" not found") }
func conflict(detail string) *Problem     { return newProblem(http.StatusConflict, detail) }
func unavailable(detail string) *Problem  { return newProblem(http.StatusServiceUnavailable, detail) }

// invalid is a 422 listing the fields at fault.
func invalid(errs ...FieldError) *Problem {
	p := newProblem(http.StatusUnprocessableEntity, "the request has invalid fields")
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Reason
	}
	p.Errors = errs
	return p
}

func invalidField(field, reason string) *Problem { return invalid(FieldError{field, reason}) }

// writeProblem answers with p.
func writeProblem(c *gin.Context, p *Problem) {
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(p.Status, p)
}

// fail answers with the problem err stands for. Errors that are not
// problems are logged and answered as a bare 500: internal detail never
// reaches the client.
func (s *Server) fail(c *gin.Context, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		p = s.classify(c, err)
	}
	writeProblem(c, p)
}

// classify turns an error from a lower layer into a problem.
func (s *Server) classify(c *gin.Context, err error) *Problem {
	var maxBytes *http.MaxBytesError
	var verrs validator.ValidationErrors
	switch {
	case errors.As(err, &maxBytes):
		return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBytes.Limit))
	case errors.As(err, &verrs):
		fields := make([]FieldError, 0, len(verrs))
		for _, fe := range verrs {
			fields = append(fields, FieldError{Field: fe.Field(), Reason: validationReason(fe)})
		}
		return invalid(fields...)
	case c.Request.Context().Err() != nil:
		return newProblem(http.StatusServiceUnavailable, "the request was cancelled")
	}
	s.log.Error("request failed", "route", c.FullPath(), "method", c.Request.Method, "err", err)
	return newProblem(http.StatusInternalServerError, "something went wrong on our side; it has been logged")
}

func validationReason(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be an e-mail address"
	case "min":
		return "must be at least " + fe.Param() + " long"
	case "max":
		return "must be at most " + fe.Param() + " long"
	case "oneof":
		return "must be one of: " + fe.Param()
	case "uuid":
		return "must be an id"
	default:
		return "is invalid (" + fe.Tag() + ")"
	}
}

// noRoute answers unknown paths with a problem rather than gin's text 404.
func noRoute(c *gin.Context) { writeProblem(c, newProblem(http.StatusNotFound, "no such route")) }

func noMethod(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusMethodNotAllowed, "the route does not take "+c.Request.Method))
}
