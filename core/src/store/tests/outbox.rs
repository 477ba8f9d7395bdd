//! The outbox state machine the sync client drives.

use crate::domain::RecordId;
use crate::store::tests::fixtures::*;
use crate::store::{OutboxCounts, OutboxState, OutboxStateName, StoreError};

fn counts(f: &Fixture) -> (u64, u64, u64, u64) {
    let OutboxCounts {
        pending,
        in_flight,
        acked,
        rejected,
    } = f.archive.outbox_counts().expect("counts");
    (pending, in_flight, acked, rejected)
}

fn record_id_of(f: &Fixture, seq: i64) -> RecordId {
    f.archive
        .read(|c| {
            let id: String =
                c.query_row("SELECT record_id FROM outbox WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })?;
            Ok(RecordId(uuid::Uuid::parse_str(&id).expect("uuid")))
        })
        .expect("record id")
}

#[test]
fn store_outbox_moves_through_its_states() {
    let f = Fixture::new();
    let seqs: Vec<i64> = (0..5)
        .map(|n| f.archive.record_inspection(&inspection(n)).expect("record"))
        .collect();
    assert_eq!(counts(&f), (5, 0, 0, 0));

    let batch: Vec<i64> = f
        .archive
        .pending_outbox(3)
        .expect("pending")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(batch, seqs[..3]);
    f.archive.mark_in_flight(&batch).expect("in flight");
    assert_eq!(counts(&f), (2, 3, 0, 0));
    assert_eq!(
        f.archive
            .pending_outbox(10)
            .expect("pending")
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        seqs[3..]
    );

    f.archive.mark_acked(&[batch[0]]).expect("ack");
    f.archive
        .mark_acked(&[batch[0]])
        .expect("a second ack is harmless");
    f.archive
        .mark_rejected(batch[1], "policy.gps", "accuracy above server limit")
        .expect("reject");
    f.archive
        .return_to_pending(&[batch[2]])
        .expect("upload failed");
    assert_eq!(counts(&f), (3, 0, 1, 1));

    let rejected = f
        .archive
        .outbox_for_record(record_id_of(&f, batch[1]))
        .expect("entries");
    assert_eq!(
        rejected[0].state,
        OutboxState::Rejected {
            code: "policy.gps".into(),
            message: "accuracy above server limit".into()
        }
    );
    assert_eq!(rejected[0].attempts, 1);

    // A retried entry counts a second attempt.
    f.archive.mark_in_flight(&[batch[2]]).expect("retry");
    let retried = f
        .archive
        .outbox_for_record(record_id_of(&f, batch[2]))
        .expect("entries");
    assert_eq!(retried[0].attempts, 2);
    assert_eq!(retried[0].state, OutboxState::InFlight);

    // After a crash, everything in flight goes back to pending.
    f.archive.mark_in_flight(&seqs[3..]).expect("in flight");
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 3);
    assert_eq!(counts(&f), (3, 0, 1, 1));
}

#[test]
fn store_outbox_refuses_wrong_moves_all_or_nothing() {
    let f = Fixture::new();
    let a = f.archive.record_inspection(&inspection(1)).expect("record");
    let b = f.archive.record_inspection(&inspection(2)).expect("record");

    let err = f
        .archive
        .mark_acked(&[a])
        .expect_err("pending cannot be acked");
    assert!(
        matches!(err, StoreError::OutboxTransition { seq, from: OutboxStateName::Pending, to: OutboxStateName::Acked } if seq == a),
        "{err:?}"
    );
    let err = f
        .archive
        .mark_in_flight(&[a, 999])
        .expect_err("unknown seq");
    assert!(
        matches!(err, StoreError::UnknownOutboxEntry(999)),
        "{err:?}"
    );
    assert_eq!(counts(&f), (2, 0, 0, 0), "a was not moved either");

    f.archive.mark_in_flight(&[a]).expect("in flight");
    let err = f
        .archive
        .mark_in_flight(&[b, a])
        .expect_err("already in flight");
    assert!(
        matches!(
            err,
            StoreError::OutboxTransition {
                from: OutboxStateName::InFlight,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(counts(&f), (1, 1, 0, 0));
    assert_eq!(
        err.to_string(),
        format!("outbox entry {a} is in_flight, it cannot become in_flight")
    );

    f.archive.mark_acked(&[a]).expect("ack");
    assert!(matches!(
        f.archive.mark_rejected(a, "x", "y"),
        Err(StoreError::OutboxTransition {
            from: OutboxStateName::Acked,
            to: OutboxStateName::Rejected,
            ..
        })
    ));
    assert!(matches!(
        f.archive.return_to_pending(&[a]),
        Err(StoreError::OutboxTransition { .. })
    ));
    assert_eq!(counts(&f), (1, 0, 1, 0));
}

#[test]
fn store_outbox_sequence_numbers_are_never_reused() {
    let f = Fixture::new();
    let a = f.archive.record_inspection(&inspection(1)).expect("record");
    f.archive
        .write(|tx| Ok(tx.execute("DELETE FROM outbox", [])?))
        .expect("purge");
    let f = f.reopen();
    let b = f.archive.record_inspection(&inspection(2)).expect("record");
    assert!(b > a, "{b} > {a}");
}
