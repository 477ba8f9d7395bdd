//! The store's half of sync, without a server: login state, push numbering and answers, atomic pull
//! pages, scope removal that keeps unsynced records, reviews and photo states.

use chrono::Duration;

use crate::domain::{GridId, RecordId, WorkerId};
use crate::protocol::{
    Change, Cursor, LoginResponse, PullResponse, RecordOutcome, RejectCode, ReviewDecision,
    ReviewOutcome, Role, Scope, TombstoneReason, UserInfo,
};
use crate::store::tests::fixtures::*;
use crate::store::{EDIT_NOT_ACCEPTED, StoreError, SyncCounts};

fn login(user: &str, device_last_seq: u64) -> LoginResponse {
    LoginResponse {
        token: format!("token-of-{user}"),
        expires_at: t(NOW) + Duration::hours(12),
        user: UserInfo {
            username: user.into(),
            role: Role::Worker,
            scope: Scope::Grid(GridId::from("G1")),
        },
        device_last_seq,
    }
}

fn page(changes: Vec<Change>, cursor: &str) -> PullResponse {
    PullResponse {
        changes,
        next_cursor: Cursor(cursor.into()),
        has_more: false,
        reset: false,
        catalog_version: 3,
        policy_version: 2,
        missing_photos: vec![],
    }
}

fn held_building(f: &Fixture, n: u32) {
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    f.archive
        .upsert_buildings(&[building(n, &grids[0])])
        .expect("building");
}

#[test]
fn store_sync_login_is_kept_and_an_expired_token_asks_for_a_new_login() {
    let f = Fixture::new();
    let s = f.archive.sync_state().expect("state");
    assert!(s.session.is_none() && !s.login_required && s.pull_cursor.is_none());
    assert_eq!(s.last_push_seq, 0);

    f.archive
        .save_login("http://srv", &login("worker-01", 7))
        .expect("login");
    f.archive
        .apply_pull_page(&page(vec![], "c1.5.x"))
        .expect("page");
    let f = f.reopen();
    let s = f.archive.sync_state().expect("state");
    let session = s.session.expect("logged in");
    assert_eq!(session.token, "token-of-worker-01");
    assert_eq!(session.scope, Scope::Grid(GridId::from("G1")));
    assert!(
        !format!("{session:?}").contains("token-of"),
        "Debug hides the token"
    );
    assert_eq!(s.last_push_seq, 7, "numbering continues after the server's");
    assert_eq!(s.pull_cursor, Some(Cursor("c1.5.x".into())));
    assert_eq!(
        (s.server_catalog_version, s.server_policy_version),
        (Some(3), Some(2))
    );

    f.archive.record_inspection(&inspection(1)).expect("record");
    f.archive
        .require_login("token_expired: log in again")
        .expect("require login");
    let s = f.archive.sync_state().expect("state");
    assert!(s.session.is_none() && s.login_required);
    assert_eq!(s.username.as_deref(), Some("worker-01"));
    assert_eq!(s.last_error.as_deref(), Some("token_expired: log in again"));
    assert_eq!(s.pull_cursor, Some(Cursor("c1.5.x".into())), "cursor kept");
    assert_eq!(f.archive.outbox_counts().expect("counts").pending, 1);

    // Logging in again as the same worker keeps the cursor; a lower server number never lowers
    // the phone's.
    f.archive
        .save_login("http://srv", &login("worker-01", 3))
        .expect("login again");
    let s = f.archive.sync_state().expect("state");
    assert!(s.session.is_some() && !s.login_required);
    assert_eq!(s.last_push_seq, 8, "the record queued after the server's 7");
    assert_eq!(s.pull_cursor, Some(Cursor("c1.5.x".into())));

    // Another worker may not take over while worker-01's record is unsynced.
    let err = f
        .archive
        .save_login("http://srv", &login("worker-02", 0))
        .expect_err("other worker");
    assert!(
        matches!(&err, StoreError::UnsyncedRecordsOfAnotherWorker { worker } if worker == "worker-01"),
        "{err:?}"
    );
    assert_eq!(
        f.archive
            .sync_state()
            .expect("state")
            .session
            .expect("still")
            .username,
        "worker-01"
    );

    // Another server: pull from the beginning.
    f.archive
        .save_login("http://other", &login("worker-01", 0))
        .expect("login elsewhere");
    assert_eq!(f.archive.sync_state().expect("state").pull_cursor, None);
}

