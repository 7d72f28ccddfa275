package vault_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/vault"
	"github.com/accord-dev/accord/internal/vault/vaulttest"
	"github.com/jackc/pgx/v5"
)

// postgresURL returns the test database's URL, skipping the test when none is set.
// When one is set and the server cannot be reached, the test fails: CI sets it and
// must not pass without running these tests.
func postgresURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ACCORD_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ACCORD_TEST_POSTGRES_URL is not set; set it (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the Postgres vault tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("ACCORD_TEST_POSTGRES_URL is set but the server cannot be reached: %v", err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return url
}

// postgresSchemas gives each test store a schema of its own under a prefix unique to
// this run, and drops every schema of the run when t ends.
func postgresSchemas(t *testing.T, url string) func(name string) string {
	t.Helper()
	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("vt_%x_", run)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("connecting to drop the test schemas: %v", err)
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, prefix)
		if err != nil {
			t.Errorf("listing the test schemas: %v", err)
			return
		}
		schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("listing the test schemas: %v", err)
			return
		}
		for _, s := range schemas {
			if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("dropping schema %s: %v", s, err)
			}
		}
	})
	return func(name string) string {
		return fmt.Sprintf("%s%x", prefix, sha256.Sum256([]byte(name)))[:len(prefix)+16]
	}
}

func TestPostgresConformance(t *testing.T) {
	url := postgresURL(t)
	schema := postgresSchemas(t, url)
	vaulttest.Run(t, func(t testing.TB, name string) vault.Store {
		t.Helper()
		s, err := vault.OpenPostgres(context.Background(), url, vault.PostgresOptions{Schema: schema(name)})
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		return s
	})
}

// postgresVaults returns a function that opens a vault on the Postgres store in
// schema, with one master key for every call, as processes sharing the store have.
// The caller closes each vault.
func postgresVaults(t *testing.T, url, schema string, ttl time.Duration) func() *vault.Vault {
	t.Helper()
	master := make([]byte, vault.MasterKeyLen)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	return func() *vault.Vault {
		t.Helper()
		s, err := vault.OpenPostgres(context.Background(), url, vault.PostgresOptions{Schema: schema})
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		v, err := vault.New(context.Background(), s, vault.Options{MasterKey: master, CacheTTL: ttl})
		if err != nil {
			t.Fatalf("vault.New: %v", err)
		}
		return v
	}
}

// TestPostgresForgetReachesOtherProcesses shows that a forget made by one process is
// seen by another at once through NOTIFY, long before the other's cache TTL (an hour
// here) would expire.
func TestPostgresForgetReachesOtherProcesses(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	openVault := postgresVaults(t, url, postgresSchemas(t, url)("notify"), time.Hour)
	open := func() *vault.Vault {
		v := openVault()
		t.Cleanup(func() {
			if err := v.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return v
	}
	collector, admin := open(), open()
	before, err := collector.Tokenize(ctx, "shop-a", "kim@example.com", "kim@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := collector.Stats(ctx); err != nil || st.CachedKeys != 1 {
		t.Fatalf("collector caches %d keys (%v), want 1", st.CachedKeys, err)
	}
	if _, err := admin.Forget(ctx, "test", "kim@example.com", "shop-a"); err != nil {
		t.Fatal(err)
	}
	// Wait for the notification (the test's own deadline bounds the wait).
	for {
		st, err := collector.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.CachedKeys == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	after, err := collector.Tokenize(ctx, "shop-a", "kim@example.com", "kim@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Errorf("after a forget in another process, the collector still issues the old token")
	}
}

// TestPostgresUpgradesSchemaV1 opens tables of schema version 1 (no token_version
// column): the keys they hold are marked as keys of version 1 tokens, which they keep
// issuing, while new keys issue version 2 tokens. The version 1 tables are made by
// taking the column out of a new store, so its one key stands for a key made before.
func TestPostgresUpgradesSchemaV1(t *testing.T) {
	url := postgresURL(t)
	schema := postgresSchemas(t, url)("upgrade")
	ctx := context.Background()
	open := postgresVaults(t, url, schema, 0)
	tokenize := func(v *vault.Vault, subject string) (string, byte) {
		t.Helper()
		tok, err := v.Tokenize(ctx, "shop-a", subject, subject)
		if err != nil {
			t.Fatal(err)
		}
		p, err := vault.ParseToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		return tok, p.Version
	}
	v := open()
	if _, version := tokenize(v, "old@example.com"); version != 2 {
		t.Fatalf("a new store issued a version %d token, want 2", version)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`ALTER TABLE ` + pgx.Identifier{schema, "keys"}.Sanitize() + ` DROP COLUMN token_version`,
		`UPDATE ` + pgx.Identifier{schema, "meta"}.Sanitize() + ` SET value = '1' WHERE name = 'schema_version'`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}

	v = open()
	defer v.Close()
	old, version := tokenize(v, "old@example.com")
	if version != 1 {
		t.Errorf("a key of schema version 1 issued a version %d token, want 1", version)
	}
	fresh, version := tokenize(v, "new@example.com")
	if version != 2 {
		t.Errorf("a new key after the upgrade issued a version %d token, want 2", version)
	}
	res, err := v.Detokenize(ctx, "test", []string{old, fresh})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Value != "old@example.com" || res[1].Value != "new@example.com" {
		t.Errorf("detokenize after the upgrade = %+v", res)
	}
	var got []byte
	if err := conn.QueryRow(ctx, `SELECT value FROM `+pgx.Identifier{schema, "meta"}.Sanitize()+` WHERE name = 'schema_version'`).Scan(&got); err != nil || string(got) != "2" {
		t.Errorf("schema_version after the upgrade = %q, %v; want 2", got, err)
	}
}
