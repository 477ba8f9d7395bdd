//! Capture: every record is validated, written with its photo links and queued for sync in one
//! transaction, and a refused record leaves nothing behind.

use chrono::Duration;

use crate::domain::{
    EventKind, EventStatus, ItemId, PhotoRef, RecordId, Sha256Hex, ValidationError, WorkerId,
};
use crate::store::tests::fixtures::*;
use crate::store::{FieldRecord, OutboxState, RecordKind, StoreError};

#[test]
fn store_record_queues_the_record_in_the_same_transaction() {
    let f = Fixture::new();
    let i = inspection(1);
    let e = hazard(1);
    let s1 = f.archive.record_inspection(&i).expect("inspection");
    let s2 = f.archive.record_event(&e).expect("event");
    assert!(s2 > s1, "sequence numbers increase");

    assert_eq!(f.capture_counts(), [1, 1, 0, 0, 2]);
    let pending = f.archive.pending_outbox(10).expect("pending");
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].seq, s1);
    assert_eq!(pending[0].record_id, i.id);
    assert_eq!(pending[0].kind, RecordKind::Inspection);
    assert_eq!(pending[0].state, OutboxState::Pending);
    assert_eq!(pending[0].queued_at, t(NOW));
    assert_eq!(
        pending[0].record().expect("decodes"),
        FieldRecord::Inspection(i.clone())
    );
    assert_eq!(pending[1].seq, s2);
    assert_eq!(pending[1].kind, RecordKind::Event);
    assert_eq!(
        pending[1].record().expect("decodes"),
        FieldRecord::Event(e.clone())
    );

    assert_eq!(f.archive.inspection(i.id).expect("read"), Some(i.clone()));
    assert_eq!(f.archive.event(e.id).expect("read"), Some(e.clone()));
    assert_eq!(
        f.archive.inspections_for_building(&code(1)).expect("read"),
        vec![i]
    );
    assert_eq!(
        f.archive.events_for_building(&code(1)).expect("read"),
        vec![e]
    );
}

#[test]
fn store_batch_is_one_transaction_in_input_order() {
    let f = Fixture::new();
    let records: Vec<FieldRecord> = (0..50)
        .map(|n| {
            if n % 5 == 0 {
                FieldRecord::Event(micro_event(n))
            } else {
                FieldRecord::Inspection(inspection(n))
            }
        })
        .collect();
    let seqs = f.archive.record_batch(&records).expect("batch");
    assert_eq!(seqs.len(), 50);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(f.capture_counts(), [40, 10, 0, 0, 50]);
    let pending = f.archive.pending_outbox(100).expect("pending");
    let ids: Vec<RecordId> = pending.iter().map(|p| p.record_id).collect();
    let expected: Vec<RecordId> = records.iter().map(FieldRecord::id).collect();
    assert_eq!(ids, expected);
}

#[test]
fn store_batch_with_one_bad_record_writes_nothing() {
    let f = Fixture::new();
    f.archive
        .record_inspection(&inspection(99))
        .expect("earlier record");
    let mut bad = inspection(3);
    bad.fix.accuracy_m = 500.0;
    let records = vec![
        FieldRecord::Inspection(inspection(1)),
        FieldRecord::Event(hazard(2)),
        FieldRecord::Inspection(bad),
        FieldRecord::Inspection(inspection(4)),
    ];
    let err = f.archive.record_batch(&records).expect_err("bad record");
    assert!(
        matches!(
            err,
            StoreError::Validation(ValidationError::GpsTooInaccurate { .. })
        ),
        "{err:?}"
    );
    assert_eq!(f.capture_counts(), [1, 0, 0, 0, 1]);

    // A failure found while writing (a duplicate id in the batch) rolls back the same way.
    let dup = inspection(5);
    let err = f
        .archive
        .record_batch(&[
            FieldRecord::Inspection(dup.clone()),
            FieldRecord::Event(hazard(6)),
            FieldRecord::Inspection(dup.clone()),
        ])
        .expect_err("duplicate");
    assert!(
        matches!(err, StoreError::DuplicateRecord(id) if id == dup.id),
        "{err:?}"
    );
    assert_eq!(f.capture_counts(), [1, 0, 0, 0, 1]);
}

