//! The app killed at every step of a sync (simulated with fail points: the sync stops dead with
//! no clean-up, then the archive is reopened from disk), then a normal sync: nothing lost, nothing
//! duplicated, on either side.

use gridwalk_core::domain::PhotoRef;
use gridwalk_core::sync::{FailPoint, SyncConfig, SyncError, SyncReport};
use gridwalk_server::db::Database;
use gridwalk_tests::sync_harness::*;

const RECORDS: usize = 7;

/// A phone with seven unsynced inspections (two with photos of ~150 KB), small batches, pages
/// and photo chunks so that every step happens more than once.
async fn phone_with_work(server: &TestServer) -> (Phone, Vec<PhotoRef>) {
    phone_with_work_and_window(server, SyncConfig::default().push_window).await
}

/// [`phone_with_work`] sending at most `push_window` push batches at once.
async fn phone_with_work_and_window(
    server: &TestServer,
    push_window: u32,
) -> (Phone, Vec<PhotoRef>) {
    let mut config = test_config(&server.url());
    config.push_window = push_window;
    config.push_batch = 3;
    config.pull_page = 5;
    config.photo_chunk_bytes = 64 * 1024;
    let phone = Phone::new(config).expect("phone");
    phone.login(W1).await.expect("login");
    let photos = vec![
        phone.add_photo(1, 150_000).expect("photo"),
        phone.add_photo(2, 140_000).expect("photo"),
    ];
    let p = photos.clone();
    phone
        .record_inspections(W1, &w1_codes(), RECORDS, |i| match i {
            1 => vec![p[0].clone()],
            5 => vec![p[1].clone()],
            _ => vec![],
        })
        .expect("record");
    (phone, photos)
}

/// Everything is where it should be, exactly once.
async fn assert_fully_synced(server: &TestServer, phone: &Phone, photos: &[PhotoRef]) {
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (RECORDS as u64, 0),
        "the server holds each record once"
    );
    for p in photos {
        assert!(server.db().photo_stored(&p.sha256).await.expect("stored"));
    }
    assert!(
        server
            .db()
            .missing_photos(&phone.device())
            .await
            .expect("missing")
            .is_empty()
    );
    let oc = phone.archive.outbox_counts().expect("outbox");
    assert_eq!(
        (oc.pending, oc.in_flight, oc.acked, oc.rejected),
        (0, 0, RECORDS as u64, 0)
    );
    assert_eq!(phone.archive.building_count().expect("buildings"), 12);
    let status = phone.client.status().await.expect("status");
    assert_eq!(
        (
            status.pending_records,
            status.pending_photos,
            status.rejected_records
        ),
        (0, 0, 0)
    );
    assert!(status.last_error.is_none());
    // And a further sync finds nothing to do.
    let idle = phone.client.sync_now().await.expect("idle sync");
    assert_eq!(
        (
            idle.push_batches,
            idle.photos_uploaded,
            idle.pulled.buildings
        ),
        (0, 0, 0)
    );
}