#[test]
fn store_sync_push_numbers_are_given_once_and_kept_for_resends() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    let ids: Vec<RecordId> = (0..5)
        .map(|n| {
            let i = inspection(n);
            f.archive.record_inspection(&i).expect("record");
            i.id
        })
        .collect();

    let first = f.archive.claim_push_batch(3).expect("claim");
    assert_eq!(
        first.iter().map(|i| i.push_seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        first.iter().map(|i| i.record_id).collect::<Vec<_>>(),
        ids[..3]
    );
    assert!(first.iter().all(|i| !i.later_version));
    assert_eq!(f.archive.outbox_counts().expect("counts").in_flight, 3);

    // The app is killed: the batch goes back to pending and keeps its numbers.
    let f = f.reopen();
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 3);
    let again = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(
        again.iter().map(|i| i.push_seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(again.iter().map(|i| i.record_id).collect::<Vec<_>>(), ids);
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(a.payload_json, b.payload_json);
    }
    assert_eq!(f.archive.sync_state().expect("state").last_push_seq, 5);
    let applied = f
        .archive
        .apply_push_results(&again, &answer(&again, accepted))
        .expect("apply");
    assert_eq!((applied.accepted, applied.duplicate), (5, 0));
    let c = f.archive.outbox_counts().expect("counts");
    assert_eq!((c.pending, c.in_flight, c.acked), (0, 0, 5));
    assert!(f.archive.claim_push_batch(10).expect("claim").is_empty());
    assert_eq!(
        f.capture_counts(),
        [5, 0, 0, 0, 5],
        "synced records stay: their buildings never left the phone"
    );
}

#[test]
fn store_sync_an_edit_after_a_cut_short_push_keeps_the_sent_version() {
    let f = Fixture::new();
    let mut i = inspection(1);
    f.archive.record_inspection(&i).expect("record");
    let batch = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(batch.len(), 1);
    // Killed before the answer: the server may hold number 1.
    let f = f.reopen();
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 1);
    i.note = "edited after the cut".into();
    f.archive.update_inspection(&i).expect("edit");
    let entries = f.archive.outbox_for_record(i.id).expect("entries");
    assert_eq!(
        entries.iter().map(|e| e.push_seq).collect::<Vec<_>>(),
        [Some(1), Some(2)],
        "the sent version is not replaced: it goes again, then the edit"
    );
    let again = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(
        again
            .iter()
            .map(|i| (i.push_seq, i.later_version))
            .collect::<Vec<_>>(),
        [(1, false), (2, true)]
    );
}

#[test]
fn store_sync_records_queued_before_login_are_numbered_after_the_servers() {
    let f = Fixture::new();
    for n in 0..2 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    // The server already holds numbers up to 5 for this device (its archive was restored from an
    // older copy): the two records waiting take 6 and 7.
    f.archive
        .save_login("http://srv", &login("worker-01", 5))
        .expect("login");
    assert_eq!(f.archive.sync_state().expect("state").last_push_seq, 7);
    let batch = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(batch.iter().map(|i| i.push_seq).collect::<Vec<_>>(), [6, 7]);
    f.archive.record_inspection(&inspection(3)).expect("record");
    assert_eq!(f.archive.sync_state().expect("state").last_push_seq, 8);
    // A later login with the same or a lower number moves nothing.
    f.archive
        .save_login("http://srv", &login("worker-01", 7))
        .expect("login");
    assert_eq!(
        f.archive.pending_outbox(10).expect("pending")[0].push_seq,
        Some(8)
    );
}

