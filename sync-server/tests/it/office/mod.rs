//! The office side of the archive (issue 5, part C): supervisor review, worker assessment and the
//! audit log. Each test runs on SQLite and on PostgreSQL, through the real server (HTTP) or the
//! storage trait with the server's own assessment code.

#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gridwalk_core::protocol::{PushRecord, Role, Scope, SyncRecord};
use gridwalk_core::{
    Building, Event, EventKind, EventStatus, GeoPoint, Inspection, ItemId, Notice, NoticeRecipient,
    Severity,
};
use gridwalk_server::auth::{self, Passwords};
use gridwalk_server::config::PasswordHashParams;
use gridwalk_server::fixtures::{self, grid_id};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::server::{PASSWORD, TestServer};

/// `name::sqlite` and `name::postgres` for a test taking a fresh (unmigrated) engine.
macro_rules! db_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (_dir, db) = crate::common::sqlite_db().await;
                super::$name(gridwalk_server::db::AnyDb::Sqlite(db)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) =
                    crate::common::pg_db(concat!(module_path!(), "::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(gridwalk_server::db::AnyDb::Postgres(db)).await;
            }
        }
    )*};
}

mod assessment;
mod audit;
mod review;

// --- records with known days and places ----------------------------------------------------

pub(crate) fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

/// 10:00 in Shenzhen (UTC+8) on `d`: the local day is `d`.
pub(crate) fn at(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(2, 0, 0).expect("time").and_utc()
}

/// An inspection of `b` by `who` on `d`, its fix on the building.
pub(crate) fn visit(b: &Building, d: NaiveDate, who: &str) -> Inspection {
    let mut i = fixtures::inspection(&b.code, who, Vec::new());
    i.started_at = at(d);
    i.finished_at = at(d) + Duration::minutes(12);
    i.fix.point = b.location;
    i.fix.taken_at = at(d);
    i
}

/// `i` with its fix about 300 m north of its building.
pub(crate) fn off_site(mut i: Inspection, b: &Building) -> Inspection {
    i.fix.point = GeoPoint {
        lat: b.location.lat + 0.0027,
        lon: b.location.lon,
    };
    i
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn event(
    b: &Building,
    who: &str,
    kind: EventKind,
    category: &str,
    severity: Severity,
    reported: NaiveDate,
    deadline: Option<NaiveDate>,
    status: EventStatus,
) -> Event {
    let mut e = fixtures::hazard(&b.code, who);
    e.kind = kind;
    e.category = ItemId::from(category);
    e.severity = severity;
    e.reported_at = at(reported);
    e.fix.point = b.location;
    e.fix.taken_at = at(reported);
    e.notice = deadline.map(|deadline| Notice {
        recipients: vec![NoticeRecipient::Owner, NoticeRecipient::Manager],
        deadline,
    });
    e.status = status;
    e
}

pub(crate) fn batch(first: u64, records: Vec<SyncRecord>) -> Vec<PushRecord> {
    fixtures::batch(first, records)
}

pub(crate) fn rid(v: &Value) -> String {
    v.as_str().expect("id").to_owned()
}

pub(crate) async fn post(
    s: &TestServer,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    s.send(s.client.post(s.url(path)).bearer_auth(token).json(&body))
        .await
}

pub(crate) async fn decide(
    s: &TestServer,
    token: &str,
    record: &str,
    decision: &str,
    comment: &str,
) -> (StatusCode, Value) {
    post(
        s,
        &format!("/v1/review/{record}"),
        token,
        json!({"decision": decision, "comment": comment}),
    )
    .await
}

pub(crate) async fn queue(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = s.get(&format!("/v1/review/queue{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

pub(crate) fn item<'a>(items: &'a [Value], record: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["record"] == record)
        .unwrap_or_else(|| panic!("{record} not in the queue"))
}

/// The review changes of a worker's pull from the start.
pub(crate) async fn reviews_pulled(s: &TestServer, token: &str) -> Vec<Value> {
    let (status, body) = s.get("/v1/sync/pull?limit=5000", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["has_more"], false);
    body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["type"] == "review")
        .map(|c| c["outcome"].clone())
        .collect()
}

/// An account for the worker of a grid the test server has no account for.
pub(crate) async fn add_worker(s: &TestServer, street: u32, community: u32, grid: u32) -> String {
    let name = fixtures::worker(street, community, grid);
    let passwords = std::sync::Arc::new(
        Passwords::new(&PasswordHashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params"),
    );
    auth::add_user(
        s.db(),
        passwords,
        &name,
        PASSWORD.into(),
        Role::Worker,
        Scope::Grid(grid_id(street, community, grid)),
    )
    .await
    .expect("add worker");
    name
}
