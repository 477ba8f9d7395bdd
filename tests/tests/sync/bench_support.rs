//! The sync bench entry points do what they claim (counts and byte accounting, not speed).

use gridwalk_tests::sync_bench::{lean_inspection, pull_into_empty_phone, push_from_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bench_pull_fills_an_empty_phone() {
    let f = pull_into_empty_phone(1_200, None).await.expect("pull");
    assert_eq!(f.records, 1_200);
    assert!(
        f.record_json_bytes > 200.0 && f.record_json_bytes < 800.0,
        "{f:?}"
    );
    // Push (nothing) and one page: the pull page is 5,000.
    assert_eq!(f.requests, 1);
    // The client does not see the chunked framing of the compressed body (a size line per
    // chunk of a few kB): allow 200 B and 0.5 %.
    assert!(
        f.client_received <= f.wire_down
            && f.wire_down < f.client_received + 200 + f.client_received / 200,
        "{f:?}"
    );
    // Compressed: well under the JSON size.
    assert!(
        (f.wire_down as f64) < 1_200.0 * f.record_json_bytes / 3.0,
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bench_push_stores_every_record_once() {
    let f = push_from_phone(2_100).await.expect("push");
    assert_eq!(f.records, 2_100);
    // Three push batches of at most 1,000, then one pull.
    assert_eq!(f.requests, 4);
    assert!(f.client_sent <= f.wire_up && f.wire_up < f.client_sent + 400);
    let one = serde_json::to_vec(&lean_inspection(&gridwalk_server::fixtures::code(1), "w"))
        .expect("json")
        .len();
    assert!(
        (300..450).contains(&one),
        "a lean inspection is ~400 B: {one}"
    );
}