#[test]
fn store_sync_a_login_with_numbers_past_the_phone_s_range_changes_nothing() {
    let f = Fixture::new();
    for n in 0..2 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    // A broken server: the waiting records cannot be numbered after u64::MAX (not a number in the
    // archive), nor after i64::MAX (it is, but the records' numbers after it are not).
    for server_last in [u64::MAX, i64::MAX.unsigned_abs()] {
        let err = f
            .archive
            .save_login("http://srv", &login("worker-01", server_last))
            .expect_err("refused");
        assert!(
            matches!(err, StoreError::PushNumbersExhausted { server_last: s } if s == server_last),
            "{err:?}"
        );
    }
    let s = f.archive.sync_state().expect("state");
    assert!(s.session.is_none());
    assert_eq!(s.last_push_seq, 2);
    assert_eq!(
        f.archive
            .pending_outbox(10)
            .expect("pending")
            .iter()
            .map(|e| e.push_seq)
            .collect::<Vec<_>>(),
        [Some(1), Some(2)],
        "nothing half-renumbered"
    );
}

#[test]
fn store_sync_an_edit_before_sending_replaces_the_unsent_version() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    let mut i = inspection(1);
    f.archive.record_inspection(&i).expect("record");
    i.note = "edited offline".into();
    f.archive.update_inspection(&i).expect("edit");
    let other = inspection(2);
    f.archive.record_inspection(&other).expect("record");

    let batch = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(batch.len(), 2, "the replaced version is not sent");
    assert_eq!(batch[0].record_id, i.id);
    assert_eq!(
        batch[0].push_seq, 1,
        "no number is wasted on the replaced version"
    );
    assert!(batch[0].payload_json.contains("edited offline"));
    assert_eq!(batch[1].push_seq, 2);
    let entries = f.archive.outbox_for_record(i.id).expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].state, crate::store::OutboxState::Acked);

    // An edit made while the first version is in flight goes out next time, as a later version.
    i.note = "edited during upload".into();
    f.archive.update_inspection(&i).expect("edit in flight");
    f.archive
        .apply_push_results(&batch, &answer(&batch, accepted))
        .expect("apply");
    let next = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].push_seq, 3);
    assert!(next[0].later_version);
    assert!(next[0].payload_json.contains("edited during upload"));
    // This server keeps the first version and answers "duplicate": the phone says so rather than
    // counting the edit as delivered.
    let applied = f
        .archive
        .apply_push_results(&next, &answer(&next, |_| RecordOutcome::Duplicate))
        .expect("apply");
    assert_eq!((applied.rejected, applied.duplicate), (1, 0));
    let rejected = f.archive.rejected_records().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record_id, i.id);
    assert_eq!(rejected[0].code, EDIT_NOT_ACCEPTED);
    assert_eq!(
        f.archive
            .inspection(i.id)
            .expect("read")
            .expect("kept")
            .note,
        "edited during upload",
        "the edit stays on the phone"
    );
}

#[test]
fn store_sync_rejections_are_recorded_per_record_and_do_not_block_the_rest() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    for n in 0..4 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    let batch = f.archive.claim_push_batch(10).expect("claim");
    let bad = batch[1].record_id;
    let mut response = answer(&batch[..3], |i| {
        if i.record_id == bad {
            RecordOutcome::Rejected {
                code: RejectCode::OutOfScope,
                message: "building 440306 is not in your scope".into(),
            }
        } else if i.push_seq == 1 {
            RecordOutcome::Duplicate
        } else {
            RecordOutcome::Accepted { conflict: false }
        }
    });
    response.device_last_seq = 3;
    let applied = f
        .archive
        .apply_push_results(&batch, &response)
        .expect("apply");
    assert_eq!(
        (
            applied.accepted,
            applied.duplicate,
            applied.rejected,
            applied.unanswered
        ),
        (1, 1, 1, 1)
    );
    let rejected = f.archive.rejected_records().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record_id, bad);
    assert_eq!(rejected[0].code, "out_of_scope");
    assert_eq!(rejected[0].message, "building 440306 is not in your scope");
    assert_eq!(rejected[0].building, Some(code(1)));
    assert_eq!(
        f.archive.sync_counts().expect("counts"),
        SyncCounts {
            pending_records: 1,
            in_flight_records: 0,
            rejected_records: 1,
            pending_photos: 0,
        }
    );
    // The unanswered one goes again under its number.
    let next = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].push_seq, 4);
}

