//! Supervisor review, worker assessment and the audit log: each test runs on SQLite and on
//! PostgreSQL, through the real server (HTTP) or the storage trait with the server's own
//! assessment code.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gridwalk_core::protocol::{
    BuildingCorrection, FieldChange, PushRecord, ReviewDecision, ReviewOutcome, ReviewState, Role,
    Scope, SyncRecord,
};
use gridwalk_core::{
    Building, Contact, Event, EventKind, EventStatus, GeoPoint, Inspection, ItemId, Notice,
    NoticeRecipient, Policy, RecordId, Severity, Stars, WorkerId,
};
use gridwalk_server::assessment;
use gridwalk_server::auth::{self, Passwords};
use gridwalk_server::config::PasswordHashParams;
use gridwalk_server::db::review::{NewAuditEntry, ReviewQueueParams};
use gridwalk_server::db::{AnyDb, Database, PushCtx};
use gridwalk_server::fixtures::{self, DistrictShape, Sample, code, grid_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::server::{
    ADMIN, OFFICER, PASSWORD, SUPERVISOR, TestServer, W1, W2, expect_error, statuses,
};

macro_rules! http_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (db, dir) = crate::common::server::sqlite().await;
                super::$name(db, dir).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((db, dir)) =
                    crate::common::server::postgres(concat!("review::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(db, dir).await;
            }
        }
    )*};
}

http_test!(
    send_back_reaches_the_worker_and_the_resubmission_links,
    queue_filters_pages_and_keeps_to_the_scope,
    assessment_endpoints_keep_to_the_scope_and_count_the_records,
    audit_rows_for_writes_and_personal_reads,
);

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
                let Some(db) = crate::common::pg_db(concat!("review::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(gridwalk_server::db::AnyDb::Postgres(db)).await;
            }
        }
    )*};
}

db_test!(
    assessment_matches_the_hand_count,
    decisions_recorded_directly_show_in_the_queue
);

// --- records with known days and places ----------------------------------------------------

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

/// 10:00 in Shenzhen (UTC+8) on `d`: the local day is `d`.
fn at(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(2, 0, 0).expect("time").and_utc()
}

/// An inspection of `b` by `who` on `d`, its fix on the building.
fn visit(b: &Building, d: NaiveDate, who: &str) -> Inspection {
    let mut i = fixtures::inspection(&b.code, who, Vec::new());
    i.started_at = at(d);
    i.finished_at = at(d) + Duration::minutes(12);
    i.fix.point = b.location;
    i.fix.taken_at = at(d);
    i
}

/// `i` with its fix about 300 m north of its building.
fn off_site(mut i: Inspection, b: &Building) -> Inspection {
    i.fix.point = GeoPoint {
        lat: b.location.lat + 0.0027,
        lon: b.location.lon,
    };
    i
}

