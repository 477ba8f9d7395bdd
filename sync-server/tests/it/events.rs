//! Dispatch and notices, on both engines: events routed by the catalog at merge, department queues
//! and status moves, notices queued per recipient, delivered through the real webhook transport to
//! a real receiver on 127.0.0.1:0 (retries, permanent refusals, crashed claims), and the notice
//! deadline step.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use chrono::{Days, Duration, NaiveDate, Utc};
use gridwalk_core::protocol::{
    DeviceId, NoticeAddressee, NoticeMessage, NoticeState, NoticeView, PushRecord, RecordOutcome,
    Role, Scope, SyncRecord,
};
use gridwalk_core::{
    Catalog, DepartmentId, Event, EventKind, EventStatus, ItemId, Notice, NoticeRecipient, RecordId,
};
use gridwalk_server::auth;
use gridwalk_server::db::dispatch::{
    DepartmentQuery, EventMover, MoveOutcome, NoticeClaim, NoticeFinish, NoticeQuery, NoticeResult,
    NoticeSubject,
};
use gridwalk_server::db::{AnyDb, Database, PgDb, PushCtx};
use gridwalk_server::fixtures::{self, DistrictShape, code, community_id, street_id};
use gridwalk_server::notices::{NoticePolicy, NoticeWorker, WebhookTransport};
use gridwalk_server::sync::validate::{RecordLimits, check_batch};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::server::{ADMIN, PASSWORD, TestServer, W1, expect_error};

/// A migrated engine over the small sample district, with raw SQL access for what the trait does
/// not expose (the rating queue).
struct Engine {
    db: AnyDb,
    raw: Raw,
    _dir: Option<TempDir>,
}

enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Engine::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(e) = super::Engine::postgres(concat!("events::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(e).await;
            }
        }
    )*};
}

both_engines!(
    dispatch_routes_by_category,
    notices_are_queued_per_recipient_from_the_building_file,
    webhook_delivery_retries_then_delivers_and_refusals_fail,
    attempts_are_capped,
    a_crashed_claim_is_retried_after_its_lease,
    missed_deadlines_make_notices_and_events_overdue_once,
    status_moves_follow_the_lifecycle,
);

http_test!(department_queue_and_notices_over_http);

/// The binary, as a user runs it: `user add --role department`, `serve --notice-webhook-url`, a
/// micro-event pushed over HTTP reaches the webhook through the background worker.
#[test]
fn serve_delivers_notices_to_the_configured_webhook() {
    serve_delivers_notices_to_the_configured_webhook_impl();
}

impl Engine {
    async fn sqlite() -> Self {
        let (dir, db) = crate::common::sqlite_db().await;
        let path = db.path().to_path_buf();
        Self::ready(AnyDb::Sqlite(db), Raw::Sqlite(path), Some(dir)).await
    }

    async fn postgres(test: &str) -> Option<Self> {
        let url = crate::common::pg_url(test).await?;
        let db = PgDb::connect(&url).await.expect("connect PgDb");
        Some(Self::ready(AnyDb::Postgres(db), Raw::Postgres(url), None).await)
    }

    async fn ready(db: AnyDb, raw: Raw, dir: Option<TempDir>) -> Self {
        db.migrate().await.expect("migrate");
        let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
        db.upsert_grids(grids).await.expect("grids");
        db.import_buildings(buildings, false).await.expect("import");
        Self { db, raw, _dir: dir }
    }

    /// The buildings queued for re-rating, sorted.
    async fn rating_queue(&self) -> Vec<String> {
        let sql = "SELECT building_code FROM rating_queue ORDER BY building_code";
        match &self.raw {
            Raw::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open");
                let mut st = c.prepare(sql).expect("prepare");
                st.query_map([], |r| r.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows")
            }
            Raw::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                let driver = tokio::spawn(conn);
                let rows = client.query(sql, &[]).await.expect("query");
                drop(client);
                let _ = driver.await;
                rows.iter().map(|r| r.get(0)).collect()
            }
        }
    }

    /// Empties the rating queue (what the rater would do), so a test sees what a step queues.
    async fn drain_rating_queue(&self) {
        let sql = "DELETE FROM rating_queue";
        match &self.raw {
            Raw::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open");
                c.execute(sql, []).expect("delete");
            }
            Raw::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                let driver = tokio::spawn(conn);
                client.execute(sql, &[]).await.expect("delete");
                drop(client);
                let _ = driver.await;
            }
        }
    }
}

fn catalog() -> Catalog {
    Catalog::default_catalog().expect("catalog")
}