#[test]
fn store_sync_an_answer_for_other_records_changes_nothing() {
    let f = Fixture::new();
    for n in 0..2 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    let batch = f.archive.claim_push_batch(10).expect("claim");
    let mut response = answer(&batch, accepted);
    response.results[1].id = RecordId::new();
    let err = f
        .archive
        .apply_push_results(&batch, &response)
        .expect_err("mismatch");
    assert!(
        matches!(err, StoreError::PushAnswerMismatch { push_seq: 2 }),
        "{err:?}"
    );
    let c = f.archive.outbox_counts().expect("counts");
    assert_eq!(
        (c.in_flight, c.acked),
        (2, 0),
        "the first result was not kept either"
    );
}

#[test]
fn store_sync_an_answer_and_the_next_claim_commit_together_or_not_at_all() {
    let f = Fixture::new();
    for n in 0..5 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    let first = f.archive.claim_push_batch(2).expect("claim");
    // A wrong answer: neither the answer nor the next claim stays.
    let mut wrong = answer(&first, accepted);
    wrong.results[0].id = RecordId::new();
    let err = f
        .archive
        .apply_push_results_and_claim(&first, &wrong, 2)
        .expect_err("mismatch");
    assert!(
        matches!(err, StoreError::PushAnswerMismatch { push_seq: 1 }),
        "{err:?}"
    );
    let c = f.archive.outbox_counts().expect("counts");
    assert_eq!((c.pending, c.in_flight, c.acked), (3, 2, 0));
    assert_eq!(
        f.archive.sync_state().expect("state").last_push_seq,
        5,
        "numbered when queued"
    );

    let (applied, next) = f
        .archive
        .apply_push_results_and_claim(&first, &answer(&first, accepted), 2)
        .expect("apply and claim");
    assert_eq!((applied.accepted, applied.duplicate), (2, 0));
    assert_eq!(next.iter().map(|i| i.push_seq).collect::<Vec<_>>(), [3, 4]);
    let c = f.archive.outbox_counts().expect("counts");
    assert_eq!((c.pending, c.in_flight, c.acked), (1, 2, 2));
    // Killed now: the claimed batch goes out again under its numbers, the acked ones never.
    let f = f.reopen();
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 2);
    let again = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(
        again.iter().map(|i| i.push_seq).collect::<Vec<_>>(),
        [3, 4, 5]
    );
}

#[test]
fn store_sync_a_pull_page_applies_whole_with_its_cursor_or_not_at_all() {
    let f = Fixture::new();
    let grids = district_grids();
    // No grid is held: the page's buildings bring minimal grid rows.
    let buildings: Vec<_> = (0..20)
        .map(|n| building(n, &grids[n as usize % 2]))
        .collect();
    let changes: Vec<Change> = buildings
        .iter()
        .map(|b| Change::Building {
            building: Box::new(b.clone()),
            rating: None,
        })
        .collect();
    let applied = f
        .archive
        .apply_pull_page(&page(changes, "c1.20.a"))
        .expect("page");
    assert_eq!((applied.buildings, applied.removed), (20, 0));
    assert_eq!(f.archive.building_count().expect("count"), 20);
    assert_eq!(
        f.archive.building(&code(7)).expect("read"),
        Some(buildings[7].clone())
    );
    let g = f
        .archive
        .grid(&GridId::from("G2"))
        .expect("read")
        .expect("grid");
    assert!(g.boundary.is_empty());
    assert_eq!(g.community, grids[1].community);

    // A page that fails part-way (a real SQLite abort on its 3rd building) leaves nothing of it,
    // and the cursor where it was.
    f.archive
        .write(|tx| {
            tx.execute_batch(&format!(
                "CREATE TEMP TRIGGER fail_midway BEFORE UPDATE ON buildings \
                 WHEN new.code = '{}' BEGIN SELECT RAISE(ABORT, 'disk gone'); END;",
                code(2).as_str()
            ))?;
            Ok(())
        })
        .expect("trigger");
    let mut changed = buildings.clone();
    for b in &mut changed {
        b.floors = 9;
    }
    let mut changes: Vec<Change> = vec![Change::Tombstone {
        code: code(19),
        reason: TombstoneReason::Reassigned,
    }];
    changes.extend(changed.iter().map(|b| Change::Building {
        building: Box::new(b.clone()),
        rating: None,
    }));
    let failing = page(changes.clone(), "c1.40.a");
    assert!(f.archive.apply_pull_page(&failing).is_err());
    // A pull page commits without waiting for the disk; the writes after it, failed or not, wait.
    assert_eq!(writer_synchronous(&f), FULL, "after a failed pull page");
    assert_eq!(f.archive.building_count().expect("count"), 20);
    assert_eq!(
        f.archive
            .building(&code(0))
            .expect("read")
            .expect("b")
            .floors,
        7
    );
    assert_eq!(
        f.archive.sync_state().expect("state").pull_cursor,
        Some(Cursor("c1.20.a".into()))
    );

    f.archive
        .write(|tx| Ok(tx.execute_batch("DROP TRIGGER temp.fail_midway")?))
        .expect("drop trigger");
    let applied = f.archive.apply_pull_page(&failing).expect("retry");
    assert_eq!(writer_synchronous(&f), FULL, "after a pull page");
    assert_eq!((applied.buildings, applied.removed), (20, 1));
    // The tombstone came first, then the building again (it re-entered the scope).
    assert_eq!(f.archive.building_count().expect("count"), 20);
    assert_eq!(
        f.archive
            .building(&code(0))
            .expect("read")
            .expect("b")
            .floors,
        9
    );
    // Applying the same page twice (a crash before the app saw the commit) changes nothing.
    let again = f.archive.apply_pull_page(&failing).expect("again");
    assert_eq!(again.buildings, 20);
    assert_eq!(f.archive.building_count().expect("count"), 20);
    assert_eq!(
        f.archive.sync_state().expect("state").pull_cursor,
        Some(Cursor("c1.40.a".into()))
    );
}

