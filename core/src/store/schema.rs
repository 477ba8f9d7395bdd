//! The archive's schema: the full current schema (used to create fresh databases) and the list of
//! migration steps (used to upgrade old ones), tracked in `PRAGMA user_version`.
//!
//! Versions:
//! - v1: the building archive — grids, buildings, catalog versions.
//! - v2: field capture — inspections, events, photos and their links, the sync outbox, the device
//!   identity and the rating history.
//! - v3: sync — the sync state (login, pull cursor, push numbering, last result), each outbox
//!   entry's push sequence number, supervisors' review outcomes, photo upload states.
//! - v4: `buildings.risk_key` stored rather than computed on every read and index build.
//! - v5: outbox payloads in a table of their own (`outbox_payloads`), so that claiming and
//!   answering a push rewrite ~100-byte entries rather than entries carrying the whole record;
//!   why a photo could not be sent (`photo_uploads.last_failure`), for the sync status.
//! - v6: push numbers given when an entry is queued, and three watermarks in `sync_state` (sent,
//!   claimed, answered) instead of rewriting every entry when it is claimed and again when it is
//!   answered (ADR 0043).
//!
//! A test builds every earlier version by applying steps 1..k, upgrades it and checks that the result
//! equals a freshly created database object for object. So: when adding version N+1, append a step
//! AND edit [`CURRENT_SCHEMA`] so both paths stay equal.

use rusqlite::{Connection, TransactionBehavior};

use super::error::{StoreError, StoreResult};

/// The version [`CURRENT_SCHEMA`] creates and the code reads and writes.
pub(crate) const SCHEMA_VERSION: i64 = 6;

/// Step `i` takes a database from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] =
    &[V0_TO_V1, V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5, V5_TO_V6];

const V0_TO_V1: &str = r#"
CREATE TABLE grids (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    boundary_json TEXT NOT NULL,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    worker TEXT
) STRICT;
CREATE INDEX grids_community ON grids (community);
CREATE INDEX grids_street ON grids (street);
CREATE INDEX grids_worker ON grids (worker);

CREATE TABLE buildings (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 25),
    address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    street TEXT NOT NULL,
    community TEXT NOT NULL,
    grid TEXT NOT NULL REFERENCES grids (id),
    floors INTEGER NOT NULL,
    units INTEGER NOT NULL,
    usage TEXT NOT NULL,
    owner_json TEXT NOT NULL,
    manager_json TEXT,
    building_head_json TEXT,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    score_safety_livability REAL,
    score_management REAL,
    score_honesty_credit REAL,
    score_civility_hygiene REAL,
    open_hazards INTEGER NOT NULL CHECK (open_hazards BETWEEN 0 AND 4294967295),
    blacklisted INTEGER NOT NULL CHECK (blacklisted IN (0, 1)),
    last_inspected_at TEXT,
    next_due_on TEXT,
    risk_key TEXT GENERATED ALWAYS AS (printf('%d|%s|%010d|%s', coalesce(stars, 0), coalesce(next_due_on, '0000-00-00'), 4294967295 - open_hazards, code)) VIRTUAL,
    CHECK ((score_safety_livability IS NULL) = (score_management IS NULL)
       AND (score_management IS NULL) = (score_honesty_credit IS NULL)
       AND (score_honesty_credit IS NULL) = (score_civility_hygiene IS NULL))
) STRICT;
CREATE INDEX buildings_grid_risk ON buildings (grid, risk_key);
CREATE INDEX buildings_community_risk ON buildings (community, risk_key);
CREATE INDEX buildings_street_risk ON buildings (street, risk_key);
CREATE INDEX buildings_risk ON buildings (risk_key);
CREATE INDEX buildings_blacklisted_risk ON buildings (risk_key) WHERE blacklisted = 1;

CREATE TABLE catalog (
    version INTEGER PRIMARY KEY NOT NULL,
    catalog_json TEXT NOT NULL,
    installed_at TEXT NOT NULL
) STRICT;
"#;

