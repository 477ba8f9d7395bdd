//! The outbox states as the sync client drives them: claims and answers move watermarks, outcomes
//! of their own are written on the entry.

use crate::domain::RecordId;
use crate::protocol::{RecordOutcome, RejectCode};
use crate::store::tests::fixtures::*;
use crate::store::{OutboxCounts, OutboxState, PushItem};

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

fn numbers(items: &[PushItem]) -> Vec<u64> {
    items.iter().map(|i| i.push_seq).collect()
}

#[test]
fn store_outbox_moves_through_its_states() {
    let f = Fixture::new();
    let seqs: Vec<i64> = (0..5)
        .map(|n| f.archive.record_inspection(&inspection(n)).expect("record"))
        .collect();
    assert_eq!(counts(&f), (5, 0, 0, 0));
    let queued = f.archive.pending_outbox(10).expect("pending");
    assert_eq!(
        queued.iter().map(|e| e.push_seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5].map(Some),
        "numbered when queued"
    );

    let batch = f.archive.claim_push_batch(3).expect("claim");
    assert_eq!(
        batch.iter().map(|i| i.outbox_seq).collect::<Vec<_>>(),
        seqs[..3]
    );
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

    // Accepted, refused, and one the answer leaves out.
    let mut response = answer(&batch, |i| {
        if i.push_seq == 2 {
            RecordOutcome::Rejected {
                code: RejectCode::BadGpsAccuracy,
                message: "accuracy above server limit".into(),
            }
        } else {
            RecordOutcome::Accepted { conflict: false }
        }
    });
    response.results.retain(|r| r.seq != 3);
    f.archive
        .apply_push_results(&batch, &response)
        .expect("apply");
    assert_eq!(counts(&f), (3, 0, 1, 1));
    f.archive
        .apply_push_results(&batch, &response)
        .expect("a second answer is harmless");
    assert_eq!(counts(&f), (3, 0, 1, 1));
    let states = |seq: i64| {
        f.archive
            .outbox_for_record(record_id_of(&f, seq))
            .expect("entries")
            .remove(0)
            .state
    };
    assert_eq!(states(seqs[0]), OutboxState::Acked);
    assert_eq!(
        states(seqs[1]),
        OutboxState::Rejected {
            code: "bad_gps_accuracy".into(),
            message: "accuracy above server limit".into()
        }
    );
    assert_eq!(states(seqs[2]), OutboxState::Pending);

    // The unanswered entry goes again under its number, first.
    let again = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(numbers(&again), [3, 4, 5]);
    assert_eq!(states(seqs[2]), OutboxState::InFlight);

    // After a crash, everything in flight goes back to pending.
    let f = f.reopen();
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 3);
    assert_eq!(counts(&f), (3, 0, 1, 1));
    assert_eq!(f.archive.requeue_in_flight().expect("requeue"), 0);
}

#[test]
fn store_outbox_an_entry_left_unanswered_holds_back_only_itself() {
    let f = Fixture::new();
    for n in 0..6 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    // Two batches out at once, as a push does while the first is with the server.
    let first = f.archive.claim_push_batch(3).expect("claim");
    let second = f.archive.claim_push_batch(3).expect("claim");
    assert_eq!(
        (numbers(&first), numbers(&second)),
        (vec![1, 2, 3], vec![4, 5, 6])
    );
    assert_eq!(counts(&f), (0, 6, 0, 0));

    let mut response = answer(&first, accepted);
    response.results.retain(|r| r.seq != 2);
    let applied = f
        .archive
        .apply_push_results(&first, &response)
        .expect("apply");
    assert_eq!((applied.accepted, applied.unanswered), (2, 1));
    assert_eq!(
        counts(&f),
        (0, 4, 2, 0),
        "no claim is undone while a batch is out"
    );

    f.archive
        .apply_push_results(&second, &answer(&second, accepted))
        .expect("apply");
    assert_eq!(counts(&f), (1, 0, 5, 0), "later answers are kept");
    let again = f.archive.claim_push_batch(10).expect("claim");
    assert_eq!(numbers(&again), [2]);
    f.archive
        .apply_push_results(&again, &answer(&again, accepted))
        .expect("apply");
    assert_eq!(counts(&f), (0, 0, 6, 0));
    assert!(f.archive.claim_push_batch(10).expect("claim").is_empty());
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
