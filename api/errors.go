package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Error codes of the API, each with its HTTP status.
const (
	CodeInvalid      = "invalid"      // 400
	CodeUnauthorized = "unauthorized" // 401
	CodeForbidden    = "forbidden"    // 403
	CodeNotFound     = "not_found"    // 404
	CodeConflict     = "conflict"     // 409
	CodeGone         = "gone"         // 410
	CodeInternal     = "internal"     // 500
	CodeNoLeader     = "no_leader"    // 503: nothing was applied; safe to retry
	// CodeOutcomeUnknown: the leader was lost while a write was being
	// committed; it may or may not have been applied (retry conditional
	// writes, or read before retrying others).
	CodeOutcomeUnknown = "outcome_unknown" // 503
)

var codeStatus = map[string]int{
	CodeInvalid:      http.StatusBadRequest,
	CodeUnauthorized: http.StatusUnauthorized,
	CodeForbidden:    http.StatusForbidden,
	CodeNotFound:     http.StatusNotFound,
	CodeConflict:     http.StatusConflict,
	CodeGone:         http.StatusGone,
	CodeInternal:     http.StatusInternalServerError,
	CodeNoLeader:     http.StatusServiceUnavailable,
}

// Sentinels for errors.Is: an *Error matches one of these when the codes
// are equal, whatever its message.
var (
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrGone         = &Error{Code: CodeGone}
	ErrInternal     = &Error{Code: CodeInternal}
	ErrNoLeader     = &Error{Code: CodeNoLeader}
)

// Error is the API's error answer:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
// Status is the HTTP status it travels with; zero means the code's own.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Status  int    `json:"-"`
}

// Error returns the message, prefixed by the field when the message does not
// already name it.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code
	}
	if e.Field == "" || strings.HasPrefix(msg, e.Field+": ") {
		return msg
	}
	return e.Field + ": " + msg
}

// Is matches the sentinels (ErrNotFound, ...) by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// HTTPStatus is Status, or the status that goes with Code.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	if e.Code == CodeOutcomeUnknown {
		// Not in codeStatus: a bare 503 decodes as no_leader.
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// StatusForCode is the HTTP status of an error code (500 if unknown).
func StatusForCode(code string) int {
	return (&Error{Code: code}).HTTPStatus()
}

// CodeForStatus is the error code of an HTTP status, for answers that carry
// no error body (a proxy's 502, a bare 404).
func CodeForStatus(status int) string {
	for code, s := range codeStatus {
		if s == status {
			return code
		}
	}
	switch {
	case status >= 500:
		return CodeInternal
	case status >= 400:
		return CodeInvalid
	}
	return CodeInternal
}

type errorBody struct {
	Error *Error `json:"error"`
}

// WriteError writes e as the JSON error body with its status.
func WriteError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.HTTPStatus())
	// Messages quote what users wrote ("must be >= 0"); keep them readable.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(errorBody{Error: e})
}

// DecodeError turns a non-2xx answer into an *Error. A body that is not our
// error form (a proxy's page, plain text) becomes the message, so the user
// still sees what the other end said.
func DecodeError(status int, body []byte) *Error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error != nil && eb.Error.Code != "" {
		eb.Error.Status = status
		return eb.Error
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg == "" {
		msg = "HTTP status " + strconv.Itoa(status)
	}
	return &Error{Code: CodeForStatus(status), Message: msg, Status: status}
}