/// Each bad input gets its own typed error and leaves the archive untouched.
#[test]
fn store_refuses_bad_inspections_with_nothing_written() {
    let f = Fixture::new();
    let now = t(NOW);
    type Case = (&'static str, Box<dyn Fn(&mut crate::domain::Inspection)>);
    let cases: Vec<Case> = vec![
        ("latitude", Box::new(|i| i.fix.point.lat = 95.0)),
        ("longitude", Box::new(|i| i.fix.point.lon = f64::NAN)),
        ("accuracy", Box::new(|i| i.fix.accuracy_m = 100.5)),
        ("negative accuracy", Box::new(|i| i.fix.accuracy_m = -1.0)),
        (
            "fix future",
            Box::new(move |i| i.fix.taken_at = now + Duration::minutes(11)),
        ),
        (
            "start future",
            Box::new(move |i| {
                i.started_at = now + Duration::hours(2);
                i.finished_at = now + Duration::hours(3);
            }),
        ),
        (
            "finished before",
            Box::new(|i| i.finished_at = i.started_at - Duration::seconds(1)),
        ),
        (
            "unknown item",
            Box::new(|i| i.results[0].item = ItemId::from("no_such_item")),
        ),
        (
            "duplicate item",
            Box::new(|i| {
                let r = i.results[0].clone();
                i.results.push(r);
            }),
        ),
        ("note", Box::new(|i| i.note = "长".repeat(2001))),
        ("finding", Box::new(|i| i.findings = vec!["x".repeat(501)])),
        ("worker", Box::new(|i| i.worker = WorkerId("w".repeat(65)))),
    ];
    for (name, mutate) in &cases {
        let mut i = inspection(1);
        mutate(&mut i);
        let err = f.archive.record_inspection(&i).expect_err(name);
        let StoreError::Validation(v) = &err else {
            panic!("{name}: expected a validation error, got {err:?}");
        };
        let expected = match *name {
            "latitude" => matches!(v, ValidationError::LatitudeOutOfRange(_)),
            "longitude" => matches!(v, ValidationError::LongitudeOutOfRange(_)),
            "accuracy" => matches!(v, ValidationError::GpsTooInaccurate { .. }),
            "negative accuracy" => matches!(v, ValidationError::InvalidAccuracy(_)),
            "fix future" => matches!(
                v,
                ValidationError::TimeInFuture {
                    what: "gps fix",
                    ..
                }
            ),
            "start future" => {
                matches!(
                    v,
                    ValidationError::TimeInFuture {
                        what: "inspection start",
                        ..
                    }
                )
            }
            "finished before" => matches!(v, ValidationError::FinishedBeforeStarted),
            "unknown item" => matches!(v, ValidationError::UnknownChecklistItem(_)),
            "duplicate item" => matches!(v, ValidationError::DuplicateChecklistItem(_)),
            "note" => matches!(
                v,
                ValidationError::TextTooLong {
                    field: "note",
                    max: 2000
                }
            ),
            "finding" => matches!(
                v,
                ValidationError::TextTooLong {
                    field: "finding",
                    ..
                }
            ),
            "worker" => matches!(
                v,
                ValidationError::TextTooLong {
                    field: "worker",
                    ..
                }
            ),
            _ => false,
        };
        assert!(expected, "{name}: wrong error {v:?}");
        assert_eq!(
            f.capture_counts(),
            [0, 0, 0, 0, 0],
            "{name}: nothing written"
        );
    }
    // Exactly at the limits is fine: 2,000 Chinese characters, 100 m, 10 minutes of clock skew.
    let mut edge = inspection(1);
    edge.note = "长".repeat(2000);
    edge.fix.accuracy_m = 100.0;
    edge.fix.taken_at = now + Duration::minutes(10);
    f.archive.record_inspection(&edge).expect("at the limits");
}

#[test]
fn store_refuses_bad_events_with_nothing_written() {
    let f = Fixture::new();
    let mut unknown_kind = micro_event(1);
    unknown_kind.kind = EventKind::MicroEvent {
        kind: ItemId::from("me_no_such_kind"),
    };
    let mut unknown_category = hazard(1);
    unknown_category.category = ItemId::from("no_such_category");
    let mut no_notice = micro_event(1);
    no_notice.notice = None;
    let mut future = hazard(1);
    future.reported_at = t(NOW) + Duration::days(1);
    let mut long = hazard(1);
    long.description = "d".repeat(2001);
    let mut deadline = hazard(1);
    if let Some(n) = deadline.notice.as_mut() {
        n.deadline = day("2025-02-01");
    }
    let cases = [
        (unknown_kind, "micro-event kind"),
        (unknown_category, "category"),
        (no_notice, "notice"),
        (future, "future"),
        (long, "description"),
        (deadline, "deadline"),
    ];
    for (e, name) in cases {
        let err = f.archive.record_event(&e).expect_err(name);
        let ok = match (name, &err) {
            (
                "micro-event kind",
                StoreError::Validation(ValidationError::UnknownMicroEventKind(k)),
            ) => k == "me_no_such_kind",
            ("category", StoreError::Validation(ValidationError::UnknownEventCategory(_))) => true,
            ("notice", StoreError::Validation(ValidationError::MicroEventWithoutNotice)) => true,
            ("future", StoreError::Validation(ValidationError::TimeInFuture { what, .. })) => {
                *what == "event report"
            }
            ("description", StoreError::Validation(ValidationError::TextTooLong { field, .. })) => {
                *field == "description"
            }
            ("deadline", StoreError::Validation(ValidationError::DeadlineBeforeReport { .. })) => {
                true
            }
            _ => false,
        };
        assert!(ok, "{name}: wrong error {err:?}");
        assert_eq!(
            f.capture_counts(),
            [0, 0, 0, 0, 0],
            "{name}: nothing written"
        );
    }
}

#[test]
fn store_records_link_photos_and_refuse_missing_or_mismatched_ones() {
    let f = Fixture::new();
    let p1 = f.archive.add_photo(&png(640, 480, b"one")).expect("photo");
    let p2 = f.archive.add_photo(&png(480, 640, b"two")).expect("photo");
    let mut i = inspection(1);
    i.photos = vec![p1.clone(), p2.clone()];
    let mut e = hazard(1);
    e.photos = vec![p2.clone()];
    f.archive.record_inspection(&i).expect("with photos");
    f.archive.record_event(&e).expect("with photo");
    assert_eq!(f.capture_counts(), [1, 1, 2, 1, 2]);
    assert_eq!(
        f.archive
            .inspection(i.id)
            .expect("read")
            .expect("there")
            .photos,
        vec![p1.clone(), p2.clone()]
    );

    let ghost = PhotoRef {
        sha256: Sha256Hex::of_bytes(b"never added"),
        size_bytes: 10,
        width: 1,
        height: 1,
    };
    let mut missing = inspection(2);
    missing.photos = vec![p1.clone(), ghost.clone()];
    let err = f
        .archive
        .record_inspection(&missing)
        .expect_err("missing photo");
    assert!(
        matches!(&err, StoreError::MissingPhoto(h) if *h == ghost.sha256),
        "{err:?}"
    );

    let mut lying = hazard(2);
    lying.photos = vec![PhotoRef {
        width: 4000,
        ..p1.clone()
    }];
    let err = f.archive.record_event(&lying).expect_err("mismatch");
    assert!(
        matches!(&err, StoreError::PhotoMismatch(h) if *h == p1.sha256),
        "{err:?}"
    );

    let err = f
        .archive
        .record_batch(&[
            FieldRecord::Inspection(inspection(3)),
            FieldRecord::Inspection(missing),
        ])
        .expect_err("missing in batch");
    assert!(matches!(err, StoreError::MissingPhoto(_)), "{err:?}");
    assert_eq!(f.capture_counts(), [1, 1, 2, 1, 2], "nothing more written");
}

#[test]
fn store_edit_during_in_flight_upload_appends_a_new_outbox_entry() {
    let f = Fixture::new();
    let mut i = inspection(1);
    let first = f.archive.record_inspection(&i).expect("record");
    let batch = f.archive.claim_push_batch(10).expect("uploading");

    i.note = "corrected after the upload started".into();
    f.clock.advance(Duration::minutes(5));
    let second = f.archive.update_inspection(&i).expect("edit");
    assert!(second > first);

    let entries = f.archive.outbox_for_record(i.id).expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0].seq, &entries[0].state),
        (first, &OutboxState::InFlight)
    );
    assert_eq!(
        (entries[1].seq, &entries[1].state),
        (second, &OutboxState::Pending)
    );
    let old: crate::domain::Inspection =
        serde_json::from_str(&entries[0].payload_json).expect("json");
    assert_eq!(old.note, inspection_note_default());
    assert_eq!(
        entries[1].record().expect("decodes"),
        FieldRecord::Inspection(i.clone())
    );

    assert_eq!(
        (entries[0].push_seq, entries[1].push_seq),
        (Some(1), Some(2)),
        "the version that may be on the server keeps its number"
    );

    // The old upload's ack does not touch the edit.
    f.archive
        .apply_push_results(&batch, &answer(&batch, accepted))
        .expect("ack old");
    let pending = f.archive.pending_outbox(10).expect("pending");
    assert_eq!(
        pending.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![second]
    );
    assert_eq!(f.archive.inspection(i.id).expect("read"), Some(i));
    let c = f.archive.outbox_counts().expect("counts");
    assert_eq!((c.pending, c.in_flight, c.acked, c.rejected), (1, 0, 1, 0));
}

