package sql_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/codegen/sql"
)

// pgConn connects to the server in ACCORD_TEST_POSTGRES_URL and creates a fresh
// schema, dropped when the test ends; the connection's search_path is that schema.
func pgConn(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	url := os.Getenv("ACCORD_TEST_POSTGRES_URL")
	if url == "" {
		codegentest.Missing(t, "ACCORD_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("ACCORD_TEST_POSTGRES_URL is set but the server is unreachable: %v", err)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	schema := "accord_codegen_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema+"; SET search_path TO "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		if err := conn.Close(ctx); err != nil {
			t.Errorf("closing: %v", err)
		}
	})
	return conn, schema
}

func exec(t *testing.T, conn *pgx.Conn, ddl []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, string(ddl)); err != nil {
		t.Fatalf("applying DDL: %v\n%s", err, ddl)
	}
}

// pgColumn is a column as the server reports it.
type pgColumn struct {
	Table, Column, Type string
	Nullable            bool
	Comment             string
}

func describe(t *testing.T, conn *pgx.Conn, schema string) []pgColumn {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod), c.is_nullable = 'YES',
		       coalesce(col_description(a.attrelid, a.attnum), '')
		FROM information_schema.columns c
		JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
		                   AND a.attname = c.column_name
		WHERE c.table_schema = $1
		ORDER BY c.table_name, c.column_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []pgColumn
	for rows.Next() {
		var c pgColumn
		if err := rows.Scan(&c.Table, &c.Column, &c.Type, &c.Nullable, &c.Comment); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPostgresCreate applies the DDL of every golden case to a real server and
// checks the tables it reports against the IR: every column with its type,
// nullability and comment, and event_id as primary key.
func TestPostgresCreate(t *testing.T) {
	cases, err := filepath.Glob("../testdata/*/contracts")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(filepath.Dir(dir)), func(t *testing.T) {
			conn, schema := pgConn(t)
			reg := codegentest.Load(t, dir)
			ddl, err := sql.Create(reg, sql.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, conn, ddl)
			// Applying it twice is harmless: CREATE TABLE IF NOT EXISTS.
			exec(t, conn, ddl)
			got := describe(t, conn, schema)
			var want []pgColumn
			for _, m := range reg.Models {
				for _, c := range m.Table.Columns {
					want = append(want, pgColumn{Table: m.Table.Name, Column: c.Name, Type: pgType(c), Nullable: c.Nullable, Comment: sql.CommentText(c)})
				}
			}
			sortColumns(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			for _, m := range reg.Models {
				var pk string
				err := conn.QueryRow(context.Background(), `
					SELECT a.attname FROM pg_index i
					JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
					WHERE i.indrelid = $1::regclass AND i.indisprimary`, schema+"."+m.Table.Name).Scan(&pk)
				if err != nil || pk != ir.ColEventID {
					t.Errorf("%s: primary key %q (%v), want event_id", m.Table.Name, pk, err)
				}
			}
		})
	}
}

// pgType is the type PostgreSQL reports for a column, per the mapping in docs/codegen.md.
func pgType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "text"
	case ir.Int64:
		return "bigint"
	case ir.Float64:
		return "double precision"
	case ir.Bool:
		return "boolean"
	case ir.Timestamp:
		return "timestamp with time zone"
	case ir.Date:
		return "date"
	case ir.List:
		switch c.Elem.Type {
		case ir.Record, ir.List, ir.JSON:
			return "jsonb"
		}
		return pgType(c.Elem) + "[]"
	}
	return "jsonb"
}

func sortColumns(cols []pgColumn) {
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && (cols[j].Table < cols[j-1].Table || cols[j].Table == cols[j-1].Table && cols[j].Column < cols[j-1].Column); j-- {
			cols[j], cols[j-1] = cols[j-1], cols[j]
		}
	}
}

// atLayout is the registry's tables as an Accord of envelope layout n created
// them.
func atLayout(reg *ir.Registry, n int) *ir.Registry {
	out := &ir.Registry{}
	for _, m := range reg.Models {
		c := *m
		c.Table = m.Table.AtLayout(n)
		out.Models = append(out.Models, &c)
	}
	return out
}

