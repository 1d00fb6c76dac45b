package admin

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an admin API failure with the HTTP status that says what kind.
type Error struct {
	Status int    // http.StatusNotFound, ...
	Msg    string // for the operator
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Sentinels a client tests with errors.Is.
var (
	ErrUnauthorized = errors.New("admin: wrong or missing credentials")
	ErrForbidden    = errors.New("admin: this user may only read")
	ErrNotFound     = errors.New("admin: not found")
	ErrBadRequest   = errors.New("admin: bad request")
	ErrConflict     = errors.New("admin: conflict")
)

// sentinel maps an HTTP status to the error a client wraps.
func sentinel(status int) error {
	switch status {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusConflict:
		return ErrConflict
	}
	return nil
}
