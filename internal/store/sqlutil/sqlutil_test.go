package sqlutil

import (
	"context"
	"slices"
	"strings"
	"testing"

	"vigil/internal/store/state"
)

func TestRows(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, v := range []string{"a", "b"} {
		id, err := Insert(ctx, db, "thing", `INSERT INTO t (v) VALUES (?)`, v)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Fatalf("ids %v", ids)
	}
	if _, err := Insert(ctx, db, "thing", `INSERT INTO nope (v) VALUES (?)`, "x"); err == nil || !strings.HasPrefix(err.Error(), "store thing: ") {
		t.Fatalf("insert into a missing table: %v", err)
	}

	rows, err := db.QueryContext(ctx, `SELECT v FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Strings(rows)
	if err != nil || !slices.Equal(vs, []string{"a", "b"}) {
		t.Fatalf("strings %v, %v", vs, err)
	}

	// The rows are closed: with its single connection the database takes
	// another statement.
	if ok, err := Delete(ctx, db, "thing", `DELETE FROM t WHERE id = ?`, ids[0]); err != nil || !ok {
		t.Fatalf("delete: %v, %v", ok, err)
	}
	if ok, err := Delete(ctx, db, "thing", `DELETE FROM t WHERE id = ?`, ids[0]); err != nil || ok {
		t.Fatalf("delete again: %v, %v", ok, err)
	}
	if _, err := Delete(ctx, db, "thing", `DELETE FROM nope WHERE id = ?`, 1); err == nil || !strings.HasPrefix(err.Error(), "delete thing: ") {
		t.Fatalf("delete from a missing table: %v", err)
	}
}
