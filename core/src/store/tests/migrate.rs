//! Every earlier schema version upgrades to exactly the fresh schema, keeping its rows.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::domain::{BuildingCode, GridId, Stars};
use crate::store::schema::{MIGRATIONS, SCHEMA_VERSION, migrate_to, user_version};
use crate::store::tests::fixtures::*;
use crate::store::{Archive, ArchiveOptions};

/// sqlite_master as a set of (type, name, table, normalized SQL): comments dropped, whitespace
/// collapsed, no space before or after punctuation — text differences that mean nothing to SQLite.
fn schema_of(conn: &Connection) -> BTreeSet<(String, String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master")
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            normalize(&r.get::<_, String>(3)?),
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn normalize(sql: &str) -> String {
    let without_comments: Vec<&str> = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect();
    let collapsed = without_comments
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = collapsed;
    for p in ["(", ")", ",", "="] {
        out = out
            .replace(&format!(" {p}"), p)
            .replace(&format!("{p} "), p);
    }
    out
}

fn schema_at(path: &std::path::Path) -> BTreeSet<(String, String, String, String)> {
    schema_of(&Connection::open(path).expect("raw open"))
}

/// Rows a version-k database can hold, written with that version's own columns.
fn seed(conn: &Connection, version: i64) {
    if version >= 1 {
        conn.execute_batch(
            "INSERT INTO grids (id, name, boundary_json, community, street, worker) \
             VALUES ('G1', 'Grid G1', '[{\"lat\":22.55,\"lon\":113.88}]', 'C1', 'S1', 'worker-01');
             INSERT INTO buildings (code, address, lat, lon, street, community, grid, floors, units, \
               usage, owner_json, manager_json, building_head_json, stars, score_safety_livability, \
               score_management, score_honesty_credit, score_civility_hygiene, open_hazards, \
               blacklisted, last_inspected_at, next_due_on) \
             VALUES ('4403060010010010000000001', 'Lane 1', 22.555, 113.885, 'S1', 'C1', 'G1', 7, \
               42, 'residential', '{\"name\":\"O\",\"phone\":\"1\"}', NULL, NULL, 2, NULL, NULL, \
               NULL, NULL, 1, 0, NULL, '2025-03-10');
             INSERT INTO catalog (version, catalog_json, installed_at) \
             VALUES (7, '', '2025-01-01T00:00:00.000000000Z');",
        )
        .expect("seed v1");
        // The catalog row must be a real catalog to be read back.
        let mut c = crate::Catalog::default_catalog().expect("catalog");
        c.version = 7;
        conn.execute(
            "UPDATE catalog SET catalog_json = ?1 WHERE version = 7",
            [serde_json::to_string(&c).expect("json")],
        )
        .expect("seed catalog");
    }
    if (2..5).contains(&version) {
        // An entry an older app version queued and never sent: it must still go out after the
        // upgrade, numbered by the push counter.
        let old = inspection(900);
        conn.execute(
            "INSERT INTO outbox (record_id, record_kind, payload_json, state, queued_at, \
             state_changed_at) VALUES (?1, 'inspection', ?2, 'pending', \
             '2025-02-01T00:00:00.000000000Z', '2025-02-01T00:00:00.000000000Z')",
            (
                old.id.0.to_string(),
                serde_json::to_string(&old).expect("json"),
            ),
        )
        .expect("seed v2 outbox");
    }
    if version == 5 {
        // v5 numbered entries when a push claimed them: one left in flight by a push that was cut
        // short (number 1), and one never sent (no number). After the upgrade both wait, in that
        // order, and nothing counts as sent beyond number 1.
        for (n, state, push_seq) in [(901, "in_flight", Some(1)), (900, "pending", None)] {
            let record = inspection(n);
            conn.execute(
                "INSERT INTO outbox (record_id, record_kind, state, queued_at, state_changed_at, \
                 push_seq) VALUES (?1, 'inspection', ?2, '2025-02-01T00:00:00.000000000Z', \
                 '2025-02-01T00:00:00.000000000Z', ?3)",
                (record.id.0.to_string(), state, push_seq),
            )
            .expect("seed v5 outbox");
            conn.execute(
                "INSERT INTO outbox_payloads (seq, payload_json) VALUES (last_insert_rowid(), ?1)",
                [serde_json::to_string(&record).expect("json")],
            )
            .expect("seed v5 payload");
        }
        conn.execute("UPDATE sync_state SET last_push_seq = 1", [])
            .expect("seed v5 counter");
    }
    if version == 2 {
        // The same record edited before it was sent: only this newest version may go out (a v3
        // archive supersedes the old entry when the edit is made; v2 left both pending).
        let old: crate::domain::Inspection = conn
            .query_row("SELECT payload_json FROM outbox", [], |r| {
                r.get::<_, String>(0)
            })
            .map(|json| serde_json::from_str(&json).expect("seeded entry"))
            .expect("seeded entry");
        let mut edited = old.clone();
        edited.note = "edited under v2".into();
        conn.execute(
            "INSERT INTO outbox (record_id, record_kind, payload_json, state, queued_at, \
             state_changed_at) VALUES (?1, 'inspection', ?2, 'pending', \
             '2025-02-02T00:00:00.000000000Z', '2025-02-02T00:00:00.000000000Z')",
            (
                edited.id.0.to_string(),
                serde_json::to_string(&edited).expect("json"),
            ),
        )
        .expect("seed v2 edit");
    }
}

fn check_seeded_rows(archive: &Archive, version: i64) {
    if version >= 1 {
        let code = BuildingCode::parse("4403060010010010000000001").expect("code");
        let b = archive.building(&code).expect("read").expect("survived");
        assert_eq!(b.stars, Some(Stars::new(2).expect("2")));
        assert_eq!(b.open_hazards, 1);
        assert_eq!(b.next_due_on, Some(day("2025-03-10")));
        assert!(archive.grid(&GridId::from("G1")).expect("read").is_some());
        assert_eq!(archive.catalog().expect("catalog").version, 7);
    }
    if version >= 2 {
        let pending = archive.pending_outbox(10).expect("pending");
        let expected: &[u64] = if version == 5 { &[1, 2] } else { &[1] };
        assert_eq!(
            pending.iter().map(|e| e.push_seq).collect::<Vec<_>>(),
            expected.iter().map(|&n| Some(n)).collect::<Vec<_>>(),
            "v{version}: waiting entries and their numbers"
        );
        assert_eq!(pending[0].kind, crate::store::RecordKind::Inspection);
        assert_eq!(
            pending[0].record().expect("decodes").id(),
            pending[0].record_id
        );
        let batch = archive.claim_push_batch(10).expect("claim");
        assert_eq!(
            batch.iter().map(|i| i.push_seq).collect::<Vec<_>>(),
            expected,
            "the numbers an upgraded archive pushes"
        );
        assert_eq!(
            archive.requeue_in_flight().expect("unclaim"),
            expected.len()
        );
        assert_eq!(
            archive.sync_state().expect("state").last_push_seq,
            expected.len() as u64
        );
    }
    let state = archive.sync_state().expect("sync state");
    assert_eq!(state.pull_cursor, None);
    assert!(state.session.is_none());
}

#[test]
fn store_migrations_one_step_per_version() {
    assert_eq!(MIGRATIONS.len() as i64, SCHEMA_VERSION);
}

#[test]
fn store_every_earlier_version_upgrades_to_the_fresh_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh_path = dir.path().join("fresh.db");
    drop(Archive::open(&fresh_path, ArchiveOptions::default()).expect("fresh"));
    let fresh = schema_at(&fresh_path);
    assert!(
        fresh
            .iter()
            .any(|(_, name, _, _)| name == "buildings_grid_risk"),
        "sanity: the fresh schema has the list indexes"
    );

    for version in 1..SCHEMA_VERSION {
        let path = dir.path().join(format!("v{version}.db"));
        {
            let mut conn = Connection::open(&path).expect("raw open");
            migrate_to(&mut conn, version).expect("build old version");
            assert_eq!(user_version(&conn).expect("version"), version);
            seed(&conn, version);
        }
        let archive = Archive::open(&path, ArchiveOptions::default()).expect("upgrade");
        assert_eq!(archive.schema_version().expect("version"), SCHEMA_VERSION);
        check_seeded_rows(&archive, version);
        // The upgraded archive is fully usable: capture works.
        archive
            .record_inspection(&inspection(1))
            .expect("capture after upgrade");
        drop(archive);
        // v4 stores the list key the v3 table computed on read: same text.
        let key: String = Connection::open(&path)
            .expect("raw open")
            .query_row(
                "SELECT risk_key FROM buildings WHERE code = '4403060010010010000000001'",
                [],
                |r| r.get(0),
            )
            .expect("risk key");
        assert_eq!(key, "2|2025-03-10|4294967294|4403060010010010000000001");
        let upgraded = schema_at(&path);
        let only_fresh: Vec<_> = fresh.difference(&upgraded).collect();
        let only_upgraded: Vec<_> = upgraded.difference(&fresh).collect();
        assert!(
            only_fresh.is_empty() && only_upgraded.is_empty(),
            "v{version} upgraded differs from fresh:\nonly fresh: {only_fresh:#?}\nonly upgraded: {only_upgraded:#?}"
        );
    }
}

