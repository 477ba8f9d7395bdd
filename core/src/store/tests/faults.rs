//! A full disk and an interrupt: typed errors, nothing half-written, the archive still works after.

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use crate::store::tests::fixtures::*;
use crate::store::{FieldRecord, StoreError};

fn set_max_pages(f: &Fixture, pages: i64) -> i64 {
    f.archive
        .write(|tx| {
            Ok(
                tx.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?,
            )
        })
        .expect("max_page_count")
}

#[test]
fn store_disk_full_mid_batch_writes_nothing_and_recovers() {
    let f = Fixture::new();
    f.archive.record_inspection(&inspection(0)).expect("before");
    let pages: i64 = f
        .archive
        .read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?))
        .expect("page count");
    // Room for a few pages, not for 300 inspections with long notes.
    set_max_pages(&f, pages + 4);
    let records: Vec<FieldRecord> = (1..=300)
        .map(|n| {
            let mut i = inspection(n);
            i.note = "记".repeat(1500);
            FieldRecord::Inspection(i)
        })
        .collect();
    let err = f.archive.record_batch(&records).expect_err("disk full");
    assert!(matches!(err, StoreError::DiskFull), "{err:?}");
    assert_eq!(
        f.capture_counts(),
        [1, 0, 0, 0, 1],
        "nothing of the batch stayed"
    );

    // Still readable and writable for what fits…
    assert_eq!(f.archive.pending_outbox(10).expect("read").len(), 1);
    f.archive
        .record_inspection(&inspection(400))
        .expect("a small record still fits");
    // …and everything once space is back.
    set_max_pages(&f, 1_000_000);
    f.archive.record_batch(&records).expect("space again");
    assert_eq!(f.capture_counts(), [302, 0, 0, 0, 302]);
}

/// Calls `interrupt` until `worker` finishes: an interrupt with nothing running is a no-op, so this
/// does not depend on timing.
fn interrupt_until_done<T>(
    handle: crate::store::InterruptHandle,
    worker: thread::JoinHandle<T>,
) -> T {
    while !worker.is_finished() {
        handle.interrupt();
        thread::sleep(Duration::from_millis(20));
    }
    worker.join().expect("worker thread")
}

#[test]
fn store_interrupt_stops_a_long_write_and_rolls_it_back() {
    let f = Fixture::new();
    let archive = Arc::new(f.archive);
    let (started_tx, started) = mpsc::channel();
    let a = Arc::clone(&archive);
    let worker = thread::spawn(move || {
        a.write(|tx| {
            tx.execute(
                "INSERT INTO rating_history (building_code, rated_at, stars, explanation_json) \
                 VALUES ('4403060010010010000000001', 'x', NULL, '{}')",
                [],
            )?;
            started_tx.send(()).expect("signal");
            // Hundreds of millions of rows: minutes of work unless interrupted.
            tx.execute(
                "INSERT INTO rating_history (building_code, rated_at, stars, explanation_json) \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500000000) \
                 SELECT printf('%025d', i), 'x', NULL, '{}' FROM n",
                [],
            )?;
            Ok(())
        })
    });
    started.recv().expect("worker started");
    let res = interrupt_until_done(archive.interrupt_handle(), worker);
    assert!(matches!(res, Err(StoreError::Interrupted)), "{res:?}");
    let rows: i64 = archive
        .read(|c| Ok(c.query_row("SELECT count(*) FROM rating_history", [], |r| r.get(0))?))
        .expect("count");
    assert_eq!(
        rows, 0,
        "the rows written before the interrupt were rolled back too"
    );
    archive
        .record_inspection(&inspection(1))
        .expect("writes work after");
}

#[test]
fn store_interrupt_stops_a_long_read() {
    let f = Fixture::new();
    let archive = Arc::new(f.archive);
    let (started_tx, started) = mpsc::channel();
    let a = Arc::clone(&archive);
    let worker = thread::spawn(move || {
        a.read(|c| {
            started_tx.send(()).expect("signal");
            Ok(c.query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000000) \
                 SELECT count(*) FROM n",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
    });
    started.recv().expect("worker started");
    let res = interrupt_until_done(archive.interrupt_handle(), worker);
    assert!(matches!(res, Err(StoreError::Interrupted)), "{res:?}");
    assert_eq!(archive.building_count().expect("reads work after"), 0);
}