const V1_TO_V2: &str = r#"
CREATE TABLE device (
    singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    id TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE inspections (
    id TEXT PRIMARY KEY NOT NULL,
    building_code TEXT NOT NULL,
    worker TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    corrects TEXT,
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record_json TEXT NOT NULL
) STRICT;
CREATE INDEX inspections_building ON inspections (building_code, started_at);
CREATE INDEX inspections_worker ON inspections (worker, started_at);
CREATE INDEX inspections_corrects ON inspections (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    building_code TEXT NOT NULL,
    worker TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hazard', 'micro_event', 'incident')),
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reported', 'dispatched', 'noticed', 'rectified', 'overdue', 'closed')),
    reported_at TEXT NOT NULL,
    deadline TEXT,
    corrects TEXT,
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record_json TEXT NOT NULL
) STRICT;
CREATE INDEX events_building ON events (building_code, reported_at);
CREATE INDEX events_open ON events (building_code, deadline) WHERE status NOT IN ('rectified', 'closed');
CREATE INDEX events_worker ON events (worker, reported_at);
CREATE INDEX events_status ON events (status);
CREATE INDEX events_corrects ON events (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    added_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE inspection_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    photo_sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (inspection_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX inspection_photos_photo ON inspection_photos (photo_sha256);

CREATE TABLE event_photos (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    photo_sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (event_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_photos_photo ON event_photos (photo_sha256);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    record_kind TEXT NOT NULL CHECK (record_kind IN ('inspection', 'event')),
    payload_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    reject_code TEXT,
    reject_message TEXT,
    queued_at TEXT NOT NULL,
    state_changed_at TEXT NOT NULL,
    CHECK ((state = 'rejected') = (reject_code IS NOT NULL))
) STRICT;
CREATE INDEX outbox_state ON outbox (state, seq);
CREATE INDEX outbox_record ON outbox (record_id, seq);

CREATE TABLE rating_history (
    id INTEGER PRIMARY KEY,
    building_code TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    explanation_json TEXT NOT NULL
) STRICT;
CREATE INDEX rating_history_building ON rating_history (building_code, rated_at);
"#;

const V2_TO_V3: &str = r#"
ALTER TABLE outbox ADD COLUMN push_seq INTEGER CHECK (push_seq > 0);
ALTER TABLE outbox ADD COLUMN superseded_by INTEGER;
-- Entries a v2 archive queued for a record edited before they were sent: only the newest goes.
UPDATE outbox SET state = 'acked', superseded_by = (SELECT max(n.seq) FROM outbox n
    WHERE n.record_id = outbox.record_id), state_changed_at = queued_at
WHERE state = 'pending' AND EXISTS (SELECT 1 FROM outbox n
    WHERE n.record_id = outbox.record_id AND n.seq > outbox.seq);
CREATE TABLE sync_state (
    singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    server_url TEXT,
    username TEXT,
    role TEXT,
    scope TEXT,
    token TEXT,
    token_expires_at TEXT,
    login_required INTEGER NOT NULL DEFAULT 0 CHECK (login_required IN (0, 1)),
    pull_cursor TEXT,
    last_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_push_seq >= 0),
    server_catalog_version INTEGER,
    server_policy_version INTEGER,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT
) STRICT;
INSERT INTO sync_state (singleton) VALUES (1);

CREATE UNIQUE INDEX outbox_push_seq ON outbox (push_seq) WHERE push_seq IS NOT NULL;

CREATE TABLE review_outcomes (
    record_id TEXT PRIMARY KEY NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'sent_back')),
    comment TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

CREATE TABLE departed_buildings (
    code TEXT PRIMARY KEY NOT NULL,
    departed_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE photo_uploads (
    sha256 TEXT PRIMARY KEY NOT NULL REFERENCES photos (sha256),
    state TEXT NOT NULL CHECK (state IN ('missing', 'stored')),
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// v4: `buildings.risk_key` STORED instead of VIRTUAL (SQLite cannot alter a generated column, so
/// the table is rebuilt): it is computed once per write rather than by every index build and
/// read; rebuilding the five list indexes after a 10,000-building bootstrap took twice as long.
const V3_TO_V4: &str = r#"
ALTER TABLE buildings RENAME TO buildings_v3;
CREATE TABLE buildings (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 25),
    address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    street TEXT NOT NULL,
    community TEXT NOT NULL,
    grid TEXT NOT NULL REFERENCES grids (id),
    floors INTEGER NOT NULL,
    units INTEGER NOT NULL,
    usage TEXT NOT NULL,
    owner_json TEXT NOT NULL,
    manager_json TEXT,
    building_head_json TEXT,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    score_safety_livability REAL,
    score_management REAL,
    score_honesty_credit REAL,
    score_civility_hygiene REAL,
    open_hazards INTEGER NOT NULL CHECK (open_hazards BETWEEN 0 AND 4294967295),
    blacklisted INTEGER NOT NULL CHECK (blacklisted IN (0, 1)),
    last_inspected_at TEXT,
    next_due_on TEXT,
    risk_key TEXT GENERATED ALWAYS AS (printf('%d|%s|%010d|%s', coalesce(stars, 0), coalesce(next_due_on, '0000-00-00'), 4294967295 - open_hazards, code)) STORED,
    CHECK ((score_safety_livability IS NULL) = (score_management IS NULL)
       AND (score_management IS NULL) = (score_honesty_credit IS NULL)
       AND (score_honesty_credit IS NULL) = (score_civility_hygiene IS NULL))
) STRICT;
INSERT INTO buildings (
    code, address, lat, lon, street, community, grid, floors, units, usage, owner_json,
    manager_json, building_head_json, stars, score_safety_livability, score_management,
    score_honesty_credit, score_civility_hygiene, open_hazards, blacklisted,
    last_inspected_at, next_due_on)
SELECT
    code, address, lat, lon, street, community, grid, floors, units, usage, owner_json,
    manager_json, building_head_json, stars, score_safety_livability, score_management,
    score_honesty_credit, score_civility_hygiene, open_hazards, blacklisted,
    last_inspected_at, next_due_on
FROM buildings_v3;
DROP TABLE buildings_v3;
CREATE INDEX buildings_grid_risk ON buildings (grid, risk_key);
CREATE INDEX buildings_community_risk ON buildings (community, risk_key);
CREATE INDEX buildings_street_risk ON buildings (street, risk_key);
CREATE INDEX buildings_risk ON buildings (risk_key);
CREATE INDEX buildings_blacklisted_risk ON buildings (risk_key) WHERE blacklisted = 1;
"#;

/// v5: the outbox entry's payload moves to `outbox_payloads`. A push rewrites each entry twice
/// (claimed, then answered); with the record's JSON (~400 B) in the row, that wrote ~5× the bytes
/// the state change needs, and the phone's commits competed with the server's for the disk.
const V4_TO_V5: &str = r#"
CREATE TABLE outbox_payloads (
    seq INTEGER PRIMARY KEY NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    payload_json TEXT NOT NULL
) STRICT;
INSERT INTO outbox_payloads (seq, payload_json) SELECT seq, payload_json FROM outbox;
ALTER TABLE outbox DROP COLUMN payload_json;
ALTER TABLE photo_uploads ADD COLUMN last_failure TEXT;
ALTER TABLE photo_uploads ADD COLUMN failed_at TEXT;
"#;

/// v6: an entry gets its push number when it is queued, and the sync state keeps three watermarks
/// (see [`crate::store::outbox`]), so that a push writes one row per batch instead of two per
/// entry. Nothing is in flight while an archive is upgraded: in-flight entries become pending.
/// Every number handed out so far was handed to a push (`sent`); `answered` stops below the first
/// number still waiting. Entries never numbered get numbers in queue order.
const V5_TO_V6: &str = r#"
ALTER TABLE sync_state ADD COLUMN sent_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (sent_push_seq >= 0);
ALTER TABLE sync_state ADD COLUMN claimed_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (claimed_push_seq >= 0);
ALTER TABLE sync_state ADD COLUMN answered_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (answered_push_seq >= 0);
UPDATE outbox SET state = 'pending' WHERE state = 'in_flight';
UPDATE sync_state SET sent_push_seq = last_push_seq,
    answered_push_seq = coalesce((SELECT min(push_seq) - 1 FROM outbox
        WHERE state = 'pending' AND push_seq IS NOT NULL), last_push_seq);
UPDATE sync_state SET claimed_push_seq = answered_push_seq;
UPDATE outbox SET push_seq = n.base + n.rank
FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rank,
        (SELECT last_push_seq FROM sync_state) AS base
      FROM outbox WHERE state = 'pending' AND push_seq IS NULL) AS n
WHERE outbox.seq = n.seq;
UPDATE sync_state SET last_push_seq = max(last_push_seq, coalesce((SELECT max(push_seq) FROM outbox), 0));
DROP INDEX outbox_state;
CREATE INDEX outbox_rejected ON outbox (seq) WHERE state = 'rejected';
ALTER TABLE outbox DROP COLUMN attempts;
"#;

/// The whole schema at [`SCHEMA_VERSION`], table by table, as a fresh archive gets it.
///
/// Design notes:
/// - Field records (inspections, events, rating history, outbox) refer to buildings by code WITHOUT
///   a foreign key: a building can leave the phone's scope (re-gridding, demolition, scope change)
///   while unsynced records about it must stay until the server has them. Buildings themselves do
///   reference grids (every building in the archive belongs to a grid in the archive). Foreign keys
///   use the default NO ACTION rather than RESTRICT: same effect, and SQLite reports a violation as
///   SQLITE_CONSTRAINT_FOREIGNKEY, which the store turns into a typed error.
/// - `buildings.risk_key` is the officer list's sort order as one fixed-width text key:
///   stars (unrated = 0, so first), next due date (none = '0000-00-00', so first), open hazards
///   descending (stored as 2^32-1 minus the count), code. Indexed alone and after each scope column,
///   it is the (stars, next_due_on) index, a total order, and the keyset cursor, so a page of the
///   list is an index range scan with no sort.
/// - Times are RFC 3339 UTC text with nanoseconds (fixed width, so text order is time order); dates
///   are `YYYY-MM-DD`.
/// - Inspections and events keep the full record as JSON (the exact thing that syncs) plus the
///   columns queries filter on; photo links are real rows with foreign keys to `photos`.
/// - `outbox.seq` is AUTOINCREMENT so a sequence number is never reused, even after rows are deleted.
/// - `outbox.push_seq` is the per-device number the server sees (it requires them without gaps), given
///   when an entry is first handed to a push and kept for every resend; `outbox.seq` cannot serve, as
///   entries replaced before they were ever sent are skipped. `sync_state.last_push_seq` is the
///   counter.
/// - `departed_buildings`: codes that left the phone (tombstone, scope reset) while records about them
///   may still wait for the server; such records are removed once the server has them in full.
/// - `sync_state` holds the bearer token: it is encrypted exactly when the archive is.
pub(crate) const CURRENT_SCHEMA: &str = r#"
-- v1: building archive
CREATE TABLE grids (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    boundary_json TEXT NOT NULL,
    community TEXT NOT NULL,
    street TEXT NOT NULL,
    worker TEXT
) STRICT;
CREATE INDEX grids_community ON grids (community);
CREATE INDEX grids_street ON grids (street);
CREATE INDEX grids_worker ON grids (worker);

CREATE TABLE buildings (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 25),
    address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    street TEXT NOT NULL,
    community TEXT NOT NULL,
    grid TEXT NOT NULL REFERENCES grids (id),
    floors INTEGER NOT NULL,
    units INTEGER NOT NULL,
    usage TEXT NOT NULL,
    owner_json TEXT NOT NULL,
    manager_json TEXT,
    building_head_json TEXT,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    score_safety_livability REAL,
    score_management REAL,
    score_honesty_credit REAL,
    score_civility_hygiene REAL,
    open_hazards INTEGER NOT NULL CHECK (open_hazards BETWEEN 0 AND 4294967295),
    blacklisted INTEGER NOT NULL CHECK (blacklisted IN (0, 1)),
    last_inspected_at TEXT,
    next_due_on TEXT,
    risk_key TEXT GENERATED ALWAYS AS (printf('%d|%s|%010d|%s', coalesce(stars, 0), coalesce(next_due_on, '0000-00-00'), 4294967295 - open_hazards, code)) STORED,
    CHECK ((score_safety_livability IS NULL) = (score_management IS NULL)
       AND (score_management IS NULL) = (score_honesty_credit IS NULL)
       AND (score_honesty_credit IS NULL) = (score_civility_hygiene IS NULL))
) STRICT;
CREATE INDEX buildings_grid_risk ON buildings (grid, risk_key);
CREATE INDEX buildings_community_risk ON buildings (community, risk_key);
CREATE INDEX buildings_street_risk ON buildings (street, risk_key);
CREATE INDEX buildings_risk ON buildings (risk_key);
CREATE INDEX buildings_blacklisted_risk ON buildings (risk_key) WHERE blacklisted = 1;

CREATE TABLE catalog (
    version INTEGER PRIMARY KEY NOT NULL,
    catalog_json TEXT NOT NULL,
    installed_at TEXT NOT NULL
) STRICT;

-- v2: field capture and sync
CREATE TABLE device (
    singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    id TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    added_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE inspections (
    id TEXT PRIMARY KEY NOT NULL,
    building_code TEXT NOT NULL,
    worker TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    corrects TEXT,
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record_json TEXT NOT NULL
) STRICT;
CREATE INDEX inspections_building ON inspections (building_code, started_at);
CREATE INDEX inspections_worker ON inspections (worker, started_at);
CREATE INDEX inspections_corrects ON inspections (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE inspection_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    photo_sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (inspection_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX inspection_photos_photo ON inspection_photos (photo_sha256);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    building_code TEXT NOT NULL,
    worker TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hazard', 'micro_event', 'incident')),
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reported', 'dispatched', 'noticed', 'rectified', 'overdue', 'closed')),
    reported_at TEXT NOT NULL,
    deadline TEXT,
    corrects TEXT,
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record_json TEXT NOT NULL
) STRICT;
CREATE INDEX events_building ON events (building_code, reported_at);
CREATE INDEX events_open ON events (building_code, deadline) WHERE status NOT IN ('rectified', 'closed');
CREATE INDEX events_worker ON events (worker, reported_at);
CREATE INDEX events_status ON events (status);
CREATE INDEX events_corrects ON events (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE event_photos (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    photo_sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (event_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_photos_photo ON event_photos (photo_sha256);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    record_kind TEXT NOT NULL CHECK (record_kind IN ('inspection', 'event')),
    -- v6: 'pending' until the entry has an outcome of its own (refused, or acknowledged out of
    -- order, or replaced); whether a pending entry is waiting, in flight or answered is read from
    -- the watermarks in sync_state. 'in_flight' is no longer written: SQLite cannot alter a CHECK.
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'acked', 'rejected')),
    reject_code TEXT,
    reject_message TEXT,
    queued_at TEXT NOT NULL,
    state_changed_at TEXT NOT NULL,
    -- v3: the number the entry is pushed under (v6: given when queued; NULL for an entry replaced
    -- by a newer version of its record before it was ever sent, whose seq is superseded_by).
    push_seq INTEGER CHECK (push_seq > 0),
    superseded_by INTEGER,
    CHECK ((state = 'rejected') = (reject_code IS NOT NULL))
) STRICT;
CREATE INDEX outbox_record ON outbox (record_id, seq);
CREATE INDEX outbox_rejected ON outbox (seq) WHERE state = 'rejected';
-- v5: the record's JSON apart from its entry, so state changes rewrite a small row.
CREATE TABLE outbox_payloads (
    seq INTEGER PRIMARY KEY NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    payload_json TEXT NOT NULL
) STRICT;

CREATE TABLE rating_history (
    id INTEGER PRIMARY KEY,
    building_code TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    explanation_json TEXT NOT NULL
) STRICT;
CREATE INDEX rating_history_building ON rating_history (building_code, rated_at);

-- v3: sync
CREATE TABLE sync_state (
    singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    server_url TEXT,
    username TEXT,
    role TEXT,
    scope TEXT,
    token TEXT,
    token_expires_at TEXT,
    login_required INTEGER NOT NULL DEFAULT 0 CHECK (login_required IN (0, 1)),
    pull_cursor TEXT,
    last_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_push_seq >= 0),
    server_catalog_version INTEGER,
    server_policy_version INTEGER,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    -- v6: push watermarks. Entries numbered at or below `sent` may be on the server; those at or
    -- below `claimed` are handed to the running push; those at or below `answered` are answered.
    sent_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (sent_push_seq >= 0),
    claimed_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (claimed_push_seq >= 0),
    answered_push_seq INTEGER NOT NULL DEFAULT 0 CHECK (answered_push_seq >= 0)
) STRICT;
INSERT INTO sync_state (singleton) VALUES (1);

CREATE UNIQUE INDEX outbox_push_seq ON outbox (push_seq) WHERE push_seq IS NOT NULL;

CREATE TABLE review_outcomes (
    record_id TEXT PRIMARY KEY NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'sent_back')),
    comment TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

CREATE TABLE departed_buildings (
    code TEXT PRIMARY KEY NOT NULL,
    departed_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE photo_uploads (
    sha256 TEXT PRIMARY KEY NOT NULL REFERENCES photos (sha256),
    state TEXT NOT NULL CHECK (state IN ('missing', 'stored')),
    updated_at TEXT NOT NULL,
    -- v5: why the last attempt to send a missing photo failed, and when (NULL: it has not).
    last_failure TEXT,
    failed_at TEXT
) STRICT, WITHOUT ROWID;
"#;

/// The officer-list indexes on `buildings`, exactly as in [`CURRENT_SCHEMA`] (a test keeps them
/// equal). A bulk load drops and recreates them: building an index by sorting once is several times
/// faster than 175,700 random inserts into five B-trees.
pub(crate) const LIST_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS buildings_grid_risk ON buildings (grid, risk_key);
CREATE INDEX IF NOT EXISTS buildings_community_risk ON buildings (community, risk_key);
CREATE INDEX IF NOT EXISTS buildings_street_risk ON buildings (street, risk_key);
CREATE INDEX IF NOT EXISTS buildings_risk ON buildings (risk_key);
CREATE INDEX IF NOT EXISTS buildings_blacklisted_risk ON buildings (risk_key) WHERE blacklisted = 1;
";

/// The indexes in [`LIST_INDEXES`], by name.
pub(crate) const LIST_INDEX_NAMES: [&str; 5] = [
    "buildings_grid_risk",
    "buildings_community_risk",
    "buildings_street_risk",
    "buildings_risk",
    "buildings_blacklisted_risk",
];

/// Drops the indexes in [`LIST_INDEXES`] (for a bulk load, which builds them once afterwards).
pub(crate) fn drop_list_indexes(tx: &rusqlite::Transaction<'_>) -> StoreResult<()> {
    for name in LIST_INDEX_NAMES {
        tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

pub(crate) fn user_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database to [`SCHEMA_VERSION`]: a fresh file gets [`CURRENT_SCHEMA`], an older one the
/// missing steps, each in its own transaction with its version bump (so a crash between steps leaves a
/// consistent database at some version, and the next open continues).
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found == 0 && is_empty(conn)? {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(CURRENT_SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        return Ok(());
    }
    migrate_to(conn, SCHEMA_VERSION)
}

/// Applies steps from the current version up to `target`, one transaction per step.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> StoreResult<()> {
    let mut version = user_version(conn)?;
    while version < target {
        let step = usize::try_from(version)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
            .ok_or_else(|| StoreError::corrupt(format!("no migration from version {version}")))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        version += 1;
    }
    Ok(())
}

fn is_empty(conn: &Connection) -> StoreResult<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(n == 0)
}