fn inspection_note_default() -> String {
    inspection(0).note
}

#[test]
fn store_event_edits_follow_the_lifecycle_and_keep_photos_in_step() {
    let f = Fixture::new();
    let p = f
        .archive
        .add_photo(&png(100, 100, b"rectified"))
        .expect("photo");
    let mut e = hazard(1);
    f.archive.record_event(&e).expect("record");

    e.status = EventStatus::Noticed;
    e.photos = vec![p];
    f.archive.update_event(&e).expect("reported → noticed");
    assert_eq!(f.capture_counts(), [0, 1, 0, 1, 2]);

    let mut back = e.clone();
    back.status = EventStatus::Reported;
    let err = f
        .archive
        .update_event(&back)
        .expect_err("noticed → reported");
    assert!(matches!(err, StoreError::Transition(_)), "{err:?}");

    e.status = EventStatus::Rectified;
    e.photos.clear();
    f.archive.update_event(&e).expect("noticed → rectified");
    assert_eq!(f.capture_counts(), [0, 1, 0, 0, 3]);
    assert_eq!(f.archive.event(e.id).expect("read"), Some(e.clone()));

    let stranger = hazard(2);
    assert!(matches!(
        f.archive.update_event(&stranger),
        Err(StoreError::UnknownRecord(id)) if id == stranger.id
    ));
    assert!(matches!(
        f.archive.update_inspection(&inspection(2)),
        Err(StoreError::UnknownRecord(_))
    ));
    assert!(matches!(
        f.archive.record_event(&e),
        Err(StoreError::DuplicateRecord(id)) if id == e.id
    ));
    assert_eq!(f.capture_counts(), [0, 1, 0, 0, 3]);
}