/// An event of `category` about building `n` (grid 1 holds 1–12), reported by W1.
fn event(n: u64, category: &str) -> Event {
    let mut e = fixtures::hazard(&code(n), W1);
    e.category = ItemId::from(category);
    e
}

/// A micro-event of `kind` with a notice to `recipients`, deadline per the catalog.
fn micro_event(n: u64, kind: &str, recipients: &[NoticeRecipient]) -> Event {
    let c = catalog();
    let k = c.micro_event_kind(&ItemId::from(kind)).expect("kind");
    let mut e = event(n, k.category.as_str());
    e.kind = EventKind::MicroEvent {
        kind: ItemId::from(kind),
    };
    e.notice = Some(Notice {
        recipients: recipients.to_vec(),
        deadline: e.reported_at.date_naive() + Days::new(u64::from(k.deadline_days)),
    });
    e
}

async fn push_events(db: &AnyDb, device: &str, events: Vec<Event>) {
    let ctx = PushCtx {
        username: W1.to_owned(),
        scope: Scope::Grid(fixtures::grid_id(1, 1, 1)),
        device: DeviceId::parse(device).expect("device"),
        now: Utc::now(),
    };
    let first = db.device_last_seq(&ctx.device).await.expect("seq") + 1;
    let records: Vec<PushRecord> =
        fixtures::batch(first, events.into_iter().map(SyncRecord::Event).collect());
    let c = catalog();
    let checks = check_batch(&records, W1, &c, &RecordLimits::default());
    let resp = db.push(ctx, records, checks).await.expect("push");
    for r in &resp.results {
        assert_eq!(
            r.outcome,
            RecordOutcome::Accepted { conflict: false },
            "{r:?}"
        );
    }
}

async fn queue(db: &AnyDb, department: &str) -> Vec<(RecordId, EventStatus)> {
    db.department_events(DepartmentQuery {
        department: DepartmentId::from(department),
        scope: Scope::District,
        status: None,
        after: None,
        limit: 100,
    })
    .await
    .expect("queue")
    .events
    .iter()
    .map(|e| (e.id, e.status))
    .collect()
}

async fn notices_of(db: &AnyDb, event: RecordId) -> Vec<NoticeView> {
    db.notices(NoticeQuery {
        subject: NoticeSubject::Event(event),
        scope: Scope::District,
        department: None,
    })
    .await
    .expect("notices")
}

async fn dispatch_routes_by_category(e: Engine) {
    let c = catalog();
    let categories = [
        "fire_hazard",
        "public_order",
        "structural",
        "illegal_business",
        "public_health",
        "gas",
    ];
    let mut events: Vec<Event> = categories
        .iter()
        .enumerate()
        .map(|(i, cat)| event(i as u64 + 1, cat))
        .collect();
    // A micro-event routes by its kind's category (a sanitation matter: urban management).
    events.push(micro_event(
        7,
        "me_corridor_clutter",
        &[NoticeRecipient::Owner],
    ));
    // Noticed on the spot: routed, but the status is kept.
    let mut noticed = event(8, "fire_hazard");
    noticed.status = EventStatus::Noticed;
    events.push(noticed.clone());
    push_events(&e.db, "phone-1", events.clone()).await;

    for dept in &c.departments {
        let mut expected: Vec<(RecordId, EventStatus)> = events
            .iter()
            .filter(|ev| c.department_for(&ev.category).map(|d| &d.id) == Some(&dept.id))
            .map(|ev| {
                let st = if ev.id == noticed.id {
                    EventStatus::Noticed
                } else {
                    EventStatus::Dispatched
                };
                (ev.id, st)
            })
            .collect();
        expected.sort_by_key(|(id, _)| *id);
        assert_eq!(
            queue(&e.db, dept.id.as_str()).await,
            expected,
            "{}",
            dept.id
        );
    }
    // Spot checks against the catalog's words, so a routing change is seen here.
    assert_eq!(queue(&e.db, "fire").await.len(), 2);
    assert_eq!(
        queue(&e.db, "police").await,
        [(events[1].id, EventStatus::Dispatched)]
    );
    assert_eq!(
        queue(&e.db, "urban").await,
        [(events[6].id, EventStatus::Dispatched)]
    );
    assert_eq!(
        queue(&e.db, "safety").await,
        [(events[5].id, EventStatus::Dispatched)]
    );

    // Filters and keyset paging.
    let page = |after, limit, status| DepartmentQuery {
        department: DepartmentId::from("fire"),
        scope: Scope::District,
        status,
        after,
        limit,
    };
    let p1 =
        e.db.department_events(page(None, 1, None))
            .await
            .expect("page");
    assert_eq!(p1.events.len(), 1);
    let p2 =
        e.db.department_events(page(p1.next_after, 1, None))
            .await
            .expect("page");
    assert_eq!(p2.events.len(), 1);
    assert_eq!(p2.next_after, None);
    assert_ne!(p1.events[0].id, p2.events[0].id);
    let only_noticed =
        e.db.department_events(page(None, 10, Some(EventStatus::Noticed)))
            .await
            .expect("page");
    assert_eq!(
        only_noticed.events.iter().map(|x| x.id).collect::<Vec<_>>(),
        [noticed.id]
    );
    // Scope: a grid elsewhere sees none of grid 1's events.
    let elsewhere =
        e.db.department_events(DepartmentQuery {
            scope: Scope::Grid(fixtures::grid_id(2, 1, 1)),
            ..page(None, 10, None)
        })
        .await
        .expect("page");
    assert!(elsewhere.events.is_empty());
}