#[test]
fn store_sync_scope_removal_keeps_records_until_the_server_has_them_with_photos() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    held_building(&f, 1);
    held_building(&f, 2);
    let photo = f.archive.add_photo(&png(640, 480, b"p")).expect("photo");
    let mut with_photo = inspection(1);
    with_photo.photos = vec![photo.clone()];
    let plain = hazard(1);
    let elsewhere = inspection(2);
    f.archive.record_inspection(&with_photo).expect("record");
    f.archive.record_event(&plain).expect("record");
    f.archive.record_inspection(&elsewhere).expect("record");
    assert_eq!(f.archive.sync_counts().expect("c").pending_photos, 1);

    // Building 1 leaves the scope before anything is synced.
    let tomb = page(
        vec![Change::Tombstone {
            code: code(1),
            reason: TombstoneReason::Reassigned,
        }],
        "c1.2.a",
    );
    let applied = f.archive.apply_pull_page(&tomb).expect("tombstone");
    assert_eq!((applied.removed, applied.pruned_records), (1, 0));
    assert_eq!(f.archive.building(&code(1)).expect("read"), None);
    assert_eq!(f.capture_counts(), [2, 1, 1, 0, 3], "every record kept");

    // Pushed and acknowledged; the server lacks the photo.
    let batch = f.archive.claim_push_batch(10).expect("claim");
    let mut response = answer(&batch, accepted);
    response.missing_photos = vec![photo.sha256.clone()];
    let applied = f
        .archive
        .apply_push_results(&batch, &response)
        .expect("apply");
    assert_eq!(
        applied.pruned_records, 1,
        "the photo-less event about building 1 goes"
    );
    assert_eq!(f.archive.event(plain.id).expect("read"), None);
    assert!(f.archive.inspection(with_photo.id).expect("read").is_some());
    assert!(
        f.archive.inspection(elsewhere.id).expect("read").is_some(),
        "building 2 is still held"
    );
    assert_eq!(
        f.archive.photos_to_upload().expect("uploads"),
        vec![photo.clone()]
    );
    assert_eq!(f.archive.sync_counts().expect("c").pending_photos, 1);

    // The photo arrives; the next pull's list no longer names it, so the record can go too.
    f.archive.mark_photo_stored(&photo.sha256).expect("stored");
    assert!(f.archive.photos_to_upload().expect("uploads").is_empty());
    let applied = f
        .archive
        .apply_pull_page(&page(
            vec![Change::Tombstone {
                code: code(1),
                reason: TombstoneReason::Removed,
            }],
            "c1.3.a",
        ))
        .expect("pull");
    assert_eq!(applied.pruned_records, 1);
    assert_eq!(f.archive.inspection(with_photo.id).expect("read"), None);
    assert_eq!(f.capture_counts(), [1, 0, 0, 0, 1]);
    assert!(f.archive.photo(&photo.sha256).expect("read").is_none());
    assert!(!f.archive.photo_path(&photo.sha256).exists());
    assert_eq!(f.archive.sync_counts().expect("c"), SyncCounts::default());
}

