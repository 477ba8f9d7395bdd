//! PostgreSQL migrations: numbered, each applied in its own transaction under an advisory lock
//! (two servers starting at once do not both migrate).

use deadpool_postgres::Client;

use crate::db::DbError;

const MIGRATIONS: &[(u32, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, super::rating::V4),
    (5, super::events::V5),
    (6, V6),
];

pub const LATEST: u32 = 6;

/// The index on the records' worker answered no query, and every push wrote to it (ADR 0047).
const V6: &str = "DROP INDEX records_username;";

/// Advisory lock key for migrations ("gridwalk" in ASCII, truncated to 63 bits).
const LOCK_KEY: i64 = 0x6772_6964_7761_6c6b;

const V1: &str = r#"
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL,
    server_id TEXT NOT NULL
);
INSERT INTO sync_state (id, last_seq, server_id) VALUES (1, 0, md5(random()::text || clock_timestamp()::text));

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_level TEXT NOT NULL,
    scope_id TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username),
    device_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_username ON sessions (username);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    username TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE grids (
    id TEXT PRIMARY KEY,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    data JSONB NOT NULL
);

CREATE TABLE buildings (
    code TEXT PRIMARY KEY,
    grid TEXT NOT NULL,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    removed BOOLEAN NOT NULL DEFAULT FALSE,
    seq BIGINT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX buildings_seq ON buildings (seq);
CREATE INDEX buildings_grid_seq ON buildings (grid, seq);
CREATE INDEX buildings_community_seq ON buildings (community, seq);
CREATE INDEX buildings_street_seq ON buildings (street, seq);

CREATE TABLE building_exits (
    seq BIGINT PRIMARY KEY,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    old_grid TEXT NOT NULL,
    old_community TEXT NOT NULL,
    old_street TEXT NOT NULL,
    new_grid TEXT,
    new_community TEXT,
    new_street TEXT
);
CREATE INDEX building_exits_grid ON building_exits (old_grid, seq);
CREATE INDEX building_exits_community ON building_exits (old_community, seq);
CREATE INDEX building_exits_street ON building_exits (old_street, seq);

CREATE TABLE records (
    record_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    device_seq BIGINT NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    building_code TEXT NOT NULL,
    payload JSONB NOT NULL,
    conflict BOOLEAN NOT NULL,
    server_seq BIGINT NOT NULL UNIQUE,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX records_building ON records (building_code);
CREATE INDEX records_username ON records (username);

CREATE TABLE record_photos (
    record_id TEXT NOT NULL REFERENCES records (record_id),
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    PRIMARY KEY (record_id, sha256)
);
CREATE INDEX record_photos_sha256 ON record_photos (sha256);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE rejections (
    device_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    device_seq BIGINT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, record_id)
);

CREATE TABLE conflicts (
    id BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (record_id),
    building_code TEXT NOT NULL,
    field TEXT NOT NULL,
    seen JSONB NOT NULL,
    proposed JSONB NOT NULL,
    current JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX conflicts_building ON conflicts (building_code);

CREATE TABLE review_outcomes (
    seq BIGINT PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (record_id),
    username TEXT NOT NULL,
    decision TEXT NOT NULL,
    comment TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX review_outcomes_username ON review_outcomes (username, seq);
"#;

const V2: &str = r#"
-- The server-side lifecycle of each accepted event (dispatch, notices, overdue sweep keep it).
CREATE TABLE event_states (
    event_id TEXT PRIMARY KEY REFERENCES records (record_id),
    building_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    deadline DATE,
    reported_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX event_states_building ON event_states (building_code);
CREATE INDEX event_states_status_deadline ON event_states (status, deadline);

-- Buildings whose stars must be recomputed; filled by the push, drained by the rater.
CREATE TABLE rating_queue (
    building_code TEXT PRIMARY KEY,
    queued_at TIMESTAMPTZ NOT NULL
);
"#;

/// Supervisor review and the audit log (issue 5, part C).
const V3: &str = r#"
CREATE INDEX review_outcomes_record ON review_outcomes (record_id, seq);

-- One immutable row per synced inspection or event, indexed lazily (see db/review.rs).
CREATE TABLE review_items (
    record_id TEXT PRIMARY KEY REFERENCES records (record_id),
    server_seq BIGINT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    building_code TEXT NOT NULL,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    off_site BOOLEAN NOT NULL,
    distance_m DOUBLE PRECISION,
    accuracy_m DOUBLE PRECISION,
    radius_m DOUBLE PRECISION NOT NULL,
    corrects TEXT,
    original TEXT NOT NULL
);
CREATE INDEX review_items_building ON review_items (building_code, server_seq);
-- How far (in server sequence numbers) the records have been indexed for review.
CREATE TABLE review_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_seq BIGINT NOT NULL
);
INSERT INTO review_index_state (id, indexed_seq) VALUES (1, 0);
CREATE INDEX review_items_corrects ON review_items (corrects, server_seq);
CREATE INDEX review_items_username ON review_items (username, server_seq);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    username TEXT,
    device_id TEXT,
    role TEXT,
    scope_level TEXT,
    scope_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    personal_data BOOLEAN NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX audit_log_username ON audit_log (username, id);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"#;

pub async fn migrate(c: &mut Client) -> Result<Vec<u32>, DbError> {
    let mut applied = Vec::new();
    loop {
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await?;
        let found: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        let found = u32::try_from(found).unwrap_or(0);
        if found > LATEST {
            return Err(DbError::SchemaTooNew {
                found,
                known: LATEST,
            });
        }
        let Some(&(version, sql)) = MIGRATIONS.iter().find(|(v, _)| *v > found) else {
            tx.commit().await?;
            return Ok(applied);
        };
        tx.batch_execute(sql)
            .await
            .map_err(|e| DbError::Migration {
                version,
                message: e.to_string(),
            })?;
        let v = i32::try_from(version).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
            .await?;
        tx.commit().await?;
        applied.push(version);
    }
}

pub async fn check(c: &Client) -> Result<(), DbError> {
    let has: bool = c
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    let found = if has {
        let v: i32 = c
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        u32::try_from(v).unwrap_or(0)
    } else {
        0
    };
    match found {
        f if f == LATEST => Ok(()),
        f if f > LATEST => Err(DbError::SchemaTooNew {
            found: f,
            known: LATEST,
        }),
        f => Err(DbError::NotMigrated {
            found: f,
            need: LATEST,
        }),
    }
}

/// Every migration version this engine knows, in order.
pub fn versions() -> Vec<u32> {
    MIGRATIONS.iter().map(|(v, _)| *v).collect()
}
