package vault

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPostgresSchema is the schema the Postgres store uses unless told otherwise.
const DefaultPostgresSchema = "accord_vault"

// schemaPattern is what a schema name may look like: a plain lower-case identifier,
// short enough that the notification channel derived from it fits in 63 bytes.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// PostgresStore is the Store that many processes share: keys, sealed values,
// tombstones and the audit log live in tables of one schema, and a forget is
// broadcast with NOTIFY so that other processes drop the destroyed keys from their
// caches at once.
type PostgresStore struct {
	log     *slog.Logger
	pool    *pgxpool.Pool
	schema  string
	channel string
	q       queries
}

// queries are the store's statements with the schema filled in.
type queries struct {
	keyByPair, createKey, keyByIDAfterConflict, putMappings, mappings, isForgotten string
	lockKeysByPair, lockKeysBySubject, deleteTokens, deleteKeys, addTombstones     string
	appendAudit, audit, bindFingerprint, fingerprint, stats                        string
}

// PostgresOptions configure OpenPostgres.
type PostgresOptions struct {
	// Schema holds the store's tables; "" means DefaultPostgresSchema.
	Schema string
	// Log receives the forget listener's connection problems; nil discards them.
	Log *slog.Logger
}

// OpenPostgres connects to the database at url and creates the store's tables if they
// do not exist.
func OpenPostgres(ctx context.Context, url string, opts PostgresOptions) (*PostgresStore, error) {
	schema := cmpOr(opts.Schema, DefaultPostgresSchema)
	if !schemaPattern.MatchString(schema) {
		return nil, fmt.Errorf("postgres schema %q: want a lower-case identifier of at most 48 characters", schema)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("parsing the vault's postgres URL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to the vault's postgres database: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &PostgresStore{log: log, pool: pool, schema: schema, channel: schema + "_forget", q: newQueries(schema)}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func newQueries(schema string) queries {
	t := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	keys, tokens, forgotten, audit, meta := t("keys"), t("tokens"), t("forgotten"), t("audit"), t("meta")
	return queries{
		keyByPair: `SELECT id, wrapped, token_version FROM ` + keys + ` WHERE pair = $1`,
		createKey: `WITH ins AS (
			INSERT INTO ` + keys + ` (id, pair, subject, wrapped, token_version)
			SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM ` + forgotten + ` WHERE id = $1)
			ON CONFLICT DO NOTHING RETURNING 1)
			SELECT count(*) FROM ins`,
		keyByIDAfterConflict: `SELECT id, wrapped, token_version FROM ` + keys + ` WHERE pair = $1`,
		putMappings: `INSERT INTO ` + tokens + ` (key_id, mac, sealed)
			SELECT $1, u.mac, u.sealed FROM unnest($2::bytea[], $3::bytea[]) AS u(mac, sealed)
			ON CONFLICT DO NOTHING`,
		mappings: `SELECT k.pair, k.wrapped, k.token_version, t.mac, t.sealed FROM ` + keys + ` k
			LEFT JOIN ` + tokens + ` t ON t.key_id = k.id AND t.mac = ANY($2::bytea[])
			WHERE k.id = $1`,
		isForgotten:       `SELECT EXISTS (SELECT 1 FROM ` + forgotten + ` WHERE id = $1)`,
		lockKeysByPair:    `SELECT id FROM ` + keys + ` WHERE pair = $1 AND subject = $2 FOR UPDATE`,
		lockKeysBySubject: `SELECT id FROM ` + keys + ` WHERE subject = $1 FOR UPDATE`,
		deleteTokens:      `DELETE FROM ` + tokens + ` WHERE key_id = ANY($1::bytea[])`,
		deleteKeys:        `DELETE FROM ` + keys + ` WHERE id = ANY($1::bytea[])`,
		addTombstones:     `INSERT INTO ` + forgotten + ` (id) SELECT unnest($1::bytea[]) ON CONFLICT DO NOTHING`,
		appendAudit: `INSERT INTO ` + audit + ` (at, actor, action, controller, tokens, resolved, keys)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		audit: `SELECT seq, at, actor, action, controller, tokens, resolved, keys FROM ` + audit + `
			WHERE seq > $1 ORDER BY seq LIMIT $2`,
		bindFingerprint: `INSERT INTO ` + meta + ` (name, value) VALUES ('fingerprint', $1) ON CONFLICT DO NOTHING`,
		fingerprint:     `SELECT value FROM ` + meta + ` WHERE name = 'fingerprint'`,
		stats: `SELECT (SELECT count(*) FROM ` + keys + `), (SELECT count(*) FROM ` + tokens + `),
			(SELECT count(*) FROM ` + forgotten + `), (SELECT count(*) FROM ` + audit + `),
			pg_total_relation_size('` + keys + `') + pg_total_relation_size('` + tokens + `') +
			pg_total_relation_size('` + forgotten + `') + pg_total_relation_size('` + audit + `')`,
	}
}

// postgresSchemaVersion is the version of the tables migrate creates. Version 2 added
// keys.token_version: keys of version 1 tables issue version 1 tokens (the key id in
// clear) forever, so that their values keep their tokens; new keys issue version 2.
const postgresSchemaVersion = "2"

// migrate creates the schema's tables, or upgrades tables of version 1, unless they
// are at postgresSchemaVersion already, so that a process starting does not lock
// tables that others are using. The advisory lock keeps processes that start together
// from racing on CREATE.
func (s *PostgresStore) migrate(ctx context.Context) error {
	t := func(name string) string { return pgx.Identifier{s.schema, name}.Sanitize() }
	keys, audit, meta := t("keys"), t("audit"), t("meta")
	stmts := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.schema}.Sanitize(),
		`CREATE TABLE IF NOT EXISTS ` + meta + ` (name text PRIMARY KEY, value bytea NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + keys + ` (
			id bytea PRIMARY KEY, pair bytea NOT NULL UNIQUE, subject bytea NOT NULL, wrapped bytea NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS keys_subject ON ` + keys + ` (subject)`,
		`CREATE TABLE IF NOT EXISTS ` + t("tokens") + ` (
			key_id bytea NOT NULL REFERENCES ` + keys + ` (id) ON DELETE CASCADE,
			mac bytea NOT NULL, sealed bytea NOT NULL, PRIMARY KEY (key_id, mac))`,
		`CREATE TABLE IF NOT EXISTS ` + t("forgotten") + ` (id bytea PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS ` + audit + ` (
			seq bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,
			controller text NOT NULL, tokens integer NOT NULL, resolved integer NOT NULL, keys integer NOT NULL)`,
		// The audit log is append-only in the database itself, not only in this code.
		`CREATE OR REPLACE FUNCTION ` + t("audit_append_only") + `() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'the accord vault audit log is append-only'; END$$`,
		`DROP TRIGGER IF EXISTS audit_append_only ON ` + audit,
		`CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ` + audit + `
			FOR EACH STATEMENT EXECUTE FUNCTION ` + t("audit_append_only") + `()`,
	}
	// Version 1 to 2: rows that exist get 1 (adding a column with a constant default
	// rewrites no row); the store names the version of every key it inserts.
	upgrade := []string{
		`ALTER TABLE ` + keys + ` ADD COLUMN IF NOT EXISTS token_version smallint NOT NULL DEFAULT 1`,
		`INSERT INTO ` + meta + ` (name, value) VALUES ('schema_version', '` + postgresSchemaVersion + `')
			ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('accord vault migrate ' || $1))`, s.schema); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, meta).Scan(&exists); err != nil {
			return err
		}
		if exists {
			var version []byte
			err := tx.QueryRow(ctx, `SELECT value FROM `+meta+` WHERE name = 'schema_version'`).Scan(&version)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			switch string(version) {
			case postgresSchemaVersion:
				return nil
			case "1":
				stmts = nil
			case "":
			default:
				return fmt.Errorf("the tables are at version %s, which this accord does not know; upgrade accord", version)
			}
		}
		for _, stmt := range append(stmts, upgrade...) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating the vault tables in schema %s: %w", s.schema, err)
	}
	return nil
}

// Close closes the connection pool.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}

// BindMasterKey implements Store.
func (s *PostgresStore) BindMasterKey(ctx context.Context, fingerprint []byte) error {
	if _, err := s.pool.Exec(ctx, s.q.bindFingerprint, fingerprint); err != nil {
		return fmt.Errorf("recording the master key fingerprint: %w", err)
	}
	var got []byte
	if err := s.pool.QueryRow(ctx, s.q.fingerprint).Scan(&got); err != nil {
		return fmt.Errorf("reading the master key fingerprint: %w", err)
	}
	if string(got) != string(fingerprint) {
		return ErrWrongMasterKey
	}
	return nil
}

// Token versions as the keys table records them.
const (
	pgTokenV1 = 1
	pgTokenV2 = 2
)

func pgTokenVersion(rec KeyRecord) int16 {
	if rec.TokenV1 {
		return pgTokenV1
	}
	return pgTokenV2
}

func scanKey(row pgx.Row, pair PairID) (KeyRecord, error) {
	rec := KeyRecord{Pair: pair}
	var id []byte
	var version int16
	if err := row.Scan(&id, &rec.Wrapped, &version); err != nil {
		return rec, err
	}
	rec.TokenV1 = version == pgTokenV1
	if len(id) != len(rec.ID) {
		return rec, fmt.Errorf("key row has a %d-byte id", len(id))
	}
	copy(rec.ID[:], id)
	return rec, nil
}

// KeyByPair implements Store.
func (s *PostgresStore) KeyByPair(ctx context.Context, pair PairID) (KeyRecord, error) {
	rec, err := scanKey(s.pool.QueryRow(ctx, s.q.keyByPair, pair[:]), pair)
	if errors.Is(err, pgx.ErrNoRows) {
		return KeyRecord{}, ErrNotFound
	}
	if err != nil {
		return KeyRecord{}, fmt.Errorf("reading a key: %w", err)
	}
	return rec, nil
}

// CreateKey implements Store. INSERT ... ON CONFLICT DO NOTHING makes it
// insert-if-absent: a concurrent insert for the same pair waits for the first to
// commit and then inserts nothing, and the key that won is read back.
func (s *PostgresStore) CreateKey(ctx context.Context, rec KeyRecord, mappings []Mapping) (KeyRecord, error) {
	var inserted int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		subject := rec.Pair.Subject()
		if err := tx.QueryRow(ctx, s.q.createKey, rec.ID[:], rec.Pair[:], subject[:], rec.Wrapped, pgTokenVersion(rec)).Scan(&inserted); err != nil {
			return err
		}
		if inserted == 0 || len(mappings) == 0 {
			return nil
		}
		macs, sealed := mappingColumns(mappings)
		_, err := tx.Exec(ctx, s.q.putMappings, rec.ID[:], macs, sealed)
		return err
	})
	if err != nil {
		return KeyRecord{}, fmt.Errorf("inserting a key: %w", err)
	}
	if inserted == 1 {
		return rec, nil
	}
	live, err := scanKey(s.pool.QueryRow(ctx, s.q.keyByIDAfterConflict, rec.Pair[:]), rec.Pair)
	if errors.Is(err, pgx.ErrNoRows) {
		// The conflict was on the id (or the id is a tombstone), not on the pair.
		return KeyRecord{}, ErrKeyIDTaken
	}
	if err != nil {
		return KeyRecord{}, fmt.Errorf("reading the key that won: %w", err)
	}
	return live, nil
}