#[test]
fn store_open_events_for_grid_lists_unfinished_events_by_deadline() {
    let f = Fixture::new();
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    f.archive
        .upsert_buildings(&[
            building(1, &grids[0]),
            building(2, &grids[0]),
            building(3, &grids[1]),
        ])
        .expect("buildings");
    let mut late = hazard(1);
    if let Some(n) = late.notice.as_mut() {
        n.deadline = day("2025-03-20");
    }
    let mut soon = hazard(2);
    if let Some(n) = soon.notice.as_mut() {
        n.deadline = day("2025-03-05");
    }
    let mut no_deadline = hazard(1);
    no_deadline.notice = None;
    let mut closed = hazard(2);
    closed.status = EventStatus::Closed;
    let other_grid = hazard(3);
    for e in [&late, &soon, &no_deadline, &closed, &other_grid] {
        f.archive.record_event(e).expect("record");
    }
    let open = f.archive.open_events_for_grid(&grids[0].id).expect("open");
    let ids: Vec<RecordId> = open.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![soon.id, late.id, no_deadline.id]);
    assert_eq!(
        f.archive
            .open_events_for_grid(&grids[1].id)
            .expect("open")
            .len(),
        1
    );
}

#[test]
fn store_inspections_for_building_newest_first() {
    let f = Fixture::new();
    let older = inspection(1);
    let mut newer = inspection(1);
    newer.started_at += Duration::minutes(20);
    newer.finished_at += Duration::minutes(20);
    f.archive.record_inspection(&newer).expect("record");
    f.archive.record_inspection(&older).expect("record");
    f.archive
        .record_inspection(&inspection(2))
        .expect("other building");
    let got = f.archive.inspections_for_building(&code(1)).expect("read");
    assert_eq!(got, vec![newer, older]);
}