async fn notices_are_queued_per_recipient_from_the_building_file(e: Engine) {
    let all = [
        NoticeRecipient::Owner,
        NoticeRecipient::Manager,
        NoticeRecipient::Tenants,
    ];
    let ev = micro_event(3, "me_blocked_exit", &all);
    let hazard_without_notice = event(4, "fire_hazard");
    push_events(
        &e.db,
        "phone-1",
        vec![ev.clone(), hazard_without_notice.clone()],
    )
    .await;
    let file =
        e.db.building(&code(3))
            .await
            .expect("file")
            .expect("exists")
            .building;
    let deadline = ev.notice.as_ref().expect("notice").deadline;
    let got = notices_of(&e.db, ev.id).await;
    let shape: Vec<(
        NoticeRecipient,
        NoticeAddressee,
        NaiveDate,
        NoticeState,
        u32,
    )> = got
        .iter()
        .map(|n| {
            (
                n.recipient,
                n.addressee.clone(),
                n.deadline,
                n.state,
                n.attempts,
            )
        })
        .collect();
    let posted = NoticeAddressee::Building {
        head: file.building_head.clone(),
    };
    let manager = match &file.manager {
        Some(m) => NoticeAddressee::Person {
            contact: Some(m.clone()),
        },
        None => posted.clone(),
    };
    let mut expected = vec![
        (
            NoticeRecipient::Owner,
            NoticeAddressee::Person {
                contact: Some(file.owner.clone()),
            },
            deadline,
            NoticeState::Pending,
            0,
        ),
        (
            NoticeRecipient::Manager,
            manager,
            deadline,
            NoticeState::Pending,
            0,
        ),
        (
            NoticeRecipient::Tenants,
            posted,
            deadline,
            NoticeState::Pending,
            0,
        ),
    ];
    let order = |r: &NoticeRecipient| all.iter().position(|x| x == r);
    let mut shape_sorted = shape;
    shape_sorted.sort_by_key(|s| order(&s.0));
    expected.sort_by_key(|s| order(&s.0));
    assert_eq!(shape_sorted, expected);
    assert!(
        got.iter()
            .all(|n| n.event == ev.id && n.building == code(3))
    );
    assert!(notices_of(&e.db, hazard_without_notice.id).await.is_empty());
    // By building: the same three.
    let by_building =
        e.db.notices(NoticeQuery {
            subject: NoticeSubject::Building(code(3)),
            scope: Scope::Community(community_id(1, 1)),
            department: None,
        })
        .await
        .expect("notices");
    assert_eq!(by_building.len(), 3);
    // Out of scope, or another department: nothing.
    let hidden =
        e.db.notices(NoticeQuery {
            subject: NoticeSubject::Event(ev.id),
            scope: Scope::Street(street_id(2)),
            department: None,
        })
        .await
        .expect("notices");
    assert!(hidden.is_empty());
    let other_dept =
        e.db.notices(NoticeQuery {
            subject: NoticeSubject::Event(ev.id),
            scope: Scope::District,
            department: Some(DepartmentId::from("police")),
        })
        .await
        .expect("notices");
    assert!(other_dept.is_empty());
}

/// One request the receiver got: its `Idempotency-Key` and JSON body.
type Received = (Option<String>, Value);