func (s *PostgresStore) whyNotLive(ctx context.Context, id KeyID) error {
	var forgotten bool
	if err := s.pool.QueryRow(ctx, s.q.isForgotten, id[:]).Scan(&forgotten); err != nil {
		return fmt.Errorf("reading a tombstone: %w", err)
	}
	if forgotten {
		return ErrForgotten
	}
	return ErrNotFound
}

// PutMappings implements Store. The foreign key from tokens to keys refuses a mapping
// whose key a concurrent forget deleted.
func (s *PostgresStore) PutMappings(ctx context.Context, id KeyID, mappings []Mapping) error {
	macs, sealed := mappingColumns(mappings)
	_, err := s.pool.Exec(ctx, s.q.putMappings, id[:], macs, sealed)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return s.whyNotLive(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("inserting tokens: %w", err)
	}
	return nil
}

func mappingColumns(mappings []Mapping) (macs, sealed [][]byte) {
	macs = make([][]byte, len(mappings))
	sealed = make([][]byte, len(mappings))
	for i := range mappings {
		macs[i] = mappings[i].MAC[:]
		sealed[i] = mappings[i].Sealed
	}
	return macs, sealed
}

// Mappings implements Store. One statement reads the key and the values, so they come
// from one snapshot.
func (s *PostgresStore) Mappings(ctx context.Context, id KeyID, macs []MAC) (KeyRecord, [][]byte, error) {
	want := make([][]byte, len(macs))
	for i := range macs {
		want[i] = macs[i][:]
	}
	rows, err := s.pool.Query(ctx, s.q.mappings, id[:], want)
	if err != nil {
		return KeyRecord{}, nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer rows.Close()
	rec := KeyRecord{ID: id}
	found := map[MAC][]byte{}
	n := 0
	for rows.Next() {
		var pair, mac, sealed []byte
		var version int16
		if err := rows.Scan(&pair, &rec.Wrapped, &version, &mac, &sealed); err != nil {
			return KeyRecord{}, nil, fmt.Errorf("reading tokens: %w", err)
		}
		copy(rec.Pair[:], pair)
		rec.TokenV1 = version == pgTokenV1
		if len(mac) == macLen {
			found[MAC(mac)] = sealed
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return KeyRecord{}, nil, fmt.Errorf("reading tokens: %w", err)
	}
	if n == 0 {
		return KeyRecord{}, nil, s.whyNotLive(ctx, id)
	}
	out := make([][]byte, len(macs))
	for i, m := range macs {
		out[i] = found[m]
	}
	return rec, out, nil
}

// maxNotifyIDs bounds the key ids named in one notification (Postgres limits a
// payload to 8000 bytes); a forget of more keys asks listeners to drop their caches.
const maxNotifyIDs = 400

// Forget implements Store. The keys are locked first, so that a concurrent
// PutMappings (whose foreign key check needs a share lock on the key) waits for the
// forget and then fails; the notification is delivered when the transaction commits.
func (s *PostgresStore) Forget(ctx context.Context, req ForgetRequest) (ForgetOutcome, error) {
	var out ForgetOutcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = ForgetOutcome{}
		var rows pgx.Rows
		var err error
		if req.Pair != nil {
			rows, err = tx.Query(ctx, s.q.lockKeysByPair, req.Pair[:], req.Subject[:])
		} else {
			rows, err = tx.Query(ctx, s.q.lockKeysBySubject, req.Subject[:])
		}
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			tag, err := tx.Exec(ctx, s.q.deleteTokens, ids)
			if err != nil {
				return err
			}
			out.Tokens = int(tag.RowsAffected())
			if _, err := tx.Exec(ctx, s.q.deleteKeys, ids); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.q.addTombstones, ids); err != nil {
				return err
			}
			names := make([]string, 0, len(ids))
			for _, id := range ids {
				out.Keys = append(out.Keys, KeyID(id))
				names = append(names, hex.EncodeToString(id))
			}
			payload := strings.Join(names, ",")
			if len(ids) > maxNotifyIDs {
				payload = "*"
			}
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, payload); err != nil {
				return err
			}
		}
		e := req.Audit
		_, err = tx.Exec(ctx, s.q.appendAudit, e.Time, e.Actor, e.Action, e.Controller, out.Tokens, e.Resolved, len(out.Keys))
		return err
	})
	if err != nil {
		return ForgetOutcome{}, fmt.Errorf("forgetting in postgres: %w", err)
	}
	return out, nil
}