async fn kill_then_resume(point: FailPoint, nth: u32) -> (SyncReport, Phone, TestServer) {
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    phone.client.fail_at(point, nth);
    let err = phone.client.sync_now().await.expect_err("killed");
    assert!(
        matches!(err, SyncError::Killed(p) if p == point),
        "{point:?}: {err:?}"
    );
    let phone = phone.restart().expect("restart");
    let report = phone.client.sync_now().await.expect("resumed sync");
    assert_fully_synced(&server, &phone, &photos).await;
    (report, phone, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_before_the_push_resumes() {
    let (r, ..) = kill_then_resume(FailPoint::BeforePush, 1).await;
    assert_eq!(
        (r.pushed.accepted, r.pushed.duplicate, r.requeued),
        (7, 0, 0)
    );
    assert_eq!(r.push_batches, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_after_claiming_a_batch_resends_it_under_the_same_numbers() {
    // The second batch (records 4-6) is claimed, never sent; the first was answered by the server
    // but its answer was being recorded alongside the second's sending, so it is lost with the app.
    let (r, ..) = kill_then_resume(FailPoint::AfterClaim, 2).await;
    assert_eq!(r.requeued, 6);
    assert_eq!((r.pushed.accepted, r.pushed.duplicate), (4, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_lost_acknowledgement_is_answered_as_duplicate_not_stored_twice() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    // The server commits the first batch; its answer never reaches the phone.
    phone.client.fail_at(FailPoint::AfterPushAnswered, 1);
    phone.client.sync_now().await.expect_err("killed");
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (3, 0),
        "committed on the server"
    );
    // The second batch was claimed while the first was with the server.
    let oc = phone.archive.outbox_counts().expect("outbox");
    assert_eq!((oc.pending, oc.in_flight, oc.acked), (1, 6, 0));

    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("resumed");
    assert_eq!(r.requeued, 6);
    assert_eq!(
        (r.pushed.accepted, r.pushed.duplicate, r.pushed.rejected),
        (4, 3, 0)
    );
    assert_fully_synced(&server, &phone, &photos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_between_batches_resumes_with_the_rest() {
    // Batch 1's answer is recorded, and batch 3 claimed, while batch 2 is with the server, which
    // commits it; the app dies before batch 2's answer lands. Batches 2 and 3 go again; the
    // server has batch 2 already.
    let (r, ..) = kill_then_resume(FailPoint::AfterPushApplied, 1).await;
    assert_eq!(
        (r.requeued, r.pushed.accepted, r.pushed.duplicate),
        (4, 1, 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_in_a_photo_upload_resumes_where_the_server_copy_ends() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    phone.client.fail_at(FailPoint::AfterPhotoChunk, 1);
    phone.client.sync_now().await.expect_err("killed");
    // Records are all on the server; of the photos, exactly one 64 KiB chunk of the first.
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (7, 0)
    );
    let mut held = Vec::new();
    for p in &photos {
        held.push(server.photo_bytes_held(p).await.expect("held"));
    }
    held.sort_unstable();
    assert_eq!(held, [0, 65_536]);
    assert_eq!(
        phone.client.status().await.expect("status").pending_photos,
        2
    );

    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("resumed");
    assert_eq!(r.photos_uploaded, 2);
    assert_eq!(
        r.photo_bytes_uploaded,
        150_000 + 140_000 - 65_536,
        "the chunk the server had is not sent again"
    );
    assert_eq!((r.pushed.accepted, r.pushed.duplicate), (0, 0));
    assert_fully_synced(&server, &phone, &photos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_with_a_pull_page_fetched_but_not_applied_pulls_it_again() {
    let (r, ..) = kill_then_resume(FailPoint::AfterPullFetched, 2).await;
    // Page 1 (5 buildings) was applied with its cursor; pages 2 and 3 come in the resumed sync.
    assert_eq!((r.pull_pages, r.pulled.buildings), (2, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_between_pull_pages_continues_from_the_stored_cursor() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    phone.client.fail_at(FailPoint::AfterPullPageApplied, 2);
    phone.client.sync_now().await.expect_err("killed");
    assert_eq!(phone.archive.building_count().expect("count"), 10);
    let cursor = phone.archive.sync_state().expect("state").pull_cursor;
    assert!(cursor.is_some());

    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("resumed");
    assert_eq!((r.pull_pages, r.pulled.buildings), (1, 2));
    assert_fully_synced(&server, &phone, &photos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_twice_in_a_row_still_ends_exactly_once() {
    let server = TestServer::start(|_| {}).await.expect("server");
    // One batch on the wire at a time: with two, whether the batch sent after the answered one
    // reached the server before the app died is a race, and the count in between is not exact.
    let (phone, photos) = phone_with_work_and_window(&server, 1).await;
    phone.client.fail_at(FailPoint::AfterPushAnswered, 2);
    phone.client.sync_now().await.expect_err("killed once");
    let phone = phone.restart().expect("restart");
    // The resend of the unacknowledged batch is answered, then the app dies again.
    phone.client.fail_at(FailPoint::AfterPushAnswered, 1);
    phone.client.sync_now().await.expect_err("killed twice");
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (6, 0)
    );
    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("resumed");
    assert_eq!((r.pushed.accepted, r.pushed.duplicate), (1, 3));
    assert_fully_synced(&server, &phone, &photos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_after_the_server_died_between_a_photos_last_chunk_and_its_check_stores_it() {
    // Found by `gridwalk-sim chaos --scenario kill-server`: a server killed after appending a
    // photo's last chunk, before verifying it, left a partial file of full size that the phone
    // could never complete (it had nothing left to send) — the phone's syncs failed forever.
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    phone.client.fail_at(FailPoint::AfterPhotoChunk, 1);
    phone.client.sync_now().await.expect_err("killed");
    let mut started = None;
    for p in &photos {
        if server.photo_bytes_held(p).await.expect("held") > 0 {
            started = Some(p.clone());
        }
    }
    let stranded = started.expect("one photo's upload had started");
    // The rest of its bytes arrived and the server died before checking them.
    let bytes = std::fs::read(phone.archive.photo_path(&stranded.sha256)).expect("photo file");
    std::fs::write(
        server
            .data_dir()
            .join("photos")
            .join("partial")
            .join(stranded.sha256.as_str()),
        &bytes,
    )
    .expect("complete partial file");
    assert!(
        !server
            .db()
            .photo_stored(&stranded.sha256)
            .await
            .expect("stored")
    );

    let phone = phone.restart().expect("restart");
    let r = phone.client.sync_now().await.expect("resumed");
    let other: u64 = photos
        .iter()
        .filter(|p| p.sha256 != stranded.sha256)
        .map(|p| p.size_bytes)
        .sum();
    assert_eq!(
        r.photo_bytes_uploaded, other,
        "the stranded photo is not sent again"
    );
    assert_fully_synced(&server, &phone, &photos).await;
}

/// A photo file damaged on the phone (storage fault, or changed behind the app's back) can never
/// match its hash: that photo is reported by name and stays pending, and everything else — the
/// records, the other photo, the pull — goes through, in this sync and the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_a_damaged_photo_file_sends_everything_else_and_names_that_photo() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let (phone, photos) = phone_with_work(&server).await;
    let damaged = &photos[0];
    let path = phone.archive.photo_path(&damaged.sha256);
    let original = std::fs::read(&path).expect("photo file");
    let mut bytes = original.clone();
    bytes[1_000] ^= 0xff;
    std::fs::write(&path, &bytes).expect("damage");

    let r = phone
        .client
        .sync_now()
        .await
        .expect("the sync goes through");
    assert_eq!(r.pushed.accepted, RECORDS as u64);
    assert_eq!(r.photos_uploaded, 1);
    assert_eq!(r.photo_failures.len(), 1, "{:?}", r.photo_failures);
    assert!(
        r.photo_failures[0].contains(damaged.sha256.as_str())
            && r.photo_failures[0].contains("damaged"),
        "{:?}",
        r.photo_failures
    );
    assert_eq!(r.pulled.buildings, 12, "the pull was not held up");
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (RECORDS as u64, 0)
    );
    assert!(
        !server
            .db()
            .photo_stored(&damaged.sha256)
            .await
            .expect("stored")
    );
    assert!(
        server
            .db()
            .photo_stored(&photos[1].sha256)
            .await
            .expect("stored")
    );
    assert_eq!(
        server
            .db()
            .missing_photos(&phone.device())
            .await
            .expect("missing"),
        std::slice::from_ref(&damaged.sha256)
    );
    let status = phone.client.status().await.expect("status");
    assert_eq!((status.pending_records, status.pending_photos), (0, 1));
    assert_eq!(status.last_error, None);
    assert_eq!(
        status.photo_failures.len(),
        1,
        "the sync screen says which and why"
    );
    assert_eq!(status.photo_failures[0].sha256, damaged.sha256);
    assert!(status.photo_failures[0].reason.contains("damaged"));

    // Next time: the same photo is named again; nothing else moves twice.
    let again = phone.client.sync_now().await.expect("again");
    assert_eq!((again.pushed.accepted, again.photos_uploaded), (0, 0));
    assert_eq!(again.photo_failures.len(), 1);
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (RECORDS as u64, 0)
    );

    // The file restored (from a backup, say): the next sync sends it and the failure is gone.
    std::fs::write(&path, &original).expect("restore");
    let repaired = phone.client.sync_now().await.expect("repaired");
    assert_eq!(
        (repaired.photos_uploaded, repaired.photo_failures.len()),
        (1, 0)
    );
    assert_fully_synced(&server, &phone, &photos).await;
    assert!(
        phone
            .client
            .status()
            .await
            .expect("status")
            .photo_failures
            .is_empty()
    );
}
