// Package auth handles users, browser sessions, API tokens and the HTTP
// middleware that enforces them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vigil/internal/store/state"
)

// Token kinds: agent tokens may only ingest; api tokens may do what a user can.
const (
	KindAgent = "agent"
	KindAPI   = "api"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "vigil_session"

// ErrBadCredentials is returned for a wrong user name or password.
var ErrBadCredentials = errors.New("invalid username or password")

// Principal is who a request acts as.
type Principal struct {
	User string // user name, or token name for tokens
	Kind string // "session", KindAgent or KindAPI
	CSRF string // session CSRF token, empty for tokens
}

type ctxKey struct{}

// FromContext returns the request's principal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Service implements authentication on top of the state store.
type Service struct {
	Store      *state.Store
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure (set when serving TLS or behind a TLS proxy).
	SecureCookies bool
	Log           *slog.Logger
}

// RandomSecret returns n random bytes, URL-safe base64 encoded.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// EnsureAdmin creates the first admin when no user exists. When password is
// empty one is generated and returned so the caller can print it once.
func (s *Service) EnsureAdmin(ctx context.Context, username, password string) (generated string, err error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	if password == "" {
		password = RandomSecret(15)
		generated = password
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash admin password: %w", err)
	}
	if err := s.Store.CreateUser(ctx, state.User{Username: username, PasswordHash: string(hash), Role: "admin"}); err != nil {
		return "", err
	}
	return generated, nil
}

// Login checks credentials and opens a session; it returns the session id and CSRF token.
func (s *Service) Login(ctx context.Context, username, password string) (id, csrf string, err error) {
	u, err := s.Store.GetUser(ctx, username)
	if errors.Is(err, state.ErrNotFound) {
		// Spend the same time as a real comparison so user names cannot be probed by timing.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return "", "", ErrBadCredentials
	}
	if err != nil {
		return "", "", err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return "", "", ErrBadCredentials
	}
	id, csrf = RandomSecret(32), RandomSecret(24)
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	err = s.Store.CreateSession(ctx, state.Session{IDHash: hashSecret(id), Username: u.Username, CSRF: csrf, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		return "", "", err
	}
	return id, csrf, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, id string) error {
	return s.Store.DeleteSession(ctx, hashSecret(id))
}

// CreateToken makes a new API or agent token and returns its secret, shown once.
func (s *Service) CreateToken(ctx context.Context, name, kind string) (state.Token, string, error) {
	if kind != KindAgent && kind != KindAPI {
		return state.Token{}, "", fmt.Errorf("token kind must be %q or %q", KindAgent, KindAPI)
	}
	secret := "vgl_" + RandomSecret(30)
	return s.storeToken(ctx, name, kind, secret)
}

// EnsureToken registers a fixed secret (e.g. the agent token given by flag) if it is not known yet.
func (s *Service) EnsureToken(ctx context.Context, name, kind, secret string) error {
	if _, err := s.Store.TokenBySecretHash(ctx, hashSecret(secret)); err == nil {
		return nil
	}
	_, _, err := s.storeToken(ctx, name, kind, secret)
	return err
}

func (s *Service) storeToken(ctx context.Context, name, kind, secret string) (state.Token, string, error) {
	t := state.Token{ID: RandomSecret(9), Name: name, Kind: kind, SecretHash: hashSecret(secret), CreatedAt: time.Now()}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return state.Token{}, "", err
	}
	return t, secret, nil
}

var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not-a-password"), bcrypt.DefaultCost)
	return h
})

// authenticate finds the principal for a request, if any.
func (s *Service) authenticate(r *http.Request) (Principal, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			// Basic auth with the token as password lets clients that only know
			// basic auth (older promtool, some Grafana set-ups) use API tokens.
			_, secret, ok = r.BasicAuth()
		}
		if !ok || secret == "" {
			return Principal{}, false
		}
		t, err := s.Store.TokenBySecretHash(r.Context(), hashSecret(secret))
		if err != nil {
			if !errors.Is(err, state.ErrNotFound) {
				s.Log.Error("token lookup failed", "err", err)
			}
			return Principal{}, false
		}
		// Best-effort bookkeeping; at most one write a minute per token.
		if time.Since(t.LastUsedAt) > time.Minute {
			_ = s.Store.TouchToken(r.Context(), t.ID, time.Now())
		}
		return Principal{User: t.Name, Kind: t.Kind}, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, false
	}
	sess, err := s.Store.GetSession(r.Context(), hashSecret(c.Value))
	if err != nil {
		return Principal{}, false
	}
	return Principal{User: sess.Username, Kind: "session", CSRF: sess.CSRF}, true
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// Require wraps h so that only the allowed principal kinds reach it.
// Cookie-authenticated state-changing requests must carry the session's CSRF token.
func (s *Service) Require(h http.Handler, kinds ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		allowed := false
		for _, k := range kinds {
			if k == p.Kind {
				allowed = true
			}
		}
		if !allowed {
			http.Error(w, "this credential may not use this endpoint", http.StatusForbidden)
			return
		}
		if p.Kind == "session" && unsafeMethod(r.Method) &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(p.CSRF)) != 1 {
			http.Error(w, "missing or invalid CSRF token", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// SetSessionCookie writes the session cookie.
func (s *Service) SetSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode,
		MaxAge: int(s.sessionTTL().Seconds()),
	})
}

// ClearSessionCookie removes the session cookie.
func (s *Service) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (s *Service) sessionTTL() time.Duration {
	if s.SessionTTL <= 0 {
		return 12 * time.Hour
	}
	return s.SessionTTL
}
