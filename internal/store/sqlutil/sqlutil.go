// Package sqlutil holds the few row operations the SQLite-backed services
// repeat: storing a row, deleting one by id and reading a column of text.
package sqlutil

import (
	"context"
	"database/sql"
	"fmt"
)

// Insert runs query (an INSERT) and returns the new row's id; what names the
// row in the error.
func Insert(ctx context.Context, db *sql.DB, what, query string, args ...any) (int64, error) {
	r, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", what, err)
	}
	return r.LastInsertId()
}

// Delete runs query (a DELETE) and reports whether it removed a row; what
// names the row in the error.
func Delete(ctx context.Context, db *sql.DB, what, query string, args ...any) (bool, error) {
	r, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", what, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// Strings reads the single text column of rows to the end and closes them,
// so that the caller may query again before it works through the values (a
// database with one connection would wait on the open rows otherwise).
func Strings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