#[test]
fn store_normalize_ignores_layout_not_content() {
    assert_eq!(
        normalize("CREATE TABLE a (\n  x INTEGER, -- why\n  y TEXT\n)"),
        normalize("CREATE TABLE a (x INTEGER, y TEXT)")
    );
    assert_ne!(
        normalize("CREATE TABLE a (x INTEGER)"),
        normalize("CREATE TABLE a (x TEXT)")
    );
}

/// A bulk load drops and rebuilds the list indexes; afterwards the schema is exactly the fresh one
/// and the data and the list are right.
#[test]
fn store_bulk_load_rebuilds_the_list_indexes_exactly() {
    let f = Fixture::new();
    let fresh_dir = tempfile::tempdir().expect("tempdir");
    let fresh_path = fresh_dir.path().join("fresh.db");
    drop(Archive::open(&fresh_path, ArchiveOptions::default()).expect("fresh"));

    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    let mut buildings: Vec<_> = (0..10_000u32)
        .map(|n| crate::domain::Building {
            stars: Stars::new((n % 5 + 1) as u8).ok(),
            ..building(n, &grids[(n % 4) as usize])
        })
        .collect();
    f.archive.upsert_buildings(&buildings).expect("bulk load");
    buildings[9_999].stars = None;
    f.archive.upsert_buildings(&buildings).expect("bulk reload");
    let path = f.dir.path().join("archive.db");
    assert_eq!(schema_at(&path), schema_at(&fresh_path));

    assert_eq!(f.archive.building_count().expect("count"), 10_000);
    assert_eq!(
        f.archive.building(&code(9_999)).expect("read"),
        Some(buildings[9_999].clone())
    );
    let (first, _) = f
        .archive
        .building_list(
            &crate::store::BuildingFilter::all_in(crate::store::Scope::Grid(GridId::from("G4"))),
            &crate::store::Page::first(1),
        )
        .expect("list");
    assert_eq!(
        first[0].code,
        code(9_999),
        "the unrated building leads its grid"
    );
}

