// Package httpjson holds the JSON answers and request decoding that the
// feature APIs share, so that they all answer errors in one shape:
// {"error": "<text>"}.
package httpjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// MaxBody is the most of a JSON request body Decode reads.
const MaxBody = 1 << 20

// Write answers v as JSON with status code.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Error answers {"error": err} with status code.
func Error(w http.ResponseWriter, code int, err error) {
	Write(w, code, map[string]string{"error": err.Error()})
}

// Decode reads one JSON value from the first MaxBody bytes of r's body into
// v; a longer body reads as cut off.
func Decode(r *http.Request, v any) error {
	return DecodeFrom(io.LimitReader(r.Body, MaxBody), v)
}

// DecodeFrom reads one JSON value from body, which the caller limits, into v.
// Unknown fields are an error so that a misspelt field is not silently lost.
func DecodeFrom(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

// PathID parses the {id} path value; when it is no integer it answers 400
// with the error text bad and ok is false.
func PathID(w http.ResponseWriter, r *http.Request, bad string) (id int64, ok bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		Error(w, http.StatusBadRequest, errors.New(bad))
		return 0, false
	}
	return id, true
}

// DeleteByID serves DELETE …/{id} with del, which reports whether a row had
// that id. It answers 400 for a bad id, 500 when del fails and 404
// "no such <what>" when nothing was deleted; on true the caller answers.
func DeleteByID(w http.ResponseWriter, r *http.Request, what string, del func(context.Context, int64) (bool, error)) bool {
	id, ok := PathID(w, r, "bad id")
	if !ok {
		return false
	}
	ok, err := del(r.Context(), id)
	if err != nil {
		Error(w, http.StatusInternalServerError, err)
		return false
	}
	if !ok {
		Error(w, http.StatusNotFound, errors.New("no such "+what))
		return false
	}
	return true
}
