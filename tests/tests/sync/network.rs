//! Bad networks and impatient users: dropped connections retried with backoff, an unreachable
//! server, cancellation mid-sync, status while running, rejections that do not block the rest,
//! photos deduplicated across phones, bytes on the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridwalk_core::store::{BuildingFilter, Page, Scope};
use gridwalk_core::sync::{PULL_PAGES_AHEAD, ProgressObserver, SyncError, SyncPhase, SyncReport};
use gridwalk_server::db::Database;
use gridwalk_server::fixtures;
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_dropped_connections_are_retried_with_backoff() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let mut config = test_config(&proxy.url());
    config.retry.max_attempts = 4;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 5, |_| vec![])
        .expect("record");

    // The next three connections die at once (a cell link flapping); the fourth try works.
    let before = proxy.connections();
    proxy.drop_next_connections(3);
    // Force new connections: the login's pooled one would otherwise carry the push.
    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("sync with retries");
    assert_eq!(r.pushed.accepted, 5);
    assert_eq!(
        proxy.connections() - before,
        4,
        "three refused, one carried the sync"
    );
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (5, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_unreachable_server_is_an_error_shown_to_the_worker_and_nothing_moves() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let phone = Phone::for_server(&proxy.url()).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 2, |_| vec![])
        .expect("record");
    let phone = phone.restart().expect("restart");
    proxy.drop_next_connections(100);
    let err = phone.client.sync_now().await.expect_err("no network");
    assert!(matches!(err, SyncError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
    let s = phone.client.status().await.expect("status");
    assert!(
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no connection")),
        "{:?}",
        s.last_error
    );
    assert_eq!((s.pending_records, s.running), (2, false));
    let oc = phone.archive.outbox_counts().expect("outbox");
    assert_eq!((oc.pending, oc.in_flight), (2, 0));
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (0, 0)
    );

    proxy.drop_next_connections(0);
    let r = phone.client.sync_now().await.expect("signal back");
    assert_eq!(r.pushed.accepted, 2);
    assert!(
        phone
            .client
            .status()
            .await
            .expect("status")
            .last_error
            .is_none()
    );
}

/// A bootstrap's first page drops the officer-list indexes, which the sync's upkeep builds after it.
/// Cancelled in between, the upkeep builds them too: the list is indexed again while the app runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_bootstrap_cancelled_between_pages_leaves_the_lists_indexed() {
    let (server, _) = TestServer::start_one_grid(2_500).await.expect("server");
    let grid = fixtures::grid_id(1, 1, 1);
    let mut config = test_config(&server.url());
    config.pull_page = 1_000;
    let phone = Arc::new(Phone::new(config).expect("phone"));
    phone.login(W1).await.expect("login");
    let worker = Arc::downgrade(&phone);
    phone
        .client
        .set_progress_observer(Some(ProgressObserver::new(move |p| {
            if p.pages_pulled == 1
                && let Some(phone) = worker.upgrade()
            {
                phone.client.cancel();
            }
        })));
    let err = phone.client.sync_now().await.expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    assert_eq!(phone.archive.building_count().expect("count"), 1_000);
    phone.client.wait_for_upkeep().await;
    assert_eq!(list_index_count(&phone), 5);
    let (rows, next) = phone
        .archive
        .building_list(
            &BuildingFilter::all_in(Scope::Grid(grid.clone())),
            &Page::first(50),
        )
        .expect("list");
    assert_eq!(rows.len(), 50);
    assert!(next.is_some());

    phone.client.set_progress_observer(None);
    phone
        .client
        .sync_now()
        .await
        .expect("the next sync finishes");
    assert_eq!(phone.archive.building_count().expect("count"), 2_500);
    // Right after the sync the list answers, with or without its index (the upkeep may be
    // building it); after the upkeep it is indexed and the same.
    let filter = BuildingFilter::all_in(Scope::Grid(grid));
    let (before, _) = phone
        .archive
        .building_list(&filter, &Page::first(100))
        .expect("list after the sync");
    phone.client.wait_for_upkeep().await;
    assert_eq!(list_index_count(&phone), 5);
    let (after, _) = phone
        .archive
        .building_list(&filter, &Page::first(100))
        .expect("list after the upkeep");
    assert_eq!(after.len(), 100);
    assert_eq!(before, after);
}

