package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStateRoundTripAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, User{Username: "admin", PasswordHash: "h", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, User{Username: "admin", PasswordHash: "h2", Role: "admin"}); err == nil {
		t.Error("duplicate user accepted")
	}
	tok := Token{ID: "t1", Name: "ci", Kind: "api", SecretHash: "abc", CreatedAt: time.Now()}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, Session{IDHash: "gone", Username: "admin", CSRF: "c", ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session returned: %v", err)
	}
	if err := s.SetSetting(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("users after reopen = %d", n)
	}
	if got, err := s.TokenBySecretHash(ctx, "abc"); err != nil || got.Name != "ci" {
		t.Errorf("token after reopen: %+v %v", got, err)
	}
	if v, _ := s.GetSetting(ctx, "k"); v != "v2" {
		t.Errorf("setting = %q", v)
	}
	if err := s.DeleteToken(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "t1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