// AppendAudit implements Store.
func (s *PostgresStore) AppendAudit(ctx context.Context, e AuditEntry) error {
	if _, err := s.pool.Exec(ctx, s.q.appendAudit, e.Time, e.Actor, e.Action, e.Controller, e.Tokens, e.Resolved, e.Keys); err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}

// Audit implements Store.
func (s *PostgresStore) Audit(ctx context.Context, after uint64, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, s.q.audit, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var seq int64
		err := row.Scan(&seq, &e.Time, &e.Actor, &e.Action, &e.Controller, &e.Tokens, &e.Resolved, &e.Keys)
		e.Seq, e.Time = uint64(seq), e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return entries, nil
}

// Stats implements Store. It counts rows exactly, which takes time on a large vault.
func (s *PostgresStore) Stats(ctx context.Context) (StoreStats, error) {
	var st StoreStats
	err := s.pool.QueryRow(ctx, s.q.stats).Scan(&st.Keys, &st.Tokens, &st.Forgotten, &st.Audit, &st.Bytes)
	if err != nil {
		return StoreStats{}, fmt.Errorf("counting the vault's rows: %w", err)
	}
	return st, nil
}

// watchRetry is how long WatchForgets waits before reconnecting.
const watchRetry = time.Second

// WatchForgets implements ForgetWatcher with LISTEN on the store's channel, on a
// connection of its own. After a lost connection it reports all (forgets made while it
// was not listening were missed) and reconnects.
func (s *PostgresStore) WatchForgets(ctx context.Context, fn func(ids []KeyID, all bool)) (<-chan struct{}, error) {
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("listening for forgets: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := s.relay(ctx, conn, fn)
			if ctx.Err() != nil {
				return
			}
			fn(nil, true)
			s.log.Warn("vault: the forget listener lost its postgres connection; reconnecting (until then, forgets made by other processes reach this one within cache_ttl)",
				"schema", s.schema, "retry", watchRetry, "error", err)
			for conn = nil; conn == nil; {
				select {
				case <-ctx.Done():
					return
				case <-time.After(watchRetry):
				}
				if conn, err = s.listen(ctx); err != nil {
					s.log.Warn("vault: reconnecting the forget listener", "schema", s.schema, "error", err)
				}
			}
			// Forgets made while reconnecting were missed.
			fn(nil, true)
		}
	}()
	return done, nil
}

// listen takes a connection out of the pool for good and listens on it.
func (s *PostgresStore) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return nil, errors.Join(err, conn.Close(context.WithoutCancel(ctx)))
	}
	return conn, nil
}

// relay passes notifications to fn until the connection fails or ctx ends, and
// closes the connection.
func (s *PostgresStore) relay(ctx context.Context, conn *pgx.Conn, fn func(ids []KeyID, all bool)) error {
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		ids, ok := parseNotifyPayload(n.Payload)
		fn(ids, !ok)
	}
}

// parseNotifyPayload reads the key ids of a forget notification; ok is false for "*"
// or anything unexpected, which the caller treats as "drop everything".
func parseNotifyPayload(payload string) (ids []KeyID, ok bool) {
	if payload == "*" || payload == "" {
		return nil, false
	}
	for part := range strings.SplitSeq(payload, ",") {
		var id KeyID
		if hex.DecodedLen(len(part)) != len(id) {
			return nil, false
		}
		if _, err := hex.Decode(id[:], []byte(part)); err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}