// TestPostgresMigration applies the base DDL, inserts a row, then applies the
// migration to the new registry: the tables must end up exactly as the new
// registry's own DDL creates them, with the old row still there. model_bump adds a
// column and a MODEL; nested_add adds fields inside records (jsonb here), which
// only changes comments. The base tables are created as the current envelope
// layout makes them and as the first layout made them (before true_timestamp
// and source_tracker): the migration adds the later envelope columns to the
// latter and leaves the former as they are.
func TestPostgresMigration(t *testing.T) {
	for _, layout := range []int{ir.EnvelopeLayout, 1} {
		t.Run(fmt.Sprintf("layout=%d", layout), func(t *testing.T) { testPostgresMigration(t, layout) })
	}
}

func testPostgresMigration(t *testing.T, layout int) {
	for _, tc := range []struct {
		name, insert, check string
	}{
		{"model_bump", `INSERT INTO com_acme_signup_1 (event_id, contract_version, event_time, received_at, source_protocol, source_collector, shop_id, email, plan, profile)
		VALUES ('e1', '1-0-0', now(), now(), 'native', 'test', 'shop_1', 'tok_1', 'free', '{"company": "Acme"}')`,
			"SELECT count(*) FROM com_acme_signup_1 WHERE referrer IS NULL"},
		{"nested_add", `INSERT INTO com_acme_account_updated_1 (event_id, contract_version, event_time, received_at, source_protocol, source_collector, account_id, settings, addresses)
		VALUES ('e1', '1-0-0', now(), now(), 'native', 'test', 'a_1', '{"theme": "dark"}', '[{"city": "Leeds"}]')`,
			"SELECT count(*) FROM com_acme_account_updated_1 WHERE referrer IS NULL AND settings->>'theme' = 'dark'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := codegentest.Load(t, "../testdata/"+tc.name+"/base")
			next := codegentest.Load(t, "../testdata/"+tc.name+"/contracts")

			migrated, migratedSchema := pgConn(t)
			ddl, err := sql.Create(atLayout(base, layout), sql.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, migrated, ddl)
			exec(t, migrated, []byte(tc.insert))
			mig := migration(t, base, next)
			exec(t, migrated, mig)
			// A migration is idempotent too.
			exec(t, migrated, mig)

			fresh, freshSchema := pgConn(t)
			ddl, err = sql.Create(next, sql.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, fresh, ddl)
			if diff := cmp.Diff(describe(t, fresh, freshSchema), describe(t, migrated, migratedSchema)); diff != "" {
				t.Errorf("migrated tables differ from freshly created ones (-fresh +migrated):\n%s", diff)
			}
			var n int
			if err := migrated.QueryRow(context.Background(), tc.check).Scan(&n); err != nil || n != 1 {
				t.Errorf("old row after migration: %d rows, %v", n, err)
			}
		})
	}
}

// migration is the PostgreSQL migration from base to next, which is one file.
func migration(t testing.TB, base, next *ir.Registry) []byte {
	t.Helper()
	files, err := sql.Migrate(base, next, sql.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files["postgres.migration.sql"] == nil {
		t.Fatalf("migration files %v, want postgres.migration.sql only", slices.Collect(maps.Keys(files)))
	}
	return files["postgres.migration.sql"]
}

// TestPostgresWidening migrates the refused case's tables where PostgreSQL can:
// the type widenings (integer to float, timestamp to text) apply on a real server
// with data in the table.
func TestPostgresWidening(t *testing.T) {
	base := codegentest.Load(t, "../testdata/refused/base")
	next := codegentest.Load(t, "../testdata/refused/contracts")
	if _, err := sql.Migrate(base, next, sql.Postgres); err == nil {
		t.Fatal("migrating order_id from string to object: no error, want a refusal")
	}
	// Without the refused column, the rest applies.
	for _, m := range next.Models {
		for _, c := range m.Table.Columns {
			if c.JSONName == "order_id" {
				c.Type = ir.String
			}
		}
	}
	mig := migration(t, base, next)
	conn, _ := pgConn(t)
	ddl, err := sql.Create(base, sql.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, conn, ddl)
	exec(t, conn, []byte(`INSERT INTO com_acme_order_1 (event_id, contract_version, event_time, received_at, source_protocol, source_collector, order_id, total, placed_at)
		VALUES ('e1', '1-0-0', now(), now(), 'native', 'test', 'o_1', 1299, '2025-03-01T12:30:00Z')`))
	exec(t, conn, mig)
	var total float64
	var placed string
	if err := conn.QueryRow(context.Background(), "SELECT total, placed_at FROM com_acme_order_1").Scan(&total, &placed); err != nil {
		t.Fatal(err)
	}
	if total != 1299 || placed != "2025-03-01T12:30:00.000000Z" {
		t.Errorf("after widening: total %v, placed_at %q", total, placed)
	}
}