/// A real webhook receiver on 127.0.0.1:0 answering from a script (200 once it runs out).
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Self, String, tokio::task::JoinHandle<()>) {
        let r = Receiver {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            ..Receiver::default()
        };
        async fn hook(
            State(r): State<Receiver>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> AxumStatus {
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            r.got.lock().expect("lock").push((key, json));
            let code = r.script.lock().expect("lock").pop_front().unwrap_or(200);
            AxumStatus::from_u16(code).expect("status")
        }
        let app = axum::Router::new()
            .route("/notices", post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, format!("http://{addr}/notices"), task)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

fn worker(db: &AnyDb, url: &str, policy: NoticePolicy) -> NoticeWorker<AnyDb, WebhookTransport> {
    let t = WebhookTransport::new(url, StdDuration::from_secs(policy.timeout_secs)).expect("url");
    NoticeWorker::new(db.clone(), t, policy)
}

async fn webhook_delivery_retries_then_delivers_and_refusals_fail(e: Engine) {
    let (receiver, url, server) = Receiver::start(&[500, 200, 422]).await;
    let policy = NoticePolicy::default();
    let w = worker(&e.db, &url, policy.clone());
    let ev = micro_event(5, "me_flying_wires", &[NoticeRecipient::Owner]);
    push_events(&e.db, "phone-1", vec![ev.clone()]).await;
    e.drain_rating_queue().await;
    let now = Utc::now();

    // First attempt: 500, scheduled again after the first backoff.
    let r = w.deliver_due(now, 10).await.expect("pass");
    assert_eq!((r.claimed, r.retrying, r.delivered), (1, 1, 0));
    let n = &notices_of(&e.db, ev.id).await[0];
    assert_eq!((n.state, n.attempts), (NoticeState::Pending, 1));
    assert_eq!(n.last_error.as_deref(), Some("webhook answered HTTP 500"));
    // Not due yet.
    let r = w
        .deliver_due(now + Duration::seconds(5), 10)
        .await
        .expect("pass");
    assert_eq!(r.claimed, 0);
    // Due: delivered on the second attempt; the event becomes `noticed`, its building re-rated.
    let later = now + policy.backoff(1) + Duration::seconds(1);
    let r = w.deliver_due(later, 10).await.expect("pass");
    assert_eq!((r.claimed, r.delivered), (1, 1));
    let n = &notices_of(&e.db, ev.id).await[0];
    assert_eq!((n.state, n.attempts), (NoticeState::Delivered, 2));
    assert_eq!(n.last_error, None);
    assert!(n.delivered_at.is_some());
    assert_eq!(
        queue(&e.db, "safety").await,
        [(ev.id, EventStatus::Noticed)]
    );
    assert_eq!(e.rating_queue().await, [code(5).to_string()]);

    // The receiver got the same notice twice (same idempotency key), with the owner's contact.
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    let file =
        e.db.building(&code(5))
            .await
            .expect("file")
            .expect("exists")
            .building;
    for (i, (key, body)) in got.iter().enumerate() {
        let msg: NoticeMessage = serde_json::from_value(body.clone()).expect("notice JSON");
        assert_eq!(key.as_deref(), Some(n.id.to_string().as_str()));
        assert_eq!(msg.notice_id, n.id);
        assert_eq!(msg.event_id, ev.id);
        assert_eq!(msg.building, code(5));
        assert_eq!(msg.address, file.address);
        assert_eq!(msg.recipient, NoticeRecipient::Owner);
        assert_eq!(
            msg.addressee,
            NoticeAddressee::Person {
                contact: Some(file.owner.clone())
            }
        );
        assert_eq!(msg.micro_event_kind, Some(ItemId::from("me_flying_wires")));
        assert_eq!(msg.deadline, ev.notice.as_ref().expect("notice").deadline);
        assert_eq!(msg.attempt, i as u32 + 1);
    }
    // Nothing more to do.
    assert_eq!(w.deliver_due(later, 10).await.expect("pass").claimed, 0);

    // A permanent refusal (422, next in the script) fails at once.
    let refused = micro_event(6, "me_gas_cylinder", &[NoticeRecipient::Owner]);
    push_events(&e.db, "phone-1", vec![refused.clone()]).await;
    let r = w.deliver_due(Utc::now(), 10).await.expect("pass");
    assert_eq!((r.claimed, r.failed), (1, 1));
    let n = &notices_of(&e.db, refused.id).await[0];
    assert_eq!((n.state, n.attempts), (NoticeState::Failed, 1));
    assert_eq!(n.last_error.as_deref(), Some("webhook answered HTTP 422"));
    assert_eq!(
        queue(&e.db, "safety").await,
        [
            (ev.id, EventStatus::Noticed),
            (refused.id, EventStatus::Dispatched)
        ],
        "a failed notice does not make the event noticed"
    );
    assert_eq!(
        w.deliver_due(Utc::now() + Duration::days(1), 10)
            .await
            .expect("pass")
            .claimed,
        0,
        "failed is final"
    );
    server.abort();
}

async fn attempts_are_capped(e: Engine) {
    // Nothing listens on this port: every attempt is a connection failure (retryable).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let policy = NoticePolicy {
        max_attempts: 3,
        backoff_first_secs: 10,
        ..NoticePolicy::default()
    };
    let w = worker(&e.db, &format!("http://{closed}/hook"), policy.clone());
    let ev = micro_event(2, "me_noise", &[NoticeRecipient::Tenants]);
    push_events(&e.db, "phone-1", vec![ev.clone()]).await;
    let mut at = Utc::now();
    let mut reports = Vec::new();
    for _ in 0..4 {
        let r = w.deliver_due(at, 10).await.expect("pass");
        reports.push((r.claimed, r.retrying, r.failed));
        at += Duration::hours(1);
    }
    assert_eq!(reports, [(1, 1, 0), (1, 1, 0), (1, 0, 1), (0, 0, 0)]);
    let n = &notices_of(&e.db, ev.id).await[0];
    assert_eq!((n.state, n.attempts), (NoticeState::Failed, 3));
    assert_eq!(
        n.last_error.as_deref(),
        Some("could not connect to the webhook; gave up after 3 attempts")
    );
}

async fn a_crashed_claim_is_retried_after_its_lease(e: Engine) {
    let (receiver, url, server) = Receiver::start(&[]).await;
    let policy = NoticePolicy::default();
    let w = worker(&e.db, &url, policy.clone());
    let ev = micro_event(9, "me_pests", &[NoticeRecipient::Owner]);
    push_events(&e.db, "phone-1", vec![ev.clone()]).await;
    let now = Utc::now();

    // A worker claims and dies before sending.
    let dead =
        e.db.claim_notices(NoticeClaim {
            now,
            limit: 10,
            lease_until: now + policy.lease(),
            max_attempts: policy.max_attempts,
        })
        .await
        .expect("claim");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempt, 1);
    assert_eq!(
        notices_of(&e.db, ev.id).await[0].state,
        NoticeState::Sending
    );
    // While its lease runs, nobody else takes the notice.
    assert_eq!(
        w.deliver_due(now + Duration::seconds(1), 10)
            .await
            .expect("pass")
            .claimed,
        0
    );
    // After the lease, the next pass retries and delivers it.
    let after = now + policy.lease() + Duration::seconds(1);
    let r = w.deliver_due(after, 10).await.expect("pass");
    assert_eq!((r.claimed, r.delivered), (1, 1));
    let n = &notices_of(&e.db, ev.id).await[0];
    assert_eq!((n.state, n.attempts), (NoticeState::Delivered, 2));
    assert_eq!(receiver.received().len(), 1);
    // The dead worker's late result is not stored over the delivery.
    let stale =
        e.db.finish_notice(NoticeFinish {
            notice: dead[0].message.notice_id,
            attempt: dead[0].attempt,
            result: NoticeResult::Failed {
                error: "late".into(),
            },
            now: after,
        })
        .await
        .expect("finish");
    assert!(!stale);
    assert_eq!(
        notices_of(&e.db, ev.id).await[0].state,
        NoticeState::Delivered
    );
    server.abort();
}