/// A bootstrap pull page is loaded with the list indexes dropped; the list answers without them,
/// and once they are built again the schema is exactly the fresh one.
#[test]
fn store_bulk_pull_page_rebuilds_the_list_indexes_exactly() {
    use crate::protocol::{Change, Cursor, PullResponse};
    let f = Fixture::new();
    let fresh_dir = tempfile::tempdir().expect("tempdir");
    let fresh_path = fresh_dir.path().join("fresh.db");
    drop(Archive::open(&fresh_path, ArchiveOptions::default()).expect("fresh"));
    let grids = district_grids();
    let page = PullResponse {
        changes: (0..1_500u32)
            .map(|n| Change::Building {
                building: Box::new(building(n, &grids[(n % 4) as usize])),
                rating: None,
            })
            .collect(),
        next_cursor: Cursor("c1.1500.x".into()),
        has_more: false,
        reset: false,
        catalog_version: 1,
        policy_version: 1,
        missing_photos: vec![],
    };
    let applied = f.archive.apply_pull_page(&page).expect("bulk page");
    assert_eq!(applied.buildings, 1_500);
    let path = f.dir.path().join("archive.db");
    assert_eq!(
        list_index_count(&path),
        0,
        "left to be built after the pull"
    );
    let list = || {
        f.archive
            .building_list(
                &crate::store::BuildingFilter::all_in(crate::store::Scope::Grid(GridId::from(
                    "G2",
                ))),
                &crate::store::Page::first(500),
            )
            .expect("list")
            .0
    };
    let unindexed = list();
    assert_eq!(unindexed.len(), 375);
    assert!(f.archive.ensure_list_indexes().expect("build"), "built");
    assert_eq!(schema_at(&path), schema_at(&fresh_path));
    assert_eq!(list(), unindexed, "the same rows in the same order");
    assert!(
        !f.archive.ensure_list_indexes().expect("again"),
        "nothing to build"
    );
}

