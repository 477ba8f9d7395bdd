//! SQLite migrations: numbered, each applied in its own transaction together with its row in
//! `schema_migrations`.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

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

const V1: &str = r#"
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    server_id TEXT NOT NULL
);
INSERT INTO sync_state (id, last_seq, server_id) VALUES (1, 0, lower(hex(randomblob(16))));

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_level TEXT NOT NULL,
    scope_id TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username),
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_username ON sessions (username);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    username TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE grids (
    id TEXT PRIMARY KEY,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE buildings (
    code TEXT PRIMARY KEY,
    grid TEXT NOT NULL,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX buildings_seq ON buildings (seq);
CREATE INDEX buildings_grid_seq ON buildings (grid, seq);
CREATE INDEX buildings_community_seq ON buildings (community, seq);
CREATE INDEX buildings_street_seq ON buildings (street, seq);

CREATE TABLE building_exits (
    seq INTEGER PRIMARY KEY,
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
    device_seq INTEGER NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    building_code TEXT NOT NULL,
    payload TEXT NOT NULL,
    conflict INTEGER NOT NULL,
    server_seq INTEGER NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX records_building ON records (building_code);
CREATE INDEX records_username ON records (username);

CREATE TABLE record_photos (
    record_id TEXT NOT NULL REFERENCES records (record_id),
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (record_id, sha256)
);
CREATE INDEX record_photos_sha256 ON record_photos (sha256);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
);

CREATE TABLE rejections (
    device_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, record_id)
);

CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL REFERENCES records (record_id),
    building_code TEXT NOT NULL,
    field TEXT NOT NULL,
    seen TEXT NOT NULL,
    proposed TEXT NOT NULL,
    current TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX conflicts_building ON conflicts (building_code);

CREATE TABLE review_outcomes (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records (record_id),
    username TEXT NOT NULL,
    decision TEXT NOT NULL,
    comment TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at INTEGER NOT NULL
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
    deadline TEXT,
    reported_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX event_states_building ON event_states (building_code);
CREATE INDEX event_states_status_deadline ON event_states (status, deadline);

-- Buildings whose stars must be recomputed; filled by the push, drained by the rater.
CREATE TABLE rating_queue (
    building_code TEXT PRIMARY KEY,
    queued_at INTEGER NOT NULL
);
"#;

/// Supervisor review and the audit log (issue 5, part C).
const V3: &str = r#"
CREATE INDEX review_outcomes_record ON review_outcomes (record_id, seq);

-- One immutable row per synced inspection or event, indexed lazily (see db/review.rs).
CREATE TABLE review_items (
    record_id TEXT PRIMARY KEY REFERENCES records (record_id),
    server_seq INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    building_code TEXT NOT NULL,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    off_site INTEGER NOT NULL,
    distance_m REAL,
    accuracy_m REAL,
    radius_m REAL NOT NULL,
    corrects TEXT,
    original TEXT NOT NULL
);
CREATE INDEX review_items_building ON review_items (building_code, server_seq);
-- How far (in server sequence numbers) the records have been indexed for review.
CREATE TABLE review_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_seq INTEGER NOT NULL
);
INSERT INTO review_index_state (id, indexed_seq) VALUES (1, 0);
CREATE INDEX review_items_corrects ON review_items (corrects, server_seq);
CREATE INDEX review_items_username ON review_items (username, server_seq);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    username TEXT,
    device_id TEXT,
    role TEXT,
    scope_level TEXT,
    scope_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    personal_data INTEGER NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX audit_log_username ON audit_log (username, id);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"#;

/// The records table keyed by its server sequence (ADR 0047). A push writes one row per record
/// into the table and each of its indexes; as the rowid, the server sequence needs no index of its
/// own, and rows go in at the table's end. The index on the worker answered no query.
const V6: &str = r#"
CREATE TABLE records_v6 (
    server_seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    building_code TEXT NOT NULL,
    payload TEXT NOT NULL,
    conflict INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (device_id, device_seq)
);
INSERT INTO records_v6 (server_seq, record_id, device_id, device_seq, username, kind,
        building_code, payload, conflict, received_at)
    SELECT server_seq, record_id, device_id, device_seq, username, kind, building_code, payload,
        conflict, received_at
    FROM records ORDER BY server_seq;
DROP TABLE records;
ALTER TABLE records_v6 RENAME TO records;
CREATE INDEX records_building ON records (building_code);
"#;

fn current_version(c: &Connection) -> Result<u32, DbError> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        );",
    )?;
    let v: Option<u32> = c
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0))
}

