package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteAndDecodeError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Code: CodeInvalid, Message: "must be >= 0", Field: "update.maxSurge"})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", rec.Code)
	}
	want := `{"error":{"code":"invalid","message":"must be >= 0","field":"update.maxSurge"}}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body = %q, want %q", rec.Body.String(), want)
	}
	e := DecodeError(rec.Code, rec.Body.Bytes())
	if e.Code != CodeInvalid || e.Field != "update.maxSurge" || e.Status != 400 {
		t.Errorf("DecodeError = %+v", e)
	}
	if got := e.Error(); got != "update.maxSurge: must be >= 0" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("apply hello: %w", e)
	if !errors.Is(wrapped, ErrInvalid) || errors.Is(wrapped, ErrNotFound) {
		t.Error("errors.Is does not match by code")
	}
}

func TestDecodeErrorForeignBodies(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		wantCode string
		wantMsg  string
	}{
		{404, "", CodeNotFound, "Not Found"},
		{502, "<html>bad gateway</html>", CodeInternal, "<html>bad gateway</html>"},
		{503, `{"error":{"code":"no_leader","message":"no leader"}}`, CodeNoLeader, "no leader"},
		{409, `{"other":1}`, CodeConflict, `{"other":1}`},
		{418, "", CodeInvalid, "I'm a teapot"},
	}
	for _, tt := range tests {
		e := DecodeError(tt.status, []byte(tt.body))
		if e.Code != tt.wantCode || e.Message != tt.wantMsg || e.Status != tt.status {
			t.Errorf("DecodeError(%d, %q) = %+v, want code %s message %q", tt.status, tt.body, e, tt.wantCode, tt.wantMsg)
		}
	}
}

func TestErrorMessageNotDoublePrefixed(t *testing.T) {
	e := &Error{Code: CodeInvalid, Field: "replicas", Message: "replicas: required"}
	if e.Error() != "replicas: required" {
		t.Errorf("Error() = %q", e.Error())
	}
	for code, status := range codeStatus {
		if StatusForCode(code) != status || CodeForStatus(status) != code {
			t.Errorf("code %s and status %d do not map both ways", code, status)
		}
	}
}
