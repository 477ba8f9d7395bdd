//! The bench entry points do what they claim (sizes and stored rows, not speed).

use crate::common;

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
    let sample = bench::bench_district(100).expect("district");
    let f = bench::import_time(&db, sample.buildings(), dir.path())
        .await
        .expect("bench");
    assert_eq!((f.buildings, f.summary.inserted), (100, 100));
    assert_eq!(db.count_buildings().await.expect("n"), 100);
    let stored = db
        .building(&sample.buildings()[99].code)
        .await
        .expect("get")
        .expect("imported");
    assert_eq!(stored.building.address, sample.buildings()[99].address);
    assert!(f.csv_bytes > 5_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bench_schemas_are_fresh_and_dropped() {
    // Reports the skip (or fails in CI) exactly as the conformance suite does.
    if common::pg_url("bench_support::postgres").await.is_none() {
        return;
    }
    let base = std::env::var(common::PG_ENV).expect("PostgreSQL URL");
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let (m_name, r_name) = (format!("gw_b_m_{suffix}"), format!("gw_b_r_{suffix}"));
    let m = bench::pg_bench_db(&base, &m_name)
        .await
        .expect("merge schema");
    let r = bench::pg_bench_db(&base, &r_name)
        .await
        .expect("raw schema");
    let f = bench::merge_vs_raw(&m, &r, 120, 50).await.expect("bench");
    assert_eq!((f.engine, f.rows, f.batch), ("postgres", 120, 50));
    let dev = DeviceId::parse("bench-merge").expect("d");
    assert_eq!(m.device_record_counts(&dev).await.expect("n"), (120, 0));
    // A second bench database of the same name starts empty.
    drop(m);
    let again = bench::pg_bench_db(&base, &m_name).await.expect("again");
    assert!(
        again.check_schema().await.is_err(),
        "a fresh schema is not migrated"
    );
    drop((again, r));
    for name in [&m_name, &r_name] {
        bench::drop_pg_schema(&base, name).await.expect("drop");
    }
    assert!(matches!(
        bench::pg_bench_db(&base, "x; DROP TABLE users").await,
        Err(bench::BenchError::BadSchema(_))
    ));
}