fn list_index_count(phone: &Phone) -> i64 {
    phone
        .archive
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' \
                 AND name LIKE 'buildings%risk'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("schema")
}

/// A pull page's headers name the next page (ADR 0045): the phone asks for it while this page's body
/// is still arriving, which takes a second connection; and every page is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_asks_for_the_next_pull_page_while_the_last_one_is_still_arriving() {
    let (server, _) = TestServer::start_one_grid(2_500).await.expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let mut config = test_config(&proxy.url());
    config.pull_page = 1_000;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    // A fresh connection pool; every 64 KiB of an answer (a page is ~85 KB gzipped) is held back,
    // so a page's body arrives well after its headers.
    let phone = phone.restart().expect("restart");
    proxy.set_delay(Duration::from_millis(20));
    let before = proxy.connections();
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!((r.pull_pages, r.pulled.buildings), (3, 2_500));
    assert_eq!(r.wire.requests, 3, "no page was asked for twice");
    // Asked for one at a time, the three pages would share one pooled connection.
    assert!(
        proxy.connections() - before >= 2,
        "{} connection(s) for three pages",
        proxy.connections() - before
    );
    assert_eq!(phone.archive.building_count().expect("count"), 2_500);
}

/// The pull follows the pages' headers on its own (ADR 0046): while one page is being applied, the
/// next `PULL_PAGES_AHEAD` pages are asked for, and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_asks_for_pull_pages_ahead_of_the_apply_but_no_further() {
    let (server, _) = TestServer::start_one_grid(2_500).await.expect("server");
    let mut config = test_config(&server.url());
    config.pull_page = 500;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    let phone = Arc::new(phone.restart().expect("restart"));
    let before = phone.client.wire().requests;
    // The progress observer runs on the sync's task, right after a page is applied: holding it
    // there holds the apply of the next page, not the fetches.
    let asked_while_held = Arc::new(Mutex::new(None));
    {
        let worker = Arc::downgrade(&phone);
        let asked = asked_while_held.clone();
        phone
            .client
            .set_progress_observer(Some(ProgressObserver::new(move |p| {
                let mut asked = asked.lock().expect("lock");
                if p.pages_pulled == 1
                    && asked.is_none()
                    && let Some(phone) = worker.upgrade()
                {
                    std::thread::sleep(Duration::from_millis(400));
                    *asked = Some(phone.client.wire().requests - before);
                }
            })));
    }
    let r = phone.client.sync_now().await.expect("sync");
    phone.client.set_progress_observer(None);
    assert_eq!((r.pull_pages, r.pulled.buildings), (5, 2_500));
    assert_eq!(r.wire.requests, 5, "no page was asked for twice");
    assert_eq!(
        *asked_while_held.lock().expect("lock"),
        Some(1 + PULL_PAGES_AHEAD as u64),
        "pages asked for while the first was applied and the pull held"
    );
    assert_eq!(phone.archive.building_count().expect("count"), 2_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_cancel_stops_a_slow_sync_and_the_next_one_finishes_it() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let mut config = test_config(&proxy.url());
    config.push_batch = 2;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 8, |_| vec![])
        .expect("record");
    let phone = Arc::new(phone);

    // Every answer crawls; the worker watches the status, then gives up.
    proxy.set_delay(Duration::from_millis(150));
    let running = {
        let phone = phone.clone();
        tokio::spawn(async move { phone.client.sync_now().await })
    };
    let mut seen_running = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let s = phone.client.status().await.expect("status");
        if s.running && s.progress.is_some_and(|p| p.records_pushed > 0) {
            seen_running = Some(s);
            break;
        }
    }
    let s = seen_running.expect("status shows the sync running with progress");
    let p = s.progress.expect("progress");
    assert_eq!(p.phase, SyncPhase::Pushing);
    assert_eq!(p.records_to_push, 8);
    assert!(p.fraction() > 0.0 && p.fraction() < 1.0 / 3.0);
    assert!(matches!(
        phone.client.sync_now().await,
        Err(SyncError::AlreadyRunning)
    ));

    phone.client.cancel();
    let err = running.await.expect("task").expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    let s = phone.client.status().await.expect("status");
    assert!(!s.running && s.progress.is_none());
    let oc = phone.archive.outbox_counts().expect("outbox");
    assert_eq!(oc.in_flight, 0, "a cancelled batch goes back to pending");
    assert_eq!(oc.pending + oc.acked, 8);
    let (stored, _) = server.device_counts(&phone.device()).await.expect("counts");
    assert!(stored >= oc.acked && stored < 8, "{stored} vs {}", oc.acked);

    proxy.set_delay(Duration::ZERO);
    let r = phone.client.sync_now().await.expect("finish");
    assert_eq!(r.pushed.accepted + r.pushed.duplicate, oc.pending);
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (8, 0)
    );
    assert_eq!(phone.archive.outbox_counts().expect("outbox").acked, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_one_refused_record_does_not_block_the_others() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    // Records 1 and 3 are fine; record 2 is about a building in another worker's grid.
    let mut codes = w1_codes();
    codes.insert(1, fixtures::code(30));
    let recs = phone
        .record_inspections(W1, &codes[..3], 3, |_| vec![])
        .expect("record");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!((r.pushed.accepted, r.pushed.rejected), (2, 1));
    let rejected = phone.archive.rejected_records().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record_id, recs[1].id);
    assert_eq!(rejected[0].code, "out_of_scope");
    assert!(!rejected[0].message.is_empty());
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (2, 1)
    );
    // A refusal is final: the next sync does not send it again.
    let again = phone.client.sync_now().await.expect("sync");
    assert_eq!(again.push_batches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_the_same_photo_from_two_records_and_two_phones_is_uploaded_once() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let a = Phone::for_server(&server.url()).expect("a");
    let b = Phone::for_server(&server.url()).expect("b");
    a.login(W1).await.expect("login");
    b.login(W1).await.expect("login");
    let pa = a.add_photo(7, 120_000).expect("photo");
    let pb = b.add_photo(7, 120_000).expect("photo");
    assert_eq!(pa, pb);
    let p = pa.clone();
    a.record_inspections(W1, &w1_codes(), 2, |_| vec![p.clone()])
        .expect("record");
    let p = pb.clone();
    b.record_inspections(W1, &w1_codes(), 1, |_| vec![p.clone()])
        .expect("record");

    let ra = a.client.sync_now().await.expect("a");
    assert_eq!((ra.photos_uploaded, ra.photo_bytes_uploaded), (1, 120_000));
    let rb = b.client.sync_now().await.expect("b");
    assert_eq!(rb.pushed.accepted, 1);
    assert_eq!(
        (rb.photos_uploaded, rb.photo_bytes_uploaded),
        (0, 0),
        "the server already had it"
    );
    assert_eq!(b.client.status().await.expect("s").pending_photos, 0);
    assert!(
        server
            .db()
            .missing_photos(&b.device())
            .await
            .expect("missing")
            .is_empty()
    );
    assert!(rb.wire.sent < 10_000, "no photo bytes: {}", rb.wire.sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_counts_bytes_close_to_what_the_wire_carries_and_compresses() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let phone = Phone::for_server(&proxy.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let recs = phone
        .record_inspections(W1, &w1_codes(), 200, |_| vec![])
        .expect("record");
    let json: usize = recs
        .iter()
        .map(|r| serde_json::to_vec(r).expect("json").len())
        .sum();
    let (up0, down0) = proxy.bytes();
    let w0 = phone.client.wire();
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pushed.accepted, 200);
    let (up, down) = proxy.bytes();
    let (up, down) = (up - up0, down - down0);
    let w = phone.client.wire().since(w0);
    assert_eq!(w, r.wire);
    // The client's count misses only the headers the HTTP library adds (host, content-length…).
    assert!(
        w.sent <= up && up - w.sent < 100 * w.requests,
        "{w:?} vs {up}"
    );
    assert!(
        w.received <= down && down - w.received < 100 * w.requests,
        "{w:?} vs {down}"
    );
    // gzip: the push carries far fewer bytes than the records' JSON.
    assert!(up * 4 < json as u64, "sent {up} for {json} bytes of JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_push_refused_as_a_whole_keeps_its_records_and_still_pulls() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    // An officer's account may read its community but not push field records.
    phone
        .client
        .login("officer-S01C01", PASSWORD)
        .await
        .expect("login");
    phone
        .record_inspections("officer-S01C01", &w1_codes(), 2, |_| vec![])
        .expect("record");
    let err = phone.client.sync_now().await.expect_err("refused");
    match &err {
        SyncError::Refused { status, error } => {
            assert_eq!(*status, 403);
            assert_eq!(error.code, gridwalk_core::protocol::ErrorCode::Forbidden);
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(!err.is_transient());
    // The community's 36 buildings arrived anyway; the records wait, nothing was stored.
    assert_eq!(phone.archive.building_count().expect("count"), 36);
    let s = phone.client.status().await.expect("status");
    assert_eq!((s.pending_records, s.rejected_records), (2, 0));
    assert!(s.last_error.is_some() && s.last_success_at.is_none());
    assert_eq!(phone.archive.outbox_counts().expect("outbox").in_flight, 0);
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (0, 0)
    );
}

/// Eight inspections pushed in batches of two, at most `push_window` on the wire, while the
/// sync's first connection (batches 1 and 2) has everything it sends held for 600 ms, and the server
/// holds a batch that overtook another for at most 100 ms (`push_turn_wait_ms`). Returns the
/// report, what the server holds from the phone, and the phone's pending records and last error.
async fn push_with_the_first_connection_held(
    push_window: u32,
) -> (SyncReport, (u64, u64), (u64, Option<String>)) {
    let server = TestServer::start(|c| c.push_turn_wait_ms = 100)
        .await
        .expect("server");
    let proxy = Proxy::start(server.handle.addr).await.expect("proxy");
    let mut config = test_config(&proxy.url());
    config.push_batch = 2;
    config.push_window = push_window;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    phone
        .record_inspections(W1, &w1_codes(), 8, |_| vec![])
        .expect("record");
    // A fresh connection pool: the sync's first connection is the next one the proxy accepts.
    let phone = phone.restart().expect("restart");
    proxy.hold_uploads_on_connection(proxy.connections() + 1, Duration::from_millis(600));
    let r = phone.client.sync_now().await.expect("sync");
    let held = server.device_counts(&phone.device()).await.expect("counts");
    let status = phone.client.status().await.expect("status");
    (r, held, (status.pending_records, status.last_error))
}

/// One batch at a time: nothing overtakes the held batch, each batch goes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_a_push_window_of_one_sends_each_batch_after_the_last_answer() {
    let (r, held, pending) = push_with_the_first_connection_held(1).await;
    assert_eq!((r.pushed.accepted, r.push_batches), (8, 4));
    assert_eq!(r.wire.requests, 5, "4 batches and 1 pull page, each once");
    assert_eq!(held, (8, 0));
    assert_eq!(pending, (0, None));
}

/// Two on the wire: batch 3 overtakes the held batch 2 and reaches the server first. It waits
/// its turn, but only 100 ms, and is answered "sequence gap"; batch 4 went out behind it before
/// that answer was read. Batch 2 merges when it arrives. The phone then sends batches 3 and 4
/// again, one at a time, and the sync completes with every record stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_push_batch_that_overtook_a_held_one_is_sent_again_after_it() {
    let (r, held, pending) = push_with_the_first_connection_held(2).await;
    assert_eq!((r.pushed.accepted, r.push_batches), (8, 4));
    assert_eq!(
        r.wire.requests, 7,
        "batches 1 and 2 once, 3 and 4 twice, 1 pull page"
    );
    assert_eq!(held, (8, 0), "every record stored once");
    assert_eq!(pending, (0, None));
}
