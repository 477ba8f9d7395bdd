//! Logins that stop working (expired, revoked), scope changes with unsynced records, and the
//! supervisor's send-back loop — against the real server, exact counts on both sides.

use std::time::Duration;

use gridwalk_core::WorkerId;
use gridwalk_core::protocol::{ReviewDecision, ReviewOutcome};
use gridwalk_core::sync::SyncError;
use gridwalk_server::db::Database;
use gridwalk_server::fixtures::{self, grid_id};
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_expired_token_asks_to_log_in_again_and_loses_nothing() {
    let server = TestServer::start(|c| c.token_ttl_secs = 1)
        .await
        .expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 3, |_| vec![])
        .expect("record");
    tokio::time::sleep(Duration::from_millis(1_300)).await;

    // The server refuses the token; the batch it was sent with goes back to pending.
    let err = phone.client.sync_now().await.expect_err("expired");
    match &err {
        SyncError::LoginRequired { reason } => assert!(reason.contains("expired"), "{reason}"),
        other => panic!("expected LoginRequired, got {other:?}"),
    }
    let s = phone.client.status().await.expect("status");
    assert!(s.login_required && !s.logged_in);
    assert_eq!(s.username.as_deref(), Some(W1));
    assert_eq!(s.pending_records, 3);
    assert!(s.last_error.is_some());
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (0, 0)
    );
    // Trying again does not help and does not touch the outbox.
    assert!(matches!(
        phone.client.sync_now().await,
        Err(SyncError::LoginRequired { .. })
    ));
    assert_eq!(phone.archive.outbox_counts().expect("c").pending, 3);

    phone.login(W1).await.expect("login again");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pushed.accepted, 3);
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (3, 0)
    );
    let s = phone.client.status().await.expect("status");
    assert!(!s.login_required && s.logged_in && s.last_error.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_revoked_token_mid_sync_keeps_the_batch_for_after_the_next_login() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 4, |_| vec![])
        .expect("record");
    let revoked = server
        .db()
        .revoke_user_sessions(W1, chrono::Utc::now())
        .await
        .expect("revoke");
    assert_eq!(revoked, 1);

    // The server refuses the push with 401: the batch goes back to pending, the token is dropped.
    let err = phone.client.sync_now().await.expect_err("revoked");
    match &err {
        SyncError::LoginRequired { reason } => assert!(reason.contains("revoked"), "{reason}"),
        other => panic!("expected LoginRequired, got {other:?}"),
    }
    let oc = phone.archive.outbox_counts().expect("outbox");
    assert_eq!((oc.pending, oc.in_flight, oc.acked), (4, 0, 0));
    let s = phone.client.status().await.expect("status");
    assert!(s.login_required);
    assert!(
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("revoked")),
        "{:?}",
        s.last_error
    );
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (0, 0)
    );

    phone.login(W1).await.expect("login again");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!((r.pushed.accepted, r.pushed.duplicate), (4, 0));
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (4, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_wrong_password_is_a_clear_error_and_keeps_the_session() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let err = phone
        .client
        .login(W1, "not-the-password")
        .await
        .expect_err("wrong password");
    assert!(matches!(err, SyncError::InvalidCredentials), "{err:?}");
    assert!(phone.client.status().await.expect("status").logged_in);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_building_leaving_the_scope_goes_but_records_about_it_stay_until_synced() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let moving = fixtures::code(2);
    // Synced earlier: one inspection about the building that will move, one about another.
    let synced = phone
        .record_inspections(W1, &[moving.clone(), fixtures::code(3)], 2, |_| vec![])
        .expect("record");
    phone.client.sync_now().await.expect("first sync");
    assert_eq!(phone.archive.building_count().expect("count"), 12);

    // Offline, the worker inspects the building again; meanwhile the district moves it to grid 2.
    let unsynced = phone
        .record_inspections(W1, std::slice::from_ref(&moving), 1, |_| vec![])
        .expect("record");
    let mut b = server
        .db()
        .building(&moving)
        .await
        .expect("read")
        .expect("exists")
        .building;
    b.grid = grid_id(1, 1, 2);
    server
        .db()
        .import_buildings(vec![b], false)
        .await
        .expect("reassign");

    let r = phone.client.sync_now().await.expect("sync");
    // The new record is refused (the building is no longer the worker's), with the server's
    // message, and stays on the phone; the building is dropped; the already-synced record about
    // it goes with it; the record about building 3 stays.
    assert_eq!((r.pushed.accepted, r.pushed.rejected), (0, 1));
    assert_eq!((r.pulled.removed, r.pulled.pruned_records), (1, 1));
    assert_eq!(phone.archive.building(&moving).expect("read"), None);
    assert_eq!(phone.archive.building_count().expect("count"), 11);
    assert!(
        phone
            .archive
            .inspection(synced[0].id)
            .expect("read")
            .is_none()
    );
    assert!(
        phone
            .archive
            .inspection(synced[1].id)
            .expect("read")
            .is_some()
    );
    assert!(
        phone
            .archive
            .inspection(unsynced[0].id)
            .expect("read")
            .is_some()
    );
    let rejected = phone.archive.rejected_records().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record_id, unsynced[0].id);
    assert_eq!(rejected[0].code, "out_of_scope");
    assert!(
        rejected[0].message.contains(moving.as_str()),
        "{}",
        rejected[0].message
    );
    assert_eq!(
        phone
            .client
            .status()
            .await
            .expect("status")
            .rejected_records,
        1
    );
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (2, 1)
    );

    // The grid-2 worker's phone gets the building.
    let w2 = Phone::for_server(&server.url()).expect("phone 2");
    w2.login(W2).await.expect("login");
    w2.client.sync_now().await.expect("sync 2");
    assert_eq!(w2.archive.building_count().expect("count"), 13);
    assert_eq!(
        w2.archive
            .building(&moving)
            .expect("read")
            .expect("held")
            .grid,
        grid_id(1, 1, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sent_back_report_shows_its_comment_and_the_correction_is_linked() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let original = phone
        .record_inspections(W1, &w1_codes(), 1, |_| vec![])
        .expect("record")
        .remove(0);
    phone.client.sync_now().await.expect("sync");

    // The supervisor sends it back (the review endpoint belongs to the next server issue; the
    // server's storage layer records it exactly as that endpoint will).
    let review = |record, decision, comment: &str| ReviewOutcome {
        record,
        decision,
        comment: comment.into(),
        reviewer: WorkerId::from(SUPERVISOR),
        reviewed_at: chrono::Utc::now(),
    };
    server
        .db()
        .add_review(review(
            original.id,
            ReviewDecision::SentBack,
            "消防通道照片缺失 — add the escape-route photo",
        ))
        .await
        .expect("review")
        .expect("record known");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pulled.reviews, 1);
    let open = phone.archive.sent_back_uncorrected().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].record_id, original.id);
    assert_eq!(
        open[0].comment,
        "消防通道照片缺失 — add the escape-route photo"
    );
    assert_eq!(open[0].reviewer.as_str(), SUPERVISOR);

    // The worker corrects it: a new report linked to the sent-back one.
    let photo = phone.add_photo(9, 80_000).expect("photo");
    let mut correction = fixtures::inspection(&original.building, W1, vec![photo.clone()]);
    correction.corrects = Some(original.id);
    phone
        .archive
        .record_inspection(&correction)
        .expect("correction");
    assert!(
        phone
            .archive
            .sent_back_uncorrected()
            .expect("open")
            .is_empty()
    );
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!((r.pushed.accepted, r.photos_uploaded), (1, 1));
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (2, 0)
    );
    assert!(
        server
            .db()
            .photo_stored(&photo.sha256)
            .await
            .expect("photo")
    );

    // Approved: the phone shows both decisions, the first linked to its correction.
    server
        .db()
        .add_review(review(correction.id, ReviewDecision::Approved, "ok"))
        .await
        .expect("review")
        .expect("record known");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pulled.reviews, 1);
    let reviews = phone.archive.reviews().expect("reviews");
    assert_eq!(reviews.len(), 2);
    let first = phone
        .archive
        .review_of(original.id)
        .expect("read")
        .expect("review");
    assert_eq!(first.corrected_by, Some(correction.id));
    assert_eq!(
        phone
            .archive
            .review_of(correction.id)
            .expect("read")
            .expect("review")
            .decision,
        ReviewDecision::Approved
    );
}