#[test]
fn store_sync_an_acknowledged_record_s_photos_are_known_to_be_on_the_server() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    held_building(&f, 1);
    let of_inspection = f.archive.add_photo(&png(640, 480, b"i")).expect("photo");
    let of_event = f.archive.add_photo(&png(640, 480, b"e")).expect("photo");
    let mut i = inspection(1);
    i.photos = vec![of_inspection.clone()];
    let mut e = hazard(1);
    e.photos = vec![of_event.clone()];
    f.archive.record_inspection(&i).expect("record");
    f.archive.record_event(&e).expect("record");
    f.archive
        .apply_pull_page(&page(
            vec![Change::Tombstone {
                code: code(1),
                reason: TombstoneReason::Reassigned,
            }],
            "c1.2.a",
        ))
        .expect("tombstone");
    assert_eq!(f.archive.sync_counts().expect("c").pending_photos, 2);

    // The server names no photo as missing: it holds both (uploaded before, or by the record's
    // first push), so the records about the departed building go with their photos at once.
    let batch = f.archive.claim_push_batch(10).expect("claim");
    let applied = f
        .archive
        .apply_push_results(&batch, &answer(&batch, accepted))
        .expect("apply");
    assert_eq!(applied.pruned_records, 2);
    for photo in [&of_inspection, &of_event] {
        assert!(f.archive.photo(&photo.sha256).expect("read").is_none());
        assert!(!f.archive.photo_path(&photo.sha256).exists());
    }
    assert_eq!(f.archive.sync_counts().expect("c"), SyncCounts::default());
}

#[test]
fn store_sync_a_reset_page_drops_every_building_but_no_unsynced_record() {
    let f = Fixture::new();
    held_building(&f, 1);
    held_building(&f, 2);
    let i = inspection(1);
    f.archive.record_inspection(&i).expect("record");
    let grids = district_grids();
    let mut reset = page(
        vec![Change::Building {
            building: Box::new(building(30, &grids[3])),
            rating: None,
        }],
        "c1.1.b",
    );
    reset.reset = true;
    let applied = f.archive.apply_pull_page(&reset).expect("reset");
    assert!(applied.reset);
    assert_eq!((applied.removed, applied.buildings), (2, 1));
    assert_eq!(f.archive.building_count().expect("count"), 1);
    assert!(f.archive.building(&code(30)).expect("read").is_some());
    assert_eq!(f.archive.inspection(i.id).expect("read"), Some(i));
}

#[test]
fn store_sync_a_sent_back_report_shows_its_comment_until_corrected() {
    let f = Fixture::new();
    let original = inspection(1);
    f.archive.record_inspection(&original).expect("record");
    let review = |record: RecordId, decision, comment: &str| Change::Review {
        outcome: ReviewOutcome {
            record,
            decision,
            comment: comment.into(),
            reviewer: WorkerId::from("sup-01"),
            reviewed_at: t("2025-03-01T01:50:00Z"),
        },
    };
    let applied = f
        .archive
        .apply_pull_page(&page(
            vec![review(
                original.id,
                ReviewDecision::SentBack,
                "照片不清楚, photo unreadable",
            )],
            "c1.9.a",
        ))
        .expect("pull");
    assert_eq!(applied.reviews, 1);
    let open = f.archive.sent_back_uncorrected().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].record_id, original.id);
    assert_eq!(open[0].comment, "照片不清楚, photo unreadable");
    assert_eq!(open[0].building, Some(code(1)));
    assert_eq!(open[0].kind, Some(crate::store::RecordKind::Inspection));

    let mut correction = inspection(1);
    correction.corrects = Some(original.id);
    f.archive
        .record_inspection(&correction)
        .expect("correction");
    assert!(f.archive.sent_back_uncorrected().expect("open").is_empty());
    let r = f
        .archive
        .review_of(original.id)
        .expect("read")
        .expect("review");
    assert_eq!(r.corrected_by, Some(correction.id));
    assert_eq!(r.decision, ReviewDecision::SentBack);

    // The correction approved later: both reviews are listed.
    f.archive
        .apply_pull_page(&page(
            vec![review(correction.id, ReviewDecision::Approved, "ok")],
            "c1.10.a",
        ))
        .expect("pull");
    assert_eq!(f.archive.reviews().expect("reviews").len(), 2);
}

