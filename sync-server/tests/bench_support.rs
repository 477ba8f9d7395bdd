//! The bench entry points do what they claim (sizes and stored rows, not speed).

mod common;

use gridwalk_core::protocol::DeviceId;
use gridwalk_server::bench;
use gridwalk_server::db::Database;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_vs_raw_stores_the_same_rows_both_ways() {
    let (_d1, merge_db) = common::sqlite_db().await;
    let (_d2, raw_db) = common::sqlite_db().await;
    let f = bench::merge_vs_raw(&merge_db, &raw_db, 250, 100)
        .await
        .expect("bench");
    assert_eq!((f.engine, f.rows, f.batch), ("sqlite", 250, 100));
    assert!(f.ratio() > 0.0);
    let merge_dev = DeviceId::parse("bench-merge").expect("d");
    let raw_dev = DeviceId::parse("bench-raw").expect("d");
    assert_eq!(
        merge_db.device_record_counts(&merge_dev).await.expect("n"),
        (250, 0)
    );
    assert_eq!(
        raw_db.device_record_counts(&raw_dev).await.expect("n"),
        (250, 0)
    );
    assert_eq!(
        merge_db.device_last_seq(&merge_dev).await.expect("seq"),
        250
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_time_imports_every_building() {
    let (dir, db) = common::sqlite_db().await;
    let f = bench::import_time(&db, 100, dir.path())
        .await
        .expect("bench");
    assert_eq!((f.buildings, f.summary.inserted), (100, 100));
    assert_eq!(db.count_buildings().await.expect("n"), 100);
    assert!(f.csv_bytes > 5_000);
}
