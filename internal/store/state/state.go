// Package state keeps vigil's own records (users, sessions, API tokens, settings)
// in an embedded SQLite database.
package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Store is the SQLite-backed state store.
type Store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS users (
	username      TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL DEFAULT 'admin',
	created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	id_hash    TEXT PRIMARY KEY,
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	secret_hash  TEXT NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`

// Open opens (creating if needed) the state database in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	dsn := "file:" + filepath.Join(dir, "vigil.db") +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state db: %w", err)
	}
	// SQLite allows one writer; a single connection avoids SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create state schema: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB is the shared SQLite handle. Feature areas (monitors, security, automation)
// keep their own tables in it, created by their own packages with
// CREATE TABLE IF NOT EXISTS and prefixed with the area's name. It has a single
// connection: never hold a transaction or a Rows open while calling out.
func (s *Store) DB() *sql.DB { return s.db }

// User is an account that can log in to the UI.
type User struct {
	Username     string
	PasswordHash string
	Role         string
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateUser inserts a user.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(username, password_hash, role, created_at) VALUES(?,?,?,?)`,
		u.Username, u.PasswordHash, u.Role, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return nil
}

// GetUser returns a user by name.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	u := User{Username: username}
	err := s.db.QueryRowContext(ctx, `SELECT password_hash, role FROM users WHERE username=?`, username).
		Scan(&u.PasswordHash, &u.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %q: %w", username, err)
	}
	return u, nil
}

// Session is a logged-in browser session. The id itself is never stored, only its hash.
type Session struct {
	IDHash    string
	Username  string
	CSRF      string
	ExpiresAt time.Time
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions(id_hash, username, csrf, expires_at) VALUES(?,?,?,?)`,
		sess.IDHash, sess.Username, sess.CSRF, sess.ExpiresAt.Unix())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns an unexpired session by id hash.
func (s *Store) GetSession(ctx context.Context, idHash string) (Session, error) {
	sess := Session{IDHash: idHash}
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT username, csrf, expires_at FROM sessions WHERE id_hash=? AND expires_at>?`,
		idHash, time.Now().Unix()).Scan(&sess.Username, &sess.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	sess.ExpiresAt = time.Unix(exp, 0)
	return sess, nil
}

// DeleteSession removes a session (logout).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash=?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at<=?`, time.Now().Unix()); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// Token is an API token for agents and scripts. Only the secret's hash is stored.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	SecretHash string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens(id, name, kind, secret_hash, created_at) VALUES(?,?,?,?,?)`,
		t.ID, t.Name, t.Kind, t.SecretHash, t.CreatedAt.Unix())
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// TokenBySecretHash finds a token by the hash of its secret.
func (s *Store) TokenBySecretHash(ctx context.Context, h string) (Token, error) {
	t := Token{SecretHash: h}
	var created, used int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, kind, created_at, last_used_at FROM tokens WHERE secret_hash=?`, h).
		Scan(&t.ID, &t.Name, &t.Kind, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("get token: %w", err)
	}
	t.CreatedAt, t.LastUsedAt = time.Unix(created, 0), time.Unix(used, 0)
	return t, nil
}

// TouchToken records that a token was used.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at=? WHERE id=?`, at.Unix(), id); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// ListTokens returns all tokens without their secrets.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, kind, created_at, last_used_at FROM tokens ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var created, used int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Kind, &created, &used); err != nil {
			return nil, fmt.Errorf("scan token: %w", err)
		}
		t.CreatedAt, t.LastUsedAt = time.Unix(created, 0), time.Unix(used, 0)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken removes a token.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE id=?`, id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// GetSetting returns a setting's value.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting's value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}
