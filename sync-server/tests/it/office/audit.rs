//! The audit log: rows for writes and personal-data reads, the admins' query, append-only
//! storage, and the administrator's command line.

use chrono::{DateTime, Duration, Utc};
use gridwalk_core::protocol::{BuildingCorrection, FieldChange, Role, Scope, SyncRecord};
use gridwalk_core::{Contact, RecordId, WorkerId};
use gridwalk_server::db::audit::NewAuditEntry;
use gridwalk_server::db::{AnyDb, Database, PushCtx};
use gridwalk_server::fixtures::{self, DistrictShape, grid_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;
use crate::common::server::{ADMIN, SUPERVISOR, TestServer, W1, expect_error, statuses};

http_test!(audit_rows_for_writes_and_personal_reads);

// --- audit over HTTP -------------------------------------------------------------------------

async fn audit_rows_for_writes_and_personal_reads(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let started = Utc::now() - Duration::seconds(1);
    let w1 = s.login(W1, "phone-1").await;
    let b1 = fixtures::building(1);
    let ins = visit(b1, day(6, 1), W1);
    let ins_id = ins.id.to_string();
    let r = s
        .push(&w1, "phone-1", batch(1, vec![SyncRecord::Inspection(ins)]))
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);
    assert_eq!(
        s.get(&format!("/v1/buildings/{}", b1.code), &w1).await.0,
        StatusCode::OK
    );
    let (status, page) = s.get("/v1/sync/pull?limit=5", &w1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["changes"].as_array().expect("changes").len(), 5);
    // Reads without personal data leave no row.
    assert_eq!(s.get("/v1/auth/me", &w1).await.0, StatusCode::OK);
    // A failed login is a write attempt by nobody known.
    let wrong = s
        .send(
            s.client.post(s.url("/v1/auth/login")).json(
                &json!({"username": W1, "password": "wrong-password", "device_id": "phone-x"}),
            ),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);

    let admin = s.login(ADMIN, "desk-9").await;
    let (status, log) = s.get(&format!("/v1/audit?user={W1}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().expect("entries").clone();
    let rows: Vec<(String, String, bool, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["target"].as_str().expect("target").to_owned(),
                e["personal_data"].as_bool().expect("flag"),
                e["status"].as_u64().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "POST /v1/auth/login".into(),
                "/v1/auth/login".into(),
                false,
                200
            ),
            (
                "POST /v1/sync/push".into(),
                "/v1/sync/push".into(),
                false,
                200
            ),
            (
                "GET /v1/buildings/{code}".into(),
                b1.code.as_str().to_owned(),
                true,
                200
            ),
            (
                "GET /v1/sync/pull".into(),
                "5 building files, changes 0..5".into(),
                true,
                200
            ),
        ]
    );
    for e in &entries {
        assert_eq!(e["device"], "phone-1");
        assert_eq!(e["role"], "worker");
        assert_eq!(
            e["scope"],
            json!({"level": "grid", "id": grid_id(1, 1, 1).as_str()})
        );
        let at: DateTime<Utc> = serde_json::from_value(e["at"].clone()).expect("time");
        assert!(at >= started && at <= Utc::now());
    }
    // Ids only: no contact of the building's owner in any row.
    let whole = log.to_string();
    assert!(!whole.contains(&b1.owner.phone) && !whole.contains(&b1.owner.name));

    // The failed login: nobody known, status 401.
    let (_, failed) = s
        .get("/v1/audit?action=POST%20/v1/auth/login", &admin)
        .await;
    let failed: Vec<&Value> = failed["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["status"] == 401)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0]["user"].clone(), failed[0]["device"].clone()),
        (Value::Null, Value::Null)
    );

    // A decision is a write; contact conflicts are personal reads; the audit query itself too.
    let sup = s.login(SUPERVISOR, "desk-1").await;
    let (status, _) = decide(&s, &sup, &ins_id, "approved", "").await;
    assert_eq!(status, StatusCode::OK);
    let owner_fix = |value: &str| {
        SyncRecord::BuildingCorrection(BuildingCorrection {
            id: RecordId::new(),
            building: b1.code.clone(),
            worker: WorkerId::from(W1),
            change: FieldChange::Owner {
                seen: b1.owner.clone(),
                value: Contact {
                    name: b1.owner.name.clone(),
                    phone: value.to_owned(),
                },
            },
            observed_at: at(day(6, 2)),
            fix: None,
            photos: Vec::new(),
            note: String::new(),
        })
    };
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(2, vec![owner_fix("13800000001"), owner_fix("13800000002")]),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted", "conflict"]);
    let (status, conflicts) = s.get("/v1/review/conflicts", &sup).await;
    assert_eq!(status, StatusCode::OK);
    let k = conflicts.as_array().expect("list");
    assert_eq!(k.len(), 1);
    let (_, log) = s.get(&format!("/v1/audit?user={SUPERVISOR}"), &admin).await;
    let sup_rows: Vec<(String, String, bool)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("a").to_owned(),
                e["target"].as_str().expect("t").to_owned(),
                e["personal_data"].as_bool().expect("p"),
            )
        })
        .collect();
    assert_eq!(
        sup_rows,
        [
            ("POST /v1/auth/login".into(), "/v1/auth/login".into(), false),
            (
                "POST /v1/review/{record}".into(),
                format!("/v1/review/{ins_id}"),
                false
            ),
            (
                "GET /v1/review/conflicts".into(),
                format!("conflicts {}", k[0]["id"]),
                true
            ),
        ]
    );
    assert!(!log.to_string().contains("13800000002"));
    let (_, mine) = s.get("/v1/audit?action=GET%20/v1/audit", &admin).await;
    let mine = mine["entries"].as_array().expect("entries");
    assert_eq!(mine.len(), 3, "the three earlier queries of this admin");
    assert!(
        mine.iter()
            .all(|e| e["user"] == ADMIN && e["personal_data"] == true)
    );

    // Paging and time bounds.
    let (_, p1) = s.get("/v1/audit?limit=2", &admin).await;
    assert_eq!(p1["entries"].as_array().expect("e").len(), 2);
    assert_eq!(p1["has_more"], true);
    let next = p1["next_after"].as_i64().expect("next");
    let (_, p2) = s
        .get(&format!("/v1/audit?limit=2&after={next}"), &admin)
        .await;
    assert!(p2["entries"][0]["id"].as_i64().expect("id") > next);
    let later = (Utc::now() + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, none) = s.get(&format!("/v1/audit?from={later}"), &admin).await;
    assert_eq!(none["entries"], json!([]));
    let (_, before) = s
        .get(&format!("/v1/audit?to={later}&user={W1}"), &admin)
        .await;
    assert_eq!(
        before["entries"].as_array().expect("e").len(),
        5,
        "W1's login, push, building read, pull and the push of the two owner corrections"
    );

    // Only admins read the audit log.
    expect_error(
        &s.get("/v1/audit", &sup).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    for bad in ["?limit=0", "?from=yesterday", "?verbose=1"] {
        expect_error(
            &s.get(&format!("/v1/audit{bad}"), &admin).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

// --- a push's audit row commits with the push (both engines) ----------------------------------

db_test!(a_push_writes_its_audit_row_in_its_own_transaction);

/// The row goes in with the records, so a push whose answer never reached the client (the
/// middleware that logs other writes is dropped with the connection) is still in the log; a push
/// refused as a whole rolls back and leaves no row from its transaction.
async fn a_push_writes_its_audit_row_in_its_own_transaction(db: AnyDb) {
    db.migrate().await.expect("migrate");
    let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
    db.upsert_grids(grids).await.expect("grids");
    db.import_buildings(buildings, false).await.expect("import");
    let b1 = fixtures::building(1);
    let ctx = || PushCtx {
        username: W1.into(),
        scope: Scope::Grid(grid_id(1, 1, 1)),
        device: gridwalk_core::protocol::DeviceId::parse("phone-1").expect("device"),
        now: Utc::now(),
    };
    let row = |status: u16| NewAuditEntry {
        at: Utc::now(),
        user: Some(W1.into()),
        device: Some(gridwalk_core::protocol::DeviceId::parse("phone-1").expect("device")),
        role: Some(Role::Worker),
        scope: Some(Scope::Grid(grid_id(1, 1, 1))),
        action: "POST /v1/sync/push".into(),
        target: "/v1/sync/push".into(),
        personal_data: false,
        status,
    };
    let first = visit(b1, day(6, 1), W1);
    let answer = db
        .push_audited(
            ctx(),
            batch(1, vec![SyncRecord::Inspection(first)]),
            Vec::new(),
            Some(row(200)),
        )
        .await
        .expect("push");
    assert_eq!(answer.device_last_seq, 1);
    // Number 3 after 1: a gap, refused as a whole.
    let gap = batch(3, vec![SyncRecord::Inspection(visit(b1, day(6, 2), W1))]);
    db.push_audited(ctx(), gap, Vec::new(), Some(row(200)))
        .await
        .expect_err("a gap is refused");
    let log = first_rows(&db).await;
    let pushes: Vec<(String, u16)> = log.iter().map(|e| (e.action.clone(), e.status)).collect();
    assert_eq!(pushes, [("POST /v1/sync/push".to_owned(), 200)]);
    assert_eq!(log[0].user.as_deref(), Some(W1));
}

// --- the audit log refuses changes (both engines) --------------------------------------------

async fn one_audit_row<D: Database>(db: &D) {
    db.migrate().await.expect("migrate");
    db.append_audit(NewAuditEntry {
        at: Utc::now(),
        user: Some(ADMIN.into()),
        device: None,
        role: Some(Role::Admin),
        scope: Some(Scope::District),
        action: "POST /v1/admin/users/{username}/revoke-tokens".into(),
        target: "/v1/admin/users/w-x/revoke-tokens".into(),
        personal_data: false,
        status: 200,
    })
    .await
    .expect("append");
}

/// The first ten rows of the log, oldest first.
async fn first_rows<D: Database>(db: &D) -> Vec<gridwalk_core::protocol::AuditEntry> {
    db.audit_log(gridwalk_server::db::audit::AuditFilter {
        limit: 10,
        ..Default::default()
    })
    .await
    .expect("log")
    .0
}

async fn rows<D: Database>(db: &D) -> usize {
    first_rows(db).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_is_append_only_on_sqlite() {
    let (dir, db) = crate::common::sqlite_db().await;
    one_audit_row(&db).await;
    let raw = rusqlite::Connection::open(dir.path().join("gridwalk.sqlite")).expect("open");
    for sql in [
        "UPDATE audit_log SET target = 'nothing happened'",
        "DELETE FROM audit_log",
    ] {
        let err = raw.execute(sql, []).expect_err(sql);
        assert!(
            err.to_string().contains("audit_log is append-only"),
            "{sql}: {err}"
        );
    }
    assert_eq!(rows(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_is_append_only_on_postgres() {
    let Some(url) = crate::common::pg_url("review::audit_log_is_append_only_on_postgres").await
    else {
        return;
    };
    let db = gridwalk_server::db::PgDb::connect(&url)
        .await
        .expect("connect");
    one_audit_row(&db).await;
    let (raw, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect raw");
    let driver = tokio::spawn(conn);
    for sql in [
        "UPDATE audit_log SET target = 'nothing happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = raw.batch_execute(sql).await.expect_err(sql);
        let msg = err
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert_eq!(msg, "audit_log is append-only", "{sql}: {err}");
    }
    assert_eq!(rows(&db).await, 1);
    drop(raw);
    let _ = driver.await;
}

// --- the administrator's command line is audited too -----------------------------------------

fn cli(args: &[&str], data: &std::path::Path, stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .env_remove("GRIDWALK_CONFIG")
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DB")
        .env("RUST_LOG", "warn")
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_account_changes_are_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    for (args, stdin) in [
        (vec!["migrate"], ""),
        (
            vec![
                "user",
                "add",
                "w9",
                "--role",
                "worker",
                "--scope",
                "grid:G0001",
            ],
            "long-enough-pw\n",
        ),
        (vec!["user", "revoke", "w9"], ""),
    ] {
        let (code, err) = cli(&args, data, stdin);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let db = gridwalk_server::db::SqliteDb::open(data.join("gridwalk.sqlite"))
        .await
        .expect("open");
    let log = first_rows(&db).await;
    let rows: Vec<(&str, &str, Option<&str>, u16)> = log
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.target.as_str(),
                e.user.as_deref(),
                e.status,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("CLI user add", "user w9", None, 0),
            ("CLI user revoke", "user w9", None, 0)
        ]
    );
}
