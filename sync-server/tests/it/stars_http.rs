//! The officer's lists and the rating history through the real server (each test on SQLite and on
//! PostgreSQL): JSON pages, CSV that parses as RFC 4180, GeoJSON that is an RFC 7946
//! FeatureCollection of [lon, lat] points, contacts only for roles that may read them, and the
//! background rater woken by a push.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::server::{ADMIN, OFFICER, SUPERVISOR, TestServer, W1, W2, expect_error};
use crate::stars::{day, failing_inspection, well_rated};
use gridwalk_core::protocol::SyncRecord;
use gridwalk_server::db::AnyDb;
use gridwalk_server::fixtures::{self, absent_code, code, street_id};
use gridwalk_server::rater;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

http_test!(
    lists_page_and_export_as_csv_and_geojson,
    contacts_only_for_roles_that_may_read_them,
    list_requests_are_checked,
    rating_history_and_pull_carry_the_explanation,
    a_push_wakes_the_background_rater,
);

/// Every building of the officer's community is overdue on this day.
const LATE: &str = "2025-12-31";

/// Walks a JSON list through its pages; returns the rows.
async fn walk(s: &TestServer, token: &str, path: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{path}&after={}", urlencode(a)),
            None => path.to_owned(),
        };
        let (status, body) = s.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        rows.extend(body["rows"].as_array().expect("rows").iter().cloned());
        match body["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => return rows,
        }
        assert!(rows.len() <= 144, "the walk ends");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// (status, content type, body text).
async fn raw(s: &TestServer, token: &str, path: &str) -> (StatusCode, String, String) {
    let resp = s
        .client
        .get(s.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.text().await.expect("body"))
}

fn codes(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["code"].as_str().expect("code").to_owned())
        .collect()
}