async fn missed_deadlines_make_notices_and_events_overdue_once(e: Engine) {
    let late = micro_event(
        10,
        "me_ebike_indoor",
        &[NoticeRecipient::Owner, NoticeRecipient::Tenants],
    );
    let fixed = micro_event(11, "me_ebike_indoor", &[NoticeRecipient::Owner]);
    let mut later_deadline = micro_event(12, "me_lease_not_filed", &[NoticeRecipient::Owner]);
    let n = later_deadline.notice.as_mut().expect("notice");
    n.deadline = n.deadline + Days::new(30);
    push_events(
        &e.db,
        "phone-1",
        vec![late.clone(), fixed.clone(), later_deadline.clone()],
    )
    .await;
    let admin = EventMover {
        scope: Scope::District,
        department: None,
    };
    let moved =
        e.db.move_event(fixed.id, EventStatus::Rectified, admin, Utc::now())
            .await
            .expect("move");
    assert!(matches!(moved, MoveOutcome::Moved(_)));
    e.drain_rating_queue().await;
    let deadline = late.notice.as_ref().expect("notice").deadline;

    // On the deadline day itself, still in time.
    let on_time = e.db.mark_overdue_notices(deadline).await.expect("step");
    assert_eq!((on_time.notices, on_time.events), (0, 0));
    // The day after: both notices of the open event, the event itself; not the rectified one.
    let day_after = deadline + Days::new(1);
    let step = e.db.mark_overdue_notices(day_after).await.expect("step");
    assert_eq!((step.notices, step.events), (2, 1));
    let ns = notices_of(&e.db, late.id).await;
    assert!(ns.iter().all(|n| n.overdue_at.is_some()), "{ns:?}");
    assert!(
        notices_of(&e.db, fixed.id)
            .await
            .iter()
            .all(|n| n.overdue_at.is_none())
    );
    assert!(
        notices_of(&e.db, later_deadline.id)
            .await
            .iter()
            .all(|n| n.overdue_at.is_none())
    );
    let fire = queue(&e.db, "fire").await;
    assert!(fire.contains(&(late.id, EventStatus::Overdue)), "{fire:?}");
    assert!(
        fire.contains(&(fixed.id, EventStatus::Rectified)),
        "{fire:?}"
    );
    assert_eq!(e.rating_queue().await, [code(10).to_string()]);
    // Idempotent: a second run (and a later day) changes nothing more.
    e.drain_rating_queue().await;
    let again = e.db.mark_overdue_notices(day_after).await.expect("step");
    assert_eq!((again.notices, again.events), (0, 0));
    assert!(e.rating_queue().await.is_empty());
    // Late rectification is still possible; closing cancels nothing already sent.
    let mover = EventMover {
        scope: Scope::District,
        department: Some(DepartmentId::from("fire")),
    };
    let r =
        e.db.move_event(late.id, EventStatus::Rectified, mover, Utc::now())
            .await
            .expect("move");
    match r {
        MoveOutcome::Moved(ev) => assert_eq!(ev.status, EventStatus::Rectified),
        other => panic!("{other:?}"),
    }
}

