package httpjson

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestError(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, http.StatusTeapot, errors.New(`boom "x"`))
	if rec.Code != http.StatusTeapot {
		t.Fatalf("code %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	if got, want := rec.Body.String(), `{"error":"boom \"x\""}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

func TestDecode(t *testing.T) {
	var v struct {
		A int `json:"a"`
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"a":3}`))
	if err := Decode(r, &v); err != nil || v.A != 3 {
		t.Fatalf("decode: %v, %+v", err, v)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{"b":1}`))
	if err := Decode(r, &v); err == nil || !strings.HasPrefix(err.Error(), "bad JSON body: ") || !strings.Contains(err.Error(), `unknown field "b"`) {
		t.Fatalf("unknown field: %v", err)
	}
	// A body past MaxBody is cut off, not read on.
	long := `{"a":` + strings.Repeat(" ", MaxBody) + `1}`
	r = httptest.NewRequest("POST", "/", strings.NewReader(long))
	if err := Decode(r, &v); err == nil {
		t.Fatal("oversized body decoded")
	}
}

func TestDeleteByID(t *testing.T) {
	del := func(_ context.Context, id int64) (bool, error) {
		if id == 9 {
			return false, errors.New("db down")
		}
		return id == 1, nil
	}
	for _, c := range []struct {
		id   string
		ok   bool
		code int
		body string
	}{
		{"1", true, http.StatusOK, ""},
		{"2", false, http.StatusNotFound, `{"error":"no such thing"}` + "\n"},
		{"x", false, http.StatusBadRequest, `{"error":"bad id"}` + "\n"},
		{"9", false, http.StatusInternalServerError, `{"error":"db down"}` + "\n"},
	} {
		r := httptest.NewRequest("DELETE", "/things/"+c.id, nil)
		r.SetPathValue("id", c.id)
		rec := httptest.NewRecorder()
		if ok := DeleteByID(rec, r, "thing", del); ok != c.ok || rec.Code != c.code || rec.Body.String() != c.body {
			t.Errorf("id %s: ok %v code %d body %q", c.id, ok, rec.Code, rec.Body.String())
		}
	}
}
