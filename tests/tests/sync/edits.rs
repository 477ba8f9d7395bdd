//! Records edited on the phone: before they were ever sent (the newest version goes, once), and
//! while an earlier version was already on its way (the server keeps the first version it got; the
//! phone says so instead of counting the edit as delivered).

use gridwalk_core::store::{EDIT_NOT_ACCEPTED, OutboxState};
use gridwalk_core::sync::FailPoint;
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_an_offline_edit_sends_only_the_newest_version() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let mut rec = phone
        .record_inspections(W1, &w1_codes(), 1, |_| vec![])
        .expect("record")
        .remove(0);
    rec.note = "second look: extinguisher expired".into();
    phone.archive.update_inspection(&rec).expect("edit");
    rec.note = "third look: replaced on the spot".into();
    phone.archive.update_inspection(&rec).expect("edit");

    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(
        (r.pushed.accepted, r.pushed.duplicate, r.pushed.rejected),
        (1, 0, 0)
    );
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (1, 0)
    );
    let entries = phone.archive.outbox_for_record(rec.id).expect("entries");
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.state == OutboxState::Acked));
    assert!(entries[2].payload_json.contains("replaced on the spot"));
    assert_eq!(phone.archive.sync_state().expect("state").last_push_seq, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_an_edit_made_while_the_first_version_was_in_flight_is_flagged_not_lost() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let mut rec = phone
        .record_inspections(W1, &w1_codes(), 1, |_| vec![])
        .expect("record")
        .remove(0);
    // The first version is committed by the server; the app dies before the answer lands.
    phone.client.fail_at(FailPoint::AfterPushAnswered, 1);
    phone.client.sync_now().await.expect_err("killed");
    // The worker edits the record before the next sync.
    let phone = phone.restart().expect("restart");
    rec.note = "edited after sending".into();
    phone.archive.update_inspection(&rec).expect("edit");

    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!((r.pushed.duplicate, r.pushed.rejected), (1, 1));
    assert_eq!(
        server.device_counts(&phone.device()).await.expect("counts"),
        (1, 0),
        "the server kept the first version"
    );
    let rejected = phone.archive.rejected_records().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record_id, rec.id);
    assert_eq!(rejected[0].code, EDIT_NOT_ACCEPTED);
    assert_eq!(
        phone
            .archive
            .inspection(rec.id)
            .expect("read")
            .expect("kept")
            .note,
        "edited after sending"
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
}