async fn lists_page_and_export_as_csv_and_geojson(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let officer = s.login(OFFICER, "desk-1").await;
    let community: BTreeSet<String> = (1..=36).map(|n| code(n).to_string()).collect();

    let path = format!("/v1/lists/overdue?on={LATE}&limit=7");
    let rows = walk(&s, &officer, &path).await;
    let listed = codes(&rows);
    assert!(
        listed.len() > 20,
        "most of the community is overdue by then"
    );
    assert!(
        listed.iter().all(|c| community.contains(c)),
        "only the officer's scope"
    );
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>().len(),
        listed.len(),
        "no repeats"
    );
    assert!(
        rows.iter().all(|r| r.get("contacts").is_none()),
        "no personal data"
    );
    // Riskiest first: stars ascending, unrated first.
    let stars: Vec<u64> = rows
        .iter()
        .map(|r| r["stars"].as_u64().unwrap_or(0))
        .collect();
    assert!(stars.windows(2).all(|w| w[0] <= w[1]), "{stars:?}");

    let (status, ct, text) = raw(
        &s,
        &officer,
        &format!("/v1/lists/overdue?on={LATE}&format=csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(text.contains("\r\n"), "RFC 4180 line breaks");
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = csv
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..4], ["code", "address", "lon", "lat"]);
    assert!(!header.contains(&"owner_phone".to_owned()));
    let records: Vec<csv::StringRecord> = csv
        .records()
        .map(|r| r.expect("an RFC 4180 record"))
        .collect();
    assert_eq!(
        records.iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(),
        listed
    );
    for r in &records {
        let b = fixtures::Sample::small()
            .buildings()
            .iter()
            .find(|b| b.code.as_str() == &r[0])
            .expect("a sample building");
        assert_eq!(&r[1], b.address);
        let lon: f64 = r[2].parse().expect("lon");
        let lat: f64 = r[3].parse().expect("lat");
        assert_eq!((lon, lat), (b.location.lon, b.location.lat));
    }

    let (status, ct, text) = raw(
        &s,
        &officer,
        &format!("/v1/lists/overdue?on={LATE}&format=geojson"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(ct, "application/geo+json");
    let geo: Value = serde_json::from_str(&text).expect("GeoJSON is JSON");
    assert_eq!(geo["type"], "FeatureCollection");
    assert!(geo.get("crs").is_none(), "RFC 7946 has no crs member");
    let features = geo["features"].as_array().expect("features");
    assert_eq!(features.len(), listed.len());
    for (f, c) in features.iter().zip(&listed) {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["id"], c.as_str());
        assert_eq!(f["properties"]["code"], c.as_str());
        assert_eq!(f["geometry"]["type"], "Point");
        let xy = f["geometry"]["coordinates"]
            .as_array()
            .expect("coordinates");
        assert_eq!(xy.len(), 2);
        let (lon, lat) = (xy[0].as_f64().expect("lon"), xy[1].as_f64().expect("lat"));
        assert!((113.0..=115.0).contains(&lon), "longitude first: {lon}");
        assert!((22.0..=23.0).contains(&lat), "latitude second: {lat}");
    }

    // Low-star and green channel: the same query with the policy's thresholds.
    let admin = s.login(ADMIN, "desk-2").await;
    let low = walk(&s, &admin, "/v1/lists/low-star?limit=50").await;
    assert!(!low.is_empty());
    assert!(
        low.iter()
            .all(|r| (1..=2).contains(&r["stars"].as_u64().unwrap_or(0)))
    );
    let green = walk(&s, &admin, "/v1/lists/green-channel?limit=50").await;
    assert!(!green.is_empty());
    assert!(green.iter().all(|r| r["stars"].as_u64() >= Some(4)
        && r["open_hazards"] == 0
        && r["green_channel"] == true));
    let push = walk(&s, &admin, "/v1/lists/push-to-regulators?limit=50").await;
    assert_eq!(
        codes(&push),
        codes(&low),
        "both lists are ≤ 2★ under the shipped policy"
    );
    let street2 = walk(
        &s,
        &admin,
        &format!("/v1/lists/overdue?on={LATE}&street={}", street_id(2)),
    )
    .await;
    assert!(!street2.is_empty());
    assert!(street2.iter().all(|r| r["street"] == street_id(2).as_str()));
    let (status, body) = s
        .get(
            "/v1/lists/low-star?on=2025-07-01&max_stars=1&limit=1000",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["list"], "low-star");
    assert_eq!(body["on"], "2025-07-01");
    assert!(
        body["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["stars"] == 1)
    );
}

async fn contacts_only_for_roles_that_may_read_them(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let officer = s.login(OFFICER, "desk-1").await;
    let path = format!("/v1/lists/overdue?on={LATE}&contacts=true&limit=100");
    let rows = walk(&s, &officer, &path).await;
    assert!(!rows.is_empty());
    for r in &rows {
        let b = fixtures::Sample::small()
            .buildings()
            .iter()
            .find(|b| b.code.as_str() == r["code"])
            .expect("a sample building");
        assert_eq!(r["contacts"]["owner"]["phone"], b.owner.phone.as_str());
    }
    let (status, _, text) = raw(
        &s,
        &officer,
        &format!("/v1/lists/overdue?on={LATE}&contacts=true&format=csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let header = csv.headers().expect("header").clone();
    let phone = header
        .iter()
        .position(|h| h == "owner_phone")
        .expect("owner_phone column");
    let first = csv.records().next().expect("a row").expect("a record");
    assert_eq!(
        Some(&first[phone]),
        rows[0]["contacts"]["owner"]["phone"].as_str()
    );

    let supervisor = s.login(SUPERVISOR, "desk-3").await;
    expect_error(
        &s.get(&path, &supervisor).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, _) = s
        .get(&format!("/v1/lists/overdue?on={LATE}"), &supervisor)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "supervisors read lists without contacts"
    );
    let worker = s.login(W1, "phone-1").await;
    expect_error(
        &s.get("/v1/lists/low-star", &worker).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

async fn list_requests_are_checked(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let officer = s.login(OFFICER, "desk-1").await;
    let msg = expect_error(
        &s.get("/v1/lists/bad-credit", &officer).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert!(msg.contains("low-star"), "{msg}");
    for bad in [
        "/v1/lists/low-star?max_stars=9",
        "/v1/lists/low-star?limit=0",
        "/v1/lists/low-star?limit=5000",
        "/v1/lists/low-star?format=csv&limit=5",
        "/v1/lists/low-star?format=xml",
        "/v1/lists/low-star?stars=2",
        "/v1/lists/overdue?on=yesterday",
    ] {
        expect_error(
            &s.get(bad, &officer).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    let (status, _) = s.get("/v1/lists/low-star", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn rating_history_and_pull_carry_the_explanation(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let b = well_rated(1).remove(0);
    let d = day(2025, 7, 3);
    let ins = failing_inspection(&b.code, d);
    let (status, body) = s
        .push(
            &w1,
            "phone-1",
            fixtures::batch(1, vec![SyncRecord::Inspection(ins)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/v1/buildings/{}/rating-history", b.code);
    let (status, body) = s.get(&path, &w1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entries"], Value::Array(vec![]), "not rated yet");

    let r = rater::drain(s.db(), s.handle.state.rules(), d, 50)
        .await
        .expect("drain");
    assert_eq!((r.rated, r.changed, r.history), (1, 1, 1));
    let (status, body) = s.get(&path, &w1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["building"], b.code.as_str());
    let entries = body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1);
    let rating = &entries[0]["rating"];
    assert_eq!(rating["stars"], 1);
    assert_eq!(
        rating["previous_stars"],
        b.stars.map(|s| s.get()).expect("rated")
    );
    let rules: Vec<&str> = rating["rules_fired"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule id"))
        .collect();
    assert!(
        rules.contains(&"change.downgrade") && rules.contains(&"score.stars"),
        "{rules:?}"
    );

    let (status, page) = s.get("/v1/sync/pull?limit=100", &w1).await;
    assert_eq!(status, StatusCode::OK);
    let change = page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["type"] == "building" && c["building"]["code"] == b.code.as_str())
        .expect("the building");
    assert_eq!(change["building"]["stars"], 1);
    assert_eq!(change["building"]["next_due_on"], "2025-07-10");
    assert_eq!(change["rating"], entries[0]);

    let w2 = s.login(W2, "phone-2").await;
    expect_error(
        &s.get(&path, &w2).await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    let admin = s.login(ADMIN, "desk-1").await;
    expect_error(
        &s.get(
            &format!("/v1/buildings/{}/rating-history", absent_code(1)),
            &admin,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_error(
        &s.get("/v1/buildings/123/rating-history", &admin).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

async fn a_push_wakes_the_background_rater(db: AnyDb, dir: TempDir) {
    // An hour between scheduled drains: only the push's bell can explain a rating within seconds.
    let s = TestServer::start(db, dir, |c| {
        c.stars.background = true;
        c.stars.rater_interval_secs = 3600;
        c.stars.sweep_interval_secs = 3600;
    })
    .await;
    let w1 = s.login(W1, "phone-1").await;
    let b = well_rated(1).remove(0);
    let path = format!("/v1/buildings/{}/rating-history", b.code);
    // The scheduled first drain at start has found nothing to do.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ins = failing_inspection(&b.code, day(2025, 7, 3));
    let (status, _) = s
        .push(
            &w1,
            "phone-1",
            fixtures::batch(1, vec![SyncRecord::Inspection(ins)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let start = Instant::now();
    loop {
        let (_, body) = s.get(&path, &w1).await;
        if let Some(e) = body["entries"].as_array().and_then(|e| e.first()) {
            assert_eq!(e["rating"]["stars"], 1);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the rater never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, building) = s.get(&format!("/v1/buildings/{}", b.code), &w1).await;
    assert_eq!(building["stars"], 1);
}
