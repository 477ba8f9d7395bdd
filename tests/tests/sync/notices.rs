//! A micro-event recorded offline on the phone reaches its recipients: the phone syncs, the server
//! dispatches the event and queues its notices, and the delivery worker posts them to a real
//! webhook receiver on 127.0.0.1:0.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use chrono::{Days, Utc};
use gridwalk_core::protocol::{NoticeMessage, NoticeState, Scope};
use gridwalk_core::{
    Catalog, DepartmentId, EventKind, EventStatus, ItemId, Notice, NoticeRecipient,
};
use gridwalk_server::db::Database;
use gridwalk_server::db::dispatch::{DepartmentQuery, NoticeQuery, NoticeSubject};
use gridwalk_server::fixtures;
use gridwalk_server::notices::{NoticePolicy, NoticeWorker, WebhookTransport};
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_micro_event_recorded_offline_is_noticed_after_sync() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");

    // Offline: a blocked exit (a fire micro-event) with a notice to the owner and the tenants.
    let catalog = Catalog::default_catalog().expect("catalog");
    let kind = catalog
        .micro_event_kind(&ItemId::from("me_blocked_exit"))
        .expect("kind");
    let mut ev = fixtures::hazard(&fixtures::code(4), W1);
    ev.kind = EventKind::MicroEvent {
        kind: kind.id.clone(),
    };
    ev.category = kind.category.clone();
    ev.notice = Some(Notice {
        recipients: vec![NoticeRecipient::Owner, NoticeRecipient::Tenants],
        deadline: ev.reported_at.date_naive() + Days::new(u64::from(kind.deadline_days)),
    });
    phone.archive.record_event(&ev).expect("record");

    let report = phone.client.sync_now().await.expect("sync");
    assert_eq!((report.pushed.accepted, report.pushed.rejected), (1, 0));

    // Dispatched to the fire brigade, two notices waiting.
    let fire = DepartmentQuery {
        department: DepartmentId::from("fire"),
        scope: Scope::District,
        status: None,
        after: None,
        limit: 10,
    };
    let queue = server
        .db()
        .department_events(fire.clone())
        .await
        .expect("queue");
    assert_eq!(queue.events.len(), 1);
    assert_eq!(
        (queue.events[0].id, queue.events[0].status),
        (ev.id, EventStatus::Dispatched)
    );

    let received: Arc<Mutex<Vec<NoticeMessage>>> = Arc::default();
    async fn hook(
        State(got): State<Arc<Mutex<Vec<NoticeMessage>>>>,
        axum::Json(m): axum::Json<NoticeMessage>,
    ) -> axum::http::StatusCode {
        got.lock().expect("lock").push(m);
        axum::http::StatusCode::NO_CONTENT
    }
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let policy = NoticePolicy::default();
    let transport =
        WebhookTransport::new(&url, Duration::from_secs(policy.timeout_secs)).expect("webhook");
    let worker = NoticeWorker::new(server.db().clone(), transport, policy);
    let pass = worker.deliver_due(Utc::now(), 10).await.expect("deliver");
    assert_eq!((pass.claimed, pass.delivered), (2, 2));

    let mut got = received.lock().expect("lock").clone();
    got.sort_by_key(|m| m.recipient == NoticeRecipient::Tenants);
    assert_eq!(
        got.iter()
            .map(|m| (m.event_id, m.recipient))
            .collect::<Vec<_>>(),
        [
            (ev.id, NoticeRecipient::Owner),
            (ev.id, NoticeRecipient::Tenants)
        ]
    );
    assert!(
        got.iter()
            .all(|m| m.deadline == ev.notice.as_ref().expect("n").deadline)
    );
    let notices = server
        .db()
        .notices(NoticeQuery {
            subject: NoticeSubject::Event(ev.id),
            scope: Scope::District,
            department: None,
        })
        .await
        .expect("notices");
    assert!(
        notices.iter().all(|n| n.state == NoticeState::Delivered),
        "{notices:?}"
    );
    let queue = server.db().department_events(fire).await.expect("queue");
    assert_eq!(queue.events[0].status, EventStatus::Noticed);
    receiver.abort();
}