#[allow(clippy::too_many_arguments)]
fn event(
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

fn batch(first: u64, records: Vec<SyncRecord>) -> Vec<PushRecord> {
    fixtures::batch(first, records)
}

fn rid(v: &Value) -> String {
    v.as_str().expect("id").to_owned()
}

async fn post(s: &TestServer, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    s.send(s.client.post(s.url(path)).bearer_auth(token).json(&body))
        .await
}

async fn decide(
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

async fn queue(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = s.get(&format!("/v1/review/queue{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

fn item<'a>(items: &'a [Value], record: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["record"] == record)
        .unwrap_or_else(|| panic!("{record} not in the queue"))
}

/// The review changes of a worker's pull from the start.
async fn reviews_pulled(s: &TestServer, token: &str) -> Vec<Value> {
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
async fn add_worker(s: &TestServer, street: u32, community: u32, grid: u32) -> String {
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

// --- review over HTTP ------------------------------------------------------------------------

async fn send_back_reaches_the_worker_and_the_resubmission_links(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let sup = s.login(SUPERVISOR, "desk-1").await;
    let (b1, b2, b3) = (
        fixtures::building(1),
        fixtures::building(2),
        fixtures::building(3),
    );
    let a = visit(b1, day(6, 1), W1);
    let b = off_site(visit(b2, day(6, 1), W1), b2);
    let e = event(
        b3,
        W1,
        EventKind::Hazard,
        "fire_hazard",
        Severity::High,
        day(6, 1),
        None,
        EventStatus::Reported,
    );
    let (a_id, b_id, e_id) = (a.id.to_string(), b.id.to_string(), e.id.to_string());
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(a.clone()),
                    SyncRecord::Inspection(b),
                    SyncRecord::Event(e),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted", "accepted", "accepted"]);

    // The queue: oldest first, presence judged against the building, nothing decided.
    let items = queue(&s, &sup, "").await;
    let ids: Vec<String> = items.iter().map(|i| rid(&i["record"])).collect();
    assert_eq!(ids, [a_id.clone(), b_id.clone(), e_id.clone()]);
    let ia = item(&items, &a_id);
    assert_eq!(
        (
            ia["kind"].clone(),
            ia["off_site"].clone(),
            ia["state"].clone()
        ),
        (json!("inspection"), json!(false), json!("pending"))
    );
    assert!(ia["distance_m"].as_f64().expect("distance") < 0.01);
    assert_eq!(ia["decision"], Value::Null);
    assert_eq!(ia["corrects"], Value::Null);
    assert_eq!(ia["original"], a_id.as_str());
    assert_eq!(ia["worker"], W1);
    assert_eq!(ia["device"], "phone-1");
    assert_eq!(ia["grid"], grid_id(1, 1, 1).as_str());
    let ib = item(&items, &b_id);
    assert_eq!(ib["off_site"], true);
    let d = ib["distance_m"].as_f64().expect("distance");
    assert!((d - 300.2).abs() < 1.0, "{d}");
    assert_eq!(
        (ib["radius_m"].clone(), ib["accuracy_m"].clone()),
        (json!(50.0), json!(8.0))
    );
    assert_eq!(item(&items, &e_id)["kind"], "event");

    // A send-back needs words for the worker.
    expect_error(
        &decide(&s, &sup, &a_id, "sent_back", "  \n ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "comment_required",
    );
    let comment = "消防通道照片缺失 — add the escape-route photo";
    let (status, sent) = decide(&s, &sup, &a_id, "sent_back", &format!(" {comment} ")).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["state"], "sent_back");
    assert_eq!(sent["decision"]["comment"], comment);
    assert_eq!(sent["decision"]["reviewer"], SUPERVISOR);

    // The worker's next pull carries it; W2 sees nothing of it.
    let pulled = reviews_pulled(&s, &w1).await;
    assert_eq!(pulled.len(), 1);
    assert_eq!(
        (
            pulled[0]["record"].clone(),
            pulled[0]["decision"].clone(),
            pulled[0]["comment"].clone()
        ),
        (json!(a_id), json!("sent_back"), json!(comment))
    );
    let w2 = s.login(W2, "phone-2").await;
    assert!(reviews_pulled(&s, &w2).await.is_empty());

    // The correction arrives, linked: the original is closed as resubmitted.
    let mut fix = visit(b1, day(6, 2), W1);
    fix.corrects = Some(a.id);
    let fix_id = fix.id.to_string();
    let r = s
        .push(&w1, "phone-1", batch(4, vec![SyncRecord::Inspection(fix)]))
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);
    let items = queue(&s, &sup, "").await;
    assert_eq!(items.len(), 4);
    let ia = item(&items, &a_id);
    assert_eq!(ia["state"], "resubmitted");
    assert_eq!(ia["corrected_by"], fix_id.as_str());
    assert_eq!(ia["decision"]["decision"], "sent_back");
    let ic = item(&items, &fix_id);
    assert_eq!(
        (
            ic["corrects"].clone(),
            ic["original"].clone(),
            ic["state"].clone()
        ),
        (json!(a_id), json!(a_id), json!("pending"))
    );
    let resubmitted = queue(&s, &sup, "?state=resubmitted").await;
    assert_eq!(resubmitted.len(), 1);
    assert_eq!(resubmitted[0]["record"], a_id.as_str());

    // Closed reports stay closed; the correction is decided in its own right.
    expect_error(
        &decide(&s, &sup, &a_id, "approved", "").await,
        StatusCode::CONFLICT,
        "review_closed",
    );
    let (status, ok) = decide(&s, &sup, &fix_id, "approved", "").await;
    assert_eq!(
        (status, ok["state"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    // A retried approval changes nothing and sends nothing new to the phone.
    let (status, again) = decide(&s, &sup, &fix_id, "approved", "").await;
    assert_eq!(
        (status, again["state"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    assert_eq!(reviews_pulled(&s, &w1).await.len(), 2);
    expect_error(
        &decide(&s, &sup, &fix_id, "sent_back", "second thoughts").await,
        StatusCode::CONFLICT,
        "review_closed",
    );

    // A send-back may be reworded, then withdrawn by approving, until a correction arrives.
    for (decision, comment, state) in [
        ("sent_back", "the fix is far from the building", "sent_back"),
        ("sent_back", "photo of the gate, please", "sent_back"),
        ("approved", "explained by phone", "approved"),
    ] {
        let (status, body) = decide(&s, &sup, &b_id, decision, comment).await;
        assert_eq!(
            (status, body["state"].clone()),
            (StatusCode::OK, json!(state)),
            "{body}"
        );
    }
    let pulled = reviews_pulled(&s, &w1).await;
    let of_b: Vec<&Value> = pulled.iter().filter(|o| o["record"] == b_id).collect();
    assert_eq!(of_b.len(), 3);
    assert_eq!(of_b[2]["comment"], "explained by phone");

    // Who may decide, on what.
    expect_error(
        &decide(&s, &w1, &e_id, "approved", "").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let officer = s.login(OFFICER, "desk-2").await;
    expect_error(
        &s.get("/v1/review/queue", &officer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let unknown = RecordId::new().to_string();
    expect_error(
        &decide(&s, &sup, &unknown, "approved", "").await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    let admin = s.login(ADMIN, "desk-3").await;
    expect_error(
        &decide(&s, &admin, &unknown, "approved", "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_error(
        &decide(&s, &sup, "not-a-uuid", "approved", "").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    expect_error(
        &post(
            &s,
            &format!("/v1/review/{e_id}"),
            &sup,
            json!({"decision": "approved", "urgent": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
    );
    let too_long = "x".repeat(2_001);
    expect_error(
        &decide(&s, &sup, &e_id, "sent_back", &too_long).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    // Building corrections are conflicts, not reviews.
    let corr = fixtures::floors_correction(&b1.code, W1, b1.floors, b1.floors + 1);
    let corr_id = corr.id.to_string();
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(5, vec![SyncRecord::BuildingCorrection(corr)]),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);
    expect_error(
        &decide(&s, &sup, &corr_id, "approved", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(
        queue(&s, &sup, "").await.len(),
        4,
        "corrections are not queued"
    );
}

async fn queue_filters_pages_and_keeps_to_the_scope(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let w2 = s.login(W2, "phone-2").await;
    let b = |n| fixtures::building(n);
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(visit(b(1), day(6, 1), W1)),
                    SyncRecord::Inspection(off_site(visit(b(2), day(6, 1), W1), b(2))),
                    SyncRecord::Inspection(visit(b(3), day(6, 1), W1)),
                    SyncRecord::Event(event(
                        b(4),
                        W1,
                        EventKind::Hazard,
                        "fire_hazard",
                        Severity::Medium,
                        day(6, 1),
                        None,
                        EventStatus::Reported,
                    )),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"; 4]);
    let r = s
        .push(
            &w2,
            "phone-2",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(visit(b(13), day(6, 1), W2)),
                    SyncRecord::Inspection(visit(b(14), day(6, 1), W2)),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"; 2]);
    // A worker of street 2 (building 73 is the first of street 2): outside the supervisor's street.
    let far = add_worker(&s, 2, 1, 1).await;
    let wf = s.login(&far, "phone-3").await;
    let r = s
        .push(
            &wf,
            "phone-3",
            batch(
                1,
                vec![SyncRecord::Inspection(visit(b(73), day(6, 1), &far))],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);

    let sup = s.login(SUPERVISOR, "desk-1").await;
    let admin = s.login(ADMIN, "desk-2").await;
    assert_eq!(queue(&s, &sup, "").await.len(), 6);
    assert_eq!(queue(&s, &admin, "").await.len(), 7);
    let count = |items: Vec<Value>| items.len();
    assert_eq!(count(queue(&s, &sup, "?kind=event").await), 1);
    assert_eq!(count(queue(&s, &sup, "?kind=inspection").await), 5);
    let off = queue(&s, &sup, "?off_site=true").await;
    assert_eq!(off.len(), 1);
    assert_eq!(off[0]["building"], code(2).as_str());
    assert_eq!(count(queue(&s, &sup, "?off_site=false").await), 5);
    let g2 = grid_id(1, 1, 2);
    assert_eq!(count(queue(&s, &sup, &format!("?grid={g2}")).await), 2);
    assert_eq!(count(queue(&s, &sup, &format!("?worker={W2}")).await), 2);
    assert_eq!(
        count(queue(&s, &sup, &format!("?worker={far}")).await),
        0,
        "another street's worker is invisible to this supervisor"
    );
    assert_eq!(count(queue(&s, &admin, &format!("?worker={far}")).await), 1);
    assert_eq!(
        count(
            queue(
                &s,
                &sup,
                &format!("?grid={g2}&kind=inspection&off_site=false&state=pending")
            )
            .await
        ),
        2
    );

    let first = rid(&queue(&s, &sup, "").await[0]["record"]);
    let (status, _) = decide(&s, &sup, &first, "sent_back", "which floor?").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(queue(&s, &sup, "?state=pending").await), 5);
    let sent = queue(&s, &sup, "?state=sent_back").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["record"], first.as_str());
    assert_eq!(count(queue(&s, &sup, "?state=approved").await), 0);

    // Paging by server sequence.
    let (status, p1) = s.get("/v1/review/queue?limit=4", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p1["items"].as_array().expect("items").len(), 4);
    assert_eq!(p1["has_more"], true);
    let next = p1["next_after"].as_u64().expect("next");
    assert_eq!(p1["items"][3]["seq"].as_u64(), Some(next));
    let (_, p2) = s
        .get(&format!("/v1/review/queue?limit=4&after={next}"), &sup)
        .await;
    assert_eq!(p2["items"].as_array().expect("items").len(), 2);
    assert_eq!(
        (p2["has_more"].clone(), p2["next_after"].clone()),
        (json!(false), Value::Null)
    );

    for bad in [
        "?limit=0",
        "?limit=501",
        "?sort=newest",
        "?state=lost",
        "?off_site=maybe",
    ] {
        expect_error(
            &s.get(&format!("/v1/review/queue{bad}"), &sup).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

// --- assessment over HTTP --------------------------------------------------------------------

async fn assessment_endpoints_keep_to_the_scope_and_count_the_records(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let w2 = s.login(W2, "phone-2").await;
    let b = |n| fixtures::building(n);
    // June 2026 in grid 1 (12 buildings): four visits of three buildings, one off site; a hazard
    // on building 3 with a notice deadline of 06-10, followed up by the visit of 06-11 (within
    // the 2 days' grace). Star-independent figures only: the due visits depend on the sample's
    // stars and are counted by hand in `assessment_matches_the_hand_count`.
    let hazard = event(
        b(3),
        W1,
        EventKind::Hazard,
        "fire_hazard",
        Severity::High,
        day(6, 2),
        Some(day(6, 10)),
        EventStatus::Noticed,
    );
    let records = vec![
        SyncRecord::Inspection(visit(b(1), day(6, 3), W1)),
        SyncRecord::Inspection(off_site(visit(b(2), day(6, 5), W1), b(2))),
        SyncRecord::Event(hazard),
        SyncRecord::Inspection(visit(b(3), day(6, 11), W1)),
        SyncRecord::Inspection(visit(b(1), day(6, 20), W1)),
        // Outside the period.
        SyncRecord::Inspection(visit(b(4), day(7, 1), W1)),
    ];
    let r = s.push(&w1, "phone-1", batch(1, records)).await;
    assert_eq!(statuses(&r.1), ["accepted"; 6]);
    let r = s
        .push(
            &w2,
            "phone-2",
            batch(1, vec![SyncRecord::Inspection(visit(b(13), day(6, 8), W2))]),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);

    let sup = s.login(SUPERVISOR, "desk-1").await;
    let june = "from=2026-06-01&to=2026-06-30";
    let (status, body) = s
        .get(&format!("/v1/assessment/workers/{W1}?{june}"), &sup)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grid"], grid_id(1, 1, 1).as_str());
    let a = &body["assessment"];
    assert_eq!(a["worker"], W1);
    assert_eq!(
        a["period"],
        json!({"from": "2026-06-01", "to": "2026-06-30"})
    );
    assert_eq!(
        (
            a["buildings"].clone(),
            a["visits"].clone(),
            a["buildings_visited"].clone(),
            a["coverage"].clone(),
            a["off_site_visits"].clone(),
            a["off_site_ratio"].clone()
        ),
        (
            json!(12),
            json!(4),
            json!(3),
            json!(0.25),
            json!(1),
            json!(0.25)
        )
    );
    assert_eq!(
        a["events_reported"],
        json!({"hazards": 1, "micro_events": 0, "incidents": 0, "total": 1})
    );
    assert_eq!(
        (a["follow_ups_due"].clone(), a["follow_ups_done"].clone()),
        (json!(1), json!(1))
    );

    let (status, g1) = s
        .get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(1, 1, 1)),
            &sup,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g1}");
    assert_eq!(g1["assigned_worker"], W1);
    assert_eq!(g1["workers"].as_array().expect("workers").len(), 1);
    assert_eq!(g1["workers"][0], *a);
    let (_, g2) = s
        .get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(1, 1, 2)),
            &sup,
        )
        .await;
    assert_eq!(g2["assigned_worker"], W2);
    assert_eq!(g2["workers"][0]["visits"], 1);

    // Bad periods, roles and scopes.
    for bad in [
        "from=2026-06-30&to=2026-06-01",
        "from=2026-01-01&to=2027-06-01",
        "from=2026-06-01",
        "from=june&to=july",
    ] {
        expect_error(
            &s.get(&format!("/v1/assessment/workers/{W1}?{bad}"), &sup)
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    expect_error(
        &s.get(&format!("/v1/assessment/workers/{W1}?{june}"), &w1)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let officer = s.login(OFFICER, "desk-2").await;
    expect_error(
        &s.get(&format!("/v1/assessment/workers/{W1}?{june}"), &officer)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let far = add_worker(&s, 2, 1, 1).await;
    let outside = s
        .get(&format!("/v1/assessment/workers/{far}?{june}"), &sup)
        .await;
    let unknown = s
        .get(&format!("/v1/assessment/workers/nobody?{june}"), &sup)
        .await;
    expect_error(&outside, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(&unknown, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(
        &s.get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(2, 1, 1)),
            &sup,
        )
        .await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    let admin = s.login(ADMIN, "desk-3").await;
    assert_eq!(
        s.get(&format!("/v1/assessment/workers/{far}?{june}"), &admin)
            .await
            .0,
        StatusCode::OK
    );
    for who in ["nobody", SUPERVISOR] {
        expect_error(
            &s.get(&format!("/v1/assessment/workers/{who}?{june}"), &admin)
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    expect_error(
        &s.get(&format!("/v1/assessment/grids/G9999?{june}"), &admin)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Each assessment read is a read of personal data, in the audit log.
    let (status, log) = s
        .get(
            "/v1/audit?personal=true&action=GET%20/v1/assessment/workers/%7Bworker%7D",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().expect("entries");
    let users: Vec<&str> = entries
        .iter()
        .map(|e| e["user"].as_str().expect("user"))
        .collect();
    assert_eq!(users, [SUPERVISOR, ADMIN]);
    assert_eq!(
        entries[0]["target"],
        format!("worker {W1} grid {}", grid_id(1, 1, 1))
    );
}

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

// --- storage-level tests (both engines) ------------------------------------------------------

/// June 2026, one worker on a grid of four buildings, with the same hand count as the core's
/// `assessment::tests::a_small_month_matches_the_hand_count`, now through storage (pushes on
/// either engine) and the server's assessment code, plus a sent-back report replaced by its
/// correction (only the correction counts).
async fn assessment_matches_the_hand_count(db: AnyDb) {
    let shape = DistrictShape {
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 2,
        buildings_per_grid: 4,
    };
    let sample = Sample::generate(shape, fixtures::SEED).expect("sample");
    let mut buildings = sample.buildings().to_vec();
    // Default policy: 1★ every 7 days, 3★ every 30, 5★ every 90; grace 0 for due visits, 2 for
    // follow-ups.
    for (b, stars) in buildings.iter_mut().zip([1u8, 3, 5, 3, 1]) {
        b.stars = Some(Stars::new(stars).expect("stars"));
    }
    db.migrate().await.expect("migrate");
    db.upsert_grids(sample.grids().to_vec())
        .await
        .expect("grids");
    db.import_buildings(buildings.clone(), false)
        .await
        .expect("buildings");
    let grid = sample.grid(1, 1, 1).expect("grid").clone();
    let me = grid.worker.clone().expect("worker").0;
    let other = "wk-0002";
    let [a, b, c, d, elsewhere] = [0, 1, 2, 3, 4].map(|i| buildings[i].clone());
    assert_eq!(elsewhere.grid, sample.grid(1, 1, 2).expect("grid 2").id);

    // A (1★): last visit 05-28 → due 06-04: on time 06-04, missed 06-11, on time 06-15 (early),
    // covered by the colleague 06-22, missed 06-29. B (3★): never visited → due 06-01, visited
    // late (06-03, off site): missed. C (5★): not due in June, visited anyway. D (3★): due 06-04,
    // not visited: missed. B's 06-10 report was sent back and replaced by its correction: one visit.
    let sent_back = off_site(visit(&b, day(6, 10), &me), &b);
    let mut correction = visit(&b, day(6, 10), &me);
    correction.corrects = Some(sent_back.id);
    let mine = vec![
        SyncRecord::Inspection(visit(&a, day(5, 28), &me)),
        SyncRecord::Inspection(visit(&a, day(6, 4), &me)),
        SyncRecord::Inspection(visit(&a, day(6, 15), &me)),
        SyncRecord::Inspection(off_site(visit(&b, day(6, 3), &me), &b)),
        SyncRecord::Inspection(visit(&c, day(4, 15), &me)),
        SyncRecord::Inspection(visit(&c, day(6, 20), &me)),
        SyncRecord::Inspection(visit(&d, day(5, 5), &me)),
        SyncRecord::Inspection(visit(&elsewhere, day(6, 5), &me)),
        // Events: A's hazard (deadline 06-10, by 06-12: no visit then → not done); C's
        // micro-event (deadline 06-19, by 06-21: the 06-20 visit → done); D's hazard reported in
        // May (deadline 06-29, by 07-01: next period); an incident on B.
        SyncRecord::Event(event(
            &a,
            &me,
            EventKind::Hazard,
            "fire_hazard",
            Severity::High,
            day(6, 4),
            Some(day(6, 10)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &c,
            &me,
            EventKind::MicroEvent {
                kind: ItemId::from("me_corridor_clutter"),
            },
            "sanitation",
            Severity::Low,
            day(6, 1),
            Some(day(6, 19)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &d,
            &me,
            EventKind::Hazard,
            "fire_hazard",
            Severity::High,
            day(5, 20),
            Some(day(6, 29)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &b,
            &me,
            EventKind::Incident,
            "criminal_case",
            Severity::High,
            day(6, 3),
            None,
            EventStatus::Reported,
        )),
        SyncRecord::Inspection(sent_back.clone()),
        SyncRecord::Inspection(correction),
    ];
    let theirs = vec![
        SyncRecord::Inspection(visit(&a, day(6, 22), other)),
        SyncRecord::Event(event(
            &a,
            other,
            EventKind::Hazard,
            "fire_hazard",
            Severity::Medium,
            day(6, 22),
            None,
            EventStatus::Reported,
        )),
    ];
    let scope = Scope::Community(grid.community.clone());
    for (who, device, records) in [(me.as_str(), "phone-me", mine), (other, "phone-2", theirs)] {
        let n = records.len();
        let ctx = PushCtx {
            username: who.to_owned(),
            scope: scope.clone(),
            device: gridwalk_core::protocol::DeviceId::parse(device).expect("device"),
            now: Utc::now(),
        };
        let resp = db
            .push(ctx, batch(1, records), vec![None; n])
            .await
            .expect("push");
        assert_eq!(resp.device_last_seq, n as u64);
    }

    let policy = Policy::default_policy().expect("policy");
    let june = assessment::period(day(6, 1), day(6, 30), 366).expect("period");
    let records = assessment::grid_records(&db, &grid.id)
        .await
        .expect("records");
    assert_eq!(records.buildings.len(), 4);
    assert_eq!(
        (records.inspections.len(), records.events.len()),
        (10, 5),
        "nine of the worker's inspections in the grid and the colleague's one; every event"
    );
    let r = assessment::assess_on_grid(&WorkerId(me.clone()), june, &records, &policy).assessment;
    assert_eq!(r.buildings, 4);
    assert_eq!(
        r.visits, 5,
        "A 06-04, A 06-15, B 06-03, B's correction 06-10, C 06-20"
    );
    assert_eq!(r.due_visits, 7, "A 5 + B 1 + D 1");
    assert_eq!(
        (r.on_time, r.covered_by_others, r.missed, r.pending),
        (2, 1, 4, 0)
    );
    assert_eq!(r.on_time_ratio, Some(2.0 / 6.0));
    assert_eq!((r.buildings_visited, r.coverage), (3, Some(0.75)));
    assert_eq!(
        (r.off_site_visits, r.off_site_ratio),
        (1, Some(0.2)),
        "the off-site report replaced by its correction no longer counts"
    );
    assert_eq!(
        (
            r.events_reported.hazards,
            r.events_reported.micro_events,
            r.events_reported.incidents,
            r.events_reported.total
        ),
        (1, 1, 1, 3)
    );
    assert_eq!((r.follow_ups_due, r.follow_ups_done), (2, 1));

    // The grid: its worker first, then the colleague, whose one visit settled A's 06-22 due day.
    let g = assessment::assess_grid(june, &records, &policy);
    let names: Vec<&str> = g.workers.iter().map(|w| w.worker.as_str()).collect();
    assert_eq!(names, [me.as_str(), other]);
    assert_eq!(g.workers[0], r);
    let o = &g.workers[1];
    assert_eq!((o.visits, o.due_visits), (1, 7));
    assert_eq!((o.on_time, o.covered_by_others, o.missed), (1, 2, 4));
    assert_eq!((o.buildings_visited, o.coverage), (1, Some(0.25)));
    assert_eq!((o.events_reported.total, o.follow_ups_done), (1, 0));

    assert!(
        assessment::grid_records(&db, &gridwalk_core::GridId("G-none".into()))
            .await
            .is_err()
    );
}

/// Decisions stored through `add_review` (the path the phone tests drive) show in the queue as
/// well as those made through the API.
async fn decisions_recorded_directly_show_in_the_queue(db: AnyDb) {
    db.migrate().await.expect("migrate");
    let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
    db.upsert_grids(grids).await.expect("grids");
    db.import_buildings(buildings, false).await.expect("import");
    let b = fixtures::building(1);
    let ins = visit(b, day(6, 1), W1);
    let ctx = PushCtx {
        username: W1.into(),
        scope: Scope::Grid(grid_id(1, 1, 1)),
        device: gridwalk_core::protocol::DeviceId::parse("phone-1").expect("device"),
        now: Utc::now(),
    };
    db.push(
        ctx,
        batch(1, vec![SyncRecord::Inspection(ins.clone())]),
        vec![None],
    )
    .await
    .expect("push");
    let policy = Policy::default_policy().expect("policy").supervision;
    db.add_review(ReviewOutcome {
        record: ins.id,
        decision: ReviewDecision::SentBack,
        comment: "again".into(),
        reviewer: WorkerId::from(SUPERVISOR),
        reviewed_at: Utc::now(),
    })
    .await
    .expect("review")
    .expect("known");
    assert_eq!(db.review_index(policy).await.expect("index"), 1);
    assert_eq!(
        db.review_index(policy).await.expect("index"),
        0,
        "indexed once"
    );
    let params = |state| ReviewQueueParams {
        scope: Scope::District,
        kind: None,
        grid: None,
        worker: None,
        off_site: None,
        state,
        after_seq: 0,
        limit: 10,
    };
    let (items, more) = db
        .review_queue(params(Some(ReviewState::SentBack)))
        .await
        .expect("queue");
    assert!(!more);
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].decision.as_ref().map(|d| d.comment.as_str()),
        Some("again")
    );
    assert!(
        db.review_queue(params(Some(ReviewState::Pending)))
            .await
            .expect("queue")
            .0
            .is_empty()
    );

    // The audit log keeps what it is given, ids only, in order.
    db.append_audit(NewAuditEntry {
        at: Utc::now(),
        user: Some(W1.into()),
        device: None,
        role: Some(Role::Worker),
        scope: Some(Scope::Grid(grid_id(1, 1, 1))),
        action: "GET /v1/buildings/{code}".into(),
        target: b.code.as_str().into(),
        personal_data: true,
        status: 200,
    })
    .await
    .expect("append");
    let (log, more) = db
        .audit_log(gridwalk_server::db::review::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("log");
    assert!(!more);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].scope, Some(Scope::Grid(grid_id(1, 1, 1))));
    assert_eq!(log[0].role, Some(Role::Worker));
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

async fn rows<D: Database>(db: &D) -> usize {
    db.audit_log(gridwalk_server::db::review::AuditFilter {
        limit: 10,
        ..Default::default()
    })
    .await
    .expect("log")
    .0
    .len()
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
    let (log, _) = db
        .audit_log(gridwalk_server::db::review::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("log");
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