fn list_index_count(path: &std::path::Path) -> usize {
    schema_at(path)
        .iter()
        .filter(|(kind, name, _, _)| {
            kind == "index" && name.starts_with("buildings_") && name.contains("risk")
        })
        .count()
}

/// A bootstrap of several pages leaves the list indexes dropped until they are built once after it
/// (the sync client's upkeep); a pull killed between pages leaves them dropped, and the next open
/// of the archive builds them again.
#[test]
fn store_multi_page_bootstrap_builds_the_indexes_after_its_last_page_or_at_next_open() {
    use crate::protocol::{Change, Cursor, PullResponse};
    let f = Fixture::new();
    let grids = district_grids();
    let page = |from: u32, has_more: bool| PullResponse {
        changes: (from..from + 1_500)
            .map(|n| Change::Building {
                building: Box::new(building(n, &grids[(n % 4) as usize])),
                rating: None,
            })
            .collect(),
        next_cursor: Cursor(format!("c1.{}.x", from + 1_500)),
        has_more,
        reset: false,
        catalog_version: 1,
        policy_version: 1,
        missing_photos: vec![],
    };
    let path = f.dir.path().join("archive.db");
    assert_eq!(list_index_count(&path), 5);
    f.archive.apply_pull_page(&page(0, true)).expect("page 1");
    assert_eq!(list_index_count(&path), 0, "built at the end, not per page");
    f.archive
        .apply_pull_page(&page(1_500, false))
        .expect("page 2");
    assert_eq!(
        list_index_count(&path),
        0,
        "not in the pull's last transaction"
    );
    assert!(f.archive.ensure_list_indexes().expect("build"));
    assert_eq!(list_index_count(&path), 5);

    // A second phone's bootstrap dies after its first page.
    let g = Fixture::new();
    g.archive.apply_pull_page(&page(0, true)).expect("page 1");
    let killed_path = g.dir.path().join("archive.db");
    assert_eq!(list_index_count(&killed_path), 0);
    let (rows, _) = g
        .archive
        .building_list(
            &crate::store::BuildingFilter::all_in(crate::store::Scope::Grid(GridId::from("G2"))),
            &crate::store::Page::first(500),
        )
        .expect("the list answers while the indexes are missing");
    assert_eq!(rows.len(), 375);
    drop(g.archive);
    let reopened = Archive::open(&killed_path, ArchiveOptions::default()).expect("reopen");
    assert_eq!(list_index_count(&killed_path), 5);
    let (rows, _) = reopened
        .building_list(
            &crate::store::BuildingFilter::all_in(crate::store::Scope::Grid(GridId::from("G2"))),
            &crate::store::Page::first(500),
        )
        .expect("list");
    assert_eq!(rows.len(), 375);
}
