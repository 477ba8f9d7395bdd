//! Two phones record offline, then sync with the real server: exact counts on both sides.

use gridwalk_core::domain::Sha256Hex;
use gridwalk_server::db::Database;
use gridwalk_server::fixtures;
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_two_phones_record_offline_then_sync() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let a = Phone::for_server(&server.url()).expect("phone a");
    let b = Phone::for_server(&server.url()).expect("phone b");
    a.login(W1).await.expect("login a");
    b.login(W2).await.expect("login b");

    // Offline: A records four inspections (one with a photo) and a hazard; B three inspections.
    let photo = a.add_photo(1, 200_000).expect("photo");
    let p = photo.clone();
    let a_records = a
        .record_inspections(W1, &w1_codes(), 4, |i| {
            if i == 0 { vec![p.clone()] } else { vec![] }
        })
        .expect("record a");
    let hazard = fixtures::hazard(&fixtures::code(3), W1);
    a.archive.record_event(&hazard).expect("hazard");
    let w2_codes: Vec<_> = (13..=24).map(fixtures::code).collect();
    b.record_inspections(W2, &w2_codes, 3, |_| vec![])
        .expect("record b");

    let before = a.client.status().await.expect("status");
    assert_eq!(
        (
            before.pending_records,
            before.pending_photos,
            before.running
        ),
        (5, 1, false)
    );
    assert!(before.logged_in && before.last_success_at.is_none());

    let ra = a.client.sync_now().await.expect("sync a");
    let rb = b.client.sync_now().await.expect("sync b");

    // A's side.
    assert_eq!(
        (ra.pushed.accepted, ra.pushed.duplicate, ra.pushed.rejected),
        (5, 0, 0)
    );
    assert_eq!(ra.push_batches, 1);
    assert_eq!((ra.photos_uploaded, ra.photo_bytes_uploaded), (1, 200_000));
    assert_eq!((ra.pulled.buildings, ra.pulled.removed), (12, 0));
    assert_eq!(a.archive.building_count().expect("count"), 12);
    for code in w1_codes() {
        assert!(a.archive.building(&code).expect("read").is_some(), "{code}");
    }
    assert!(a.archive.building(&w2_codes[0]).expect("read").is_none());
    let sa = a.client.status().await.expect("status");
    assert_eq!(
        (sa.pending_records, sa.pending_photos, sa.rejected_records),
        (0, 0, 0)
    );
    assert!(sa.last_success_at.is_some() && sa.last_error.is_none());
    let oc = a.archive.outbox_counts().expect("outbox");
    assert_eq!(
        (oc.pending, oc.in_flight, oc.acked, oc.rejected),
        (0, 0, 5, 0)
    );
    assert!(ra.wire.sent > 200_000 && ra.wire.received > 0);
    assert_eq!(sa.wire.requests, ra.wire.requests + 1, "plus the login");

    // B's side.
    assert_eq!((rb.pushed.accepted, rb.pulled.buildings), (3, 12));
    assert_eq!(b.archive.building_count().expect("count"), 12);

    // The server's side.
    assert_eq!(server.device_counts(&a.device()).await.expect("a"), (5, 0));
    assert_eq!(server.device_counts(&b.device()).await.expect("b"), (3, 0));
    assert!(
        server
            .db()
            .photo_stored(&photo.sha256)
            .await
            .expect("photo")
    );
    assert_eq!(
        server
            .db()
            .missing_photos(&a.device())
            .await
            .expect("missing"),
        Vec::<Sha256Hex>::new()
    );
    assert!(a_records.iter().all(|r| r.worker.as_str() == W1));

    // Nothing new: the next sync pushes nothing and pulls no change, in one request.
    let again = a.client.sync_now().await.expect("sync again");
    assert_eq!((again.push_batches, again.pull_pages), (0, 1));
    assert_eq!(
        (
            again.pulled.buildings,
            again.photos_uploaded,
            again.wire.requests
        ),
        (0, 0, 1)
    );
    assert_eq!(server.device_counts(&a.device()).await.expect("a"), (5, 0));
}