async fn status_moves_follow_the_lifecycle(e: Engine) {
    let ev = micro_event(1, "me_blocked_exit", &[NoticeRecipient::Owner]);
    let police_event = event(2, "public_order");
    push_events(&e.db, "phone-1", vec![ev.clone(), police_event.clone()]).await;
    e.drain_rating_queue().await;
    let b = fixtures::building(1);
    let fire = EventMover {
        scope: Scope::Street(b.street.clone()),
        department: Some(DepartmentId::from("fire")),
    };
    let mv = |id, to, m: &EventMover| e.db.move_event(id, to, m.clone(), Utc::now());
    // Dispatched → closed skips rectification: refused, nothing changes.
    match mv(ev.id, EventStatus::Closed, &fire).await.expect("move") {
        MoveOutcome::Refused(t) => {
            assert_eq!(
                (t.from, t.to),
                (EventStatus::Dispatched, EventStatus::Closed)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e.rating_queue().await.is_empty());
    assert_eq!(
        mv(police_event.id, EventStatus::Rectified, &fire)
            .await
            .expect("move"),
        MoveOutcome::OtherDepartment
    );
    let elsewhere = EventMover {
        scope: Scope::Street(street_id(2)),
        ..fire.clone()
    };
    assert_eq!(
        mv(ev.id, EventStatus::Rectified, &elsewhere)
            .await
            .expect("move"),
        MoveOutcome::OutOfScope
    );
    assert_eq!(
        mv(RecordId::new(), EventStatus::Rectified, &fire)
            .await
            .expect("move"),
        MoveOutcome::NotFound
    );
    // Rectified: the unsent notice is cancelled, the building queued for re-rating.
    match mv(ev.id, EventStatus::Rectified, &fire)
        .await
        .expect("move")
    {
        MoveOutcome::Moved(d) => {
            assert_eq!((d.id, d.status), (ev.id, EventStatus::Rectified));
            assert_eq!(d.department, Some(DepartmentId::from("fire")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.rating_queue().await, [code(1).to_string()]);
    assert_eq!(
        notices_of(&e.db, ev.id).await[0].state,
        NoticeState::Cancelled
    );
    match mv(ev.id, EventStatus::Closed, &fire).await.expect("move") {
        MoveOutcome::Moved(d) => assert_eq!(d.status, EventStatus::Closed),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        mv(ev.id, EventStatus::Rectified, &fire)
            .await
            .expect("move"),
        MoveOutcome::Refused(_)
    ));
}

const FIRE_USER: &str = "fire-brigade-S01";
const POLICE_USER: &str = "police-S01";

async fn department_queue_and_notices_over_http(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let passwords = s.handle.state.passwords();
    for (user, dept) in [(FIRE_USER, "fire"), (POLICE_USER, "police")] {
        auth::add_user(
            s.db(),
            passwords.clone(),
            user,
            PASSWORD.into(),
            Role::Department,
            Scope::Street(street_id(1)),
        )
        .await
        .expect("add user");
        assert!(
            s.db()
                .set_user_department(user, &DepartmentId::from(dept))
                .await
                .expect("assign")
        );
    }
    assert!(
        !s.db()
            .set_user_department("nobody", &DepartmentId::from("fire"))
            .await
            .expect("assign")
    );
    let worker = s.login(W1, "phone-1").await;
    let ev = micro_event(
        1,
        "me_smoke_alarm_missing",
        &[NoticeRecipient::Owner, NoticeRecipient::Tenants],
    );
    let (status, body) = s
        .push(
            &worker,
            "phone-1",
            fixtures::batch(1, vec![SyncRecord::Event(ev.clone())]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let fire = s.login(FIRE_USER, "desk-1").await;
    let police = s.login(POLICE_USER, "desk-2").await;
    let admin = s.login(ADMIN, "desk-3").await;
    let (st, page) = s.get("/v1/departments/fire/events", &fire).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["events"].as_array().expect("events").len(), 1);
    assert_eq!(page["events"][0]["id"], ev.id.to_string());
    assert_eq!(page["events"][0]["status"], "dispatched");
    assert_eq!(page["events"][0]["department"], "fire");
    assert_eq!(page["next_after"], Value::Null);
    let (st, page) = s
        .get("/v1/departments/fire/events?status=closed", &fire)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["events"], json!([]));
    // Another department's queue, the worker, a bad filter, an unknown department.
    expect_error(
        &s.get("/v1/departments/fire/events", &police).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect_error(
        &s.get("/v1/departments/fire/events", &worker).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect_error(
        &s.get("/v1/departments/fire/events?status=open", &fire)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    expect_error(
        &s.get("/v1/departments/mars/events", &admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (st, _) = s.get("/v1/departments/fire/events", &admin).await;
    assert_eq!(st, StatusCode::OK);

    // Notices: the department sees contacts, the worker sees them redacted.
    let path = format!("/v1/notices?event={}", ev.id);
    let (st, with) = s.get(&path, &fire).await;
    assert_eq!(st, StatusCode::OK, "{with}");
    let file = s
        .db()
        .building(&code(1))
        .await
        .expect("file")
        .expect("exists")
        .building;
    let owner = with
        .as_array()
        .expect("list")
        .iter()
        .find(|n| n["recipient"] == "owner")
        .expect("owner notice")
        .clone();
    assert_eq!(owner["addressee"]["contact"]["phone"], file.owner.phone);
    assert_eq!(owner["state"], "pending");
    let (st, without) = s.get(&path, &worker).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(without.as_array().expect("list").len(), 2);
    // The department's read of contacts is audited as personal data; the redacted read is not.
    let (reads, _) = s
        .db()
        .audit_log(gridwalk_server::db::audit::AuditFilter {
            action: Some("GET /v1/notices".into()),
            personal: Some(true),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].target, path);
    assert!(
        !without.to_string().contains(&file.owner.phone),
        "no contact for the worker: {without}"
    );
    let (st, by_building) = s
        .get(&format!("/v1/notices?building={}", code(1)), &worker)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(by_building.as_array().expect("list").len(), 2);
    let (st, none) = s.get(&path, &police).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(none, json!([]), "another department's notices stay hidden");
    expect_error(
        &s.get("/v1/notices", &worker).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // Moves: allowed, refused with 409, other department 403.
    let move_to = |token: &str, status: &str| {
        s.send(
            s.client
                .post(s.url(&format!("/v1/events/{}/status", ev.id)))
                .bearer_auth(token.to_owned())
                .json(&json!({ "status": status })),
        )
    };
    expect_error(
        &move_to(&fire, "closed").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    expect_error(
        &move_to(&police, "rectified").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect_error(
        &move_to(&worker, "rectified").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect_error(
        &move_to(&fire, "fixed").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    );
    let (st, moved) = move_to(&fire, "rectified").await;
    assert_eq!(st, StatusCode::OK, "{moved}");
    assert_eq!(moved["status"], "rectified");
    let (st, moved) = move_to(&admin, "closed").await;
    assert_eq!(st, StatusCode::OK, "{moved}");
    assert_eq!(moved["status"], "closed");
    let (st, after) = s.get(&path, &fire).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        after
            .as_array()
            .expect("list")
            .iter()
            .all(|n| n["state"] == "cancelled"),
        "{after}"
    );
    expect_error(
        &s.send(
            s.client
                .post(s.url(&format!("/v1/events/{}/status", RecordId::new())))
                .bearer_auth(&fire)
                .json(&json!({"status": "rectified"})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
}

fn server_bin(args: &[&str], data: &std::path::Path, stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("GRIDWALK_CONFIG")
        .env_remove("GRIDWALK_DB")
        .env_remove("GRIDWALK_NOTICE_WEBHOOK_URL")
        .env("RUST_LOG", "warn")
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
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn serve_delivers_notices_to_the_configured_webhook_impl() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    assert_eq!(server_bin(&["migrate"], data, "").0, 0);
    let (_, buildings) = fixtures::district(DistrictShape::SMALL);
    let csv = data.join("base.csv");
    let mut f = std::fs::File::create(&csv).expect("create");
    gridwalk_server::import::write_csv(&mut f, &buildings).expect("write");
    drop(f);
    assert_eq!(
        server_bin(&["import", csv.to_str().expect("p")], data, "").0,
        0
    );
    let grid = fixtures::grid_id(1, 1, 1);
    let scope = format!("grid:{grid}");
    let add = |user: &str, extra: &[&str]| {
        let mut args = vec!["user", "add", user];
        args.extend_from_slice(extra);
        server_bin(&args, data, "long-enough-pw\n")
    };
    assert_eq!(add(W1, &["--role", "worker", "--scope", &scope]).0, 0);
    let (code, out, err) = add(
        "fire1",
        &[
            "--role",
            "department",
            "--department",
            "fire",
            "--scope",
            "district",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created department fire1 (district)"), "{out}");
    let (code, _, err) = add("fire2", &["--role", "department", "--scope", "district"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --department"), "{err}");
    let (code, _, err) = add(
        "w9",
        &[
            "--role",
            "worker",
            "--department",
            "fire",
            "--scope",
            &scope,
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("only for the department role"), "{err}");
    let (code, _, err) = add(
        "mars1",
        &[
            "--role",
            "department",
            "--department",
            "mars",
            "--scope",
            "district",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown department 'mars'"), "{err}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (receiver, hook, hook_task) = Receiver::start(&[]).await;
        let config = data.join("gridwalk.toml");
        std::fs::write(&config, "[notices]\npoll_interval_secs = 1\n").expect("config");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let listen = format!("127.0.0.1:{port}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
            .args(["serve", "--listen", &listen, "--notice-webhook-url", &hook])
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(data)
            .env_remove("GRIDWALK_DB")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn serve");
        let url = format!("http://{listen}");
        let client = crate::common::http_client_builder().build().expect("client");
        let login = |user: &'static str, device: &'static str| {
            let client = client.clone();
            let url = url.clone();
            async move {
                for _ in 0..100 {
                    if let Ok(r) = client
                        .post(format!("{url}/v1/auth/login"))
                        .json(&json!({"username": user, "password": "long-enough-pw", "device_id": device}))
                        .send()
                        .await
                    {
                        let v: Value = r.json().await.expect("json");
                        return v["token"].as_str().expect("token").to_owned();
                    }
                    tokio::time::sleep(StdDuration::from_millis(100)).await;
                }
                panic!("the server did not start");
            }
        };
        let worker = login(W1, "phone-1").await;
        let ev = micro_event(2, "me_window_bars", &[NoticeRecipient::Owner]);
        let pushed: Value = client
            .post(format!("{url}/v1/sync/push"))
            .bearer_auth(&worker)
            .json(&json!({"device_id": "phone-1", "records": fixtures::batch(1, vec![SyncRecord::Event(ev.clone())])}))
            .send()
            .await
            .expect("push")
            .json()
            .await
            .expect("json");
        assert_eq!(pushed["results"][0]["outcome"]["status"], "accepted", "{pushed}");
        let fire = login("fire1", "desk-1").await;
        let mut state = Value::Null;
        let mut last = Value::Null;
        for _ in 0..100 {
            let list: Value = client
                .get(format!("{url}/v1/notices?event={}", ev.id))
                .bearer_auth(&fire)
                .send()
                .await
                .expect("notices")
                .json()
                .await
                .expect("json");
            state = list[0]["state"].clone();
            last = list;
            if state == "delivered" {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        assert_eq!(state, "delivered", "{last}");
        let got = receiver.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1["event_id"], ev.id.to_string());
        let page: Value = client
            .get(format!("{url}/v1/departments/police/events"))
            .bearer_auth(&fire)
            .send()
            .await
            .expect("queue")
            .json()
            .await
            .expect("json");
        assert_eq!(page["code"], "forbidden", "{page}");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = child.wait().expect("wait");
        assert!(exit.success(), "{exit:?}");
        hook_task.abort();
    });
}
