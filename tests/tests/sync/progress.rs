//! The progress observer hook of the sync client (used by the FFI's `SyncObserver`), against the
//! real server: every step is reported, in phase order, and the totals match what was sent.

use std::sync::{Arc, Mutex};

use gridwalk_core::sync::{ProgressObserver, SyncPhase, SyncProgress};
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_progress_observer_sees_every_phase_with_the_totals() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let photo = phone.add_photo(3, 50_000).expect("photo");
    let p = photo.clone();
    phone
        .record_inspections(W1, &w1_codes(), 3, |i| {
            if i == 0 { vec![p.clone()] } else { vec![] }
        })
        .expect("record");

    let seen: Arc<Mutex<Vec<SyncProgress>>> = Arc::default();
    let sink = seen.clone();
    phone
        .client
        .set_progress_observer(Some(ProgressObserver::new(move |p| {
            sink.lock().expect("lock").push(*p);
        })));
    let report = phone.client.sync_now().await.expect("sync");
    assert_eq!(report.pushed.accepted, 3);

    let steps = seen.lock().expect("lock").clone();
    let last = *steps.last().expect("some progress");
    assert_eq!(last.phase, SyncPhase::Finishing);
    assert_eq!((last.records_to_push, last.records_pushed), (3, 3));
    assert_eq!((last.photos_to_upload, last.photos_uploaded), (1, 1));
    assert_eq!(last.photo_bytes_uploaded, photo.size_bytes);
    assert_eq!(last.changes_pulled, report.pulled.buildings);
    let phases: Vec<SyncPhase> = steps.iter().map(|s| s.phase).fold(Vec::new(), |mut v, p| {
        if v.last() != Some(&p) {
            v.push(p);
        }
        v
    });
    assert_eq!(
        phases,
        [
            SyncPhase::Pushing,
            SyncPhase::UploadingPhotos,
            SyncPhase::Pulling,
            SyncPhase::Finishing
        ]
    );
    let fractions: Vec<f64> = steps.iter().map(SyncProgress::fraction).collect();
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");

    // Removed: the next sync reports nothing.
    phone.client.set_progress_observer(None);
    let n = steps.len();
    phone.client.sync_now().await.expect("sync again");
    assert_eq!(seen.lock().expect("lock").len(), n);
}