#[test]
fn store_sync_a_building_with_the_servers_rating_keeps_its_explanation_once() {
    let f = Fixture::new();
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    let mut b = building(3, &grids[0]);
    b.blacklisted = true;
    let catalog = crate::Catalog::default_catalog().expect("catalog");
    let policy = crate::Policy::default_policy().expect("policy");
    let rating =
        crate::rating::rate_building(&b, &[], &[], None, &catalog, &policy, day("2025-03-01"));
    b.stars = rating.stars;
    let entry = crate::protocol::RatingEntry {
        rated_at: t("2025-03-01T01:00:00Z"),
        rating: rating.clone(),
    };
    let change = Change::Building {
        building: Box::new(b.clone()),
        rating: Some(Box::new(entry)),
    };
    // The same building comes twice (a later change resends its latest rating): one history row.
    for cursor in ["c1.1.a", "c1.2.a"] {
        f.archive
            .apply_pull_page(&page(vec![change.clone()], cursor))
            .expect("pull");
    }
    let history = f
        .archive
        .rating_history::<crate::rating::Rating>(&b.code)
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].rated_at, t("2025-03-01T01:00:00Z"));
    assert_eq!(history[0].stars, rating.stars);
    assert_eq!(history[0].explanation, rating);
    assert!(
        history[0]
            .explanation
            .fired(&crate::rating::RuleId::CapBlacklist)
    );
}

#[test]
fn store_sync_a_photo_failure_is_kept_while_the_photo_is_missing_and_cleared_when_it_arrives() {
    let f = Fixture::new();
    f.archive
        .save_login("http://srv", &login("worker-01", 0))
        .expect("login");
    held_building(&f, 1);
    let photo = f.archive.add_photo(&png(640, 480, b"p")).expect("photo");
    let mut with_photo = inspection(1);
    with_photo.photos = vec![photo.clone()];
    f.archive.record_inspection(&with_photo).expect("record");

    // Not asked for by the server yet: nothing to record a failure on.
    f.archive
        .note_photo_failure(&photo.sha256, "early")
        .expect("note");
    assert!(f.archive.photo_failures().expect("failures").is_empty());

    let batch = f.archive.claim_push_batch(10).expect("claim");
    let mut response = answer(&batch, accepted);
    response.missing_photos = vec![photo.sha256.clone()];
    f.archive
        .apply_push_results(&batch, &response)
        .expect("apply");
    f.archive
        .note_photo_failure(&photo.sha256, "the file is damaged")
        .expect("note");
    let failures = f.archive.photo_failures().expect("failures");
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (&failures[0].sha256, failures[0].reason.as_str()),
        (&photo.sha256, "the file is damaged")
    );
    // The next attempt's reason replaces the last one; the photo stays to upload.
    f.archive
        .note_photo_failure(&photo.sha256, "refused")
        .expect("note");
    let failures = f.archive.photo_failures().expect("failures");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reason, "refused");
    assert_eq!(
        f.archive.photos_to_upload().expect("uploads"),
        vec![photo.clone()]
    );

    f.archive.mark_photo_stored(&photo.sha256).expect("stored");
    assert!(f.archive.photo_failures().expect("failures").is_empty());
    assert!(f.archive.photos_to_upload().expect("uploads").is_empty());
}

/// SQLite's `synchronous = FULL`: a commit waits for the disk.
const FULL: i64 = 2;

/// The writer connection's `synchronous` setting, as the next write sees it.
fn writer_synchronous(f: &Fixture) -> i64 {
    f.archive
        .write(|tx| Ok(tx.pragma_query_value(None, "synchronous", |r| r.get(0))?))
        .expect("synchronous")
}