pub fn migrate(c: &mut Connection) -> Result<Vec<u32>, DbError> {
    let found = current_version(c)?;
    if found > LATEST {
        return Err(DbError::SchemaTooNew {
            found,
            known: LATEST,
        });
    }
    // A migration that rebuilds a table others refer to (V6) drops the old one first, which the
    // foreign keys would refuse; they are off while migrating and checked before each commit.
    // The pragma is a no-op inside a transaction, so it is set around them.
    c.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let result = apply(c, found);
    c.execute_batch("PRAGMA foreign_keys = ON;")?;
    result
}

fn apply(c: &mut Connection, found: u32) -> Result<Vec<u32>, DbError> {
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let failed = |message: String| DbError::Migration { version, message };
        tx.execute_batch(sql).map_err(|e| failed(e.to_string()))?;
        let dangling: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if dangling > 0 {
            return Err(failed(format!(
                "the foreign key check found {dangling} dangling reference(s)"
            )));
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, datetime('now'))",
            [version],
        )?;
        tx.commit()?;
        applied.push(version);
    }
    Ok(applied)
}

pub fn check(c: &mut Connection) -> Result<(), DbError> {
    let has_table: bool = c.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    let found = if has_table {
        c.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at V5 holding records that other tables point at.
    fn at_v5() -> Connection {
        let mut c = Connection::open_in_memory().expect("open");
        c.execute_batch("PRAGMA foreign_keys = ON;").expect("fk");
        current_version(&c).expect("migrations table");
        for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 5) {
            let tx = c.transaction().expect("tx");
            tx.execute_batch(sql).expect("migration");
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 'then')",
                [version],
            )
            .expect("version row");
            tx.commit().expect("commit");
        }
        // Two devices' records, in server order not the record ids' order.
        for (seq, id, device, dseq) in [(7, "r-b", "phone-1", 1), (9, "r-a", "phone-2", 1)] {
            c.execute(
                "INSERT INTO records (record_id, device_id, device_seq, username, kind,
                     building_code, payload, conflict, server_seq, received_at)
                 VALUES (?1, ?2, ?3, 'w1', 'inspection', 'B1', '{}', 0, ?4, 5)",
                rusqlite::params![id, device, dseq, seq],
            )
            .expect("record");
        }
        c.execute(
            "INSERT INTO record_photos (record_id, sha256, size_bytes) VALUES ('r-a', 'ab', 3)",
            [],
        )
        .expect("photo");
        c
    }

    #[test]
    fn v6_keys_the_records_by_server_sequence_and_keeps_every_row_and_reference() {
        let mut c = at_v5();
        assert_eq!(migrate(&mut c).expect("migrate"), vec![6]);
        let rows: Vec<(i64, i64, String)> = c
            .prepare("SELECT rowid, server_seq, record_id FROM records ORDER BY rowid")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![(7, 7, "r-b".to_owned()), (9, 9, "r-a".to_owned())],
            "the server sequence is the rowid"
        );
        let indexes: Vec<String> = c
            .prepare("SELECT name FROM pragma_index_list('records') ORDER BY name")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        assert_eq!(
            indexes,
            vec![
                "records_building",
                "sqlite_autoindex_records_1",
                "sqlite_autoindex_records_2"
            ],
            "record id, device sequence and building; no server-sequence or worker index"
        );
        let fk: bool = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("pragma");
        assert!(fk, "foreign keys are back on after migrating");
        let err = c
            .execute(
                "INSERT INTO record_photos (record_id, sha256, size_bytes) VALUES ('nope', 'cd', 1)",
                [],
            )
            .expect_err("the photo link still points at the records");
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        let photo: String = c
            .query_row(
                "SELECT r.record_id FROM record_photos p JOIN records r USING (record_id)",
                [],
                |r| r.get(0),
            )
            .expect("join");
        assert_eq!(photo, "r-a");
        assert_eq!(migrate(&mut c).expect("again"), Vec::<u32>::new());
    }

    #[test]
    fn a_migration_that_would_leave_a_dangling_reference_is_refused_whole() {
        let mut c = at_v5();
        c.execute_batch("PRAGMA foreign_keys = OFF;")
            .expect("fk off");
        c.execute(
            "INSERT INTO record_photos (record_id, sha256, size_bytes) VALUES ('gone', 'ef', 1)",
            [],
        )
        .expect("a dangling photo link");
        c.execute_batch("PRAGMA foreign_keys = ON;").expect("fk on");
        let err = migrate(&mut c).expect_err("refused");
        assert!(
            matches!(&err, DbError::Migration { version: 6, message } if message.contains("1 dangling")),
            "{err:?}"
        );
        assert_eq!(current_version(&c).expect("version"), 5, "nothing applied");
        let seq_index: i64 = c
            .query_row(
                "SELECT count(*) FROM pragma_index_list('records') WHERE name = 'records_username'",
                [],
                |r| r.get(0),
            )
            .expect("index list");
        assert_eq!(seq_index, 1, "the V5 table is untouched");
    }
}
