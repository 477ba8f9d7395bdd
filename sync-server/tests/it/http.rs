//! HTTP-level tests: the real server on 127.0.0.1:0 over a real engine (each test runs on SQLite
//! and on PostgreSQL), driven by a real HTTP client and, where a misbehaving client is needed,
//! raw TCP.

use std::io::Write;
use std::time::Duration;

use crate::common::server::{
    ADMIN, OFFICER, SUPERVISOR, TestServer, W1, W2, expect_error, statuses,
};
use gridwalk_core::protocol::{DeviceId, NEXT_PAGE_HEADER, PushRecord, SyncRecord};
use gridwalk_server::db::{AnyDb, Database};
use gridwalk_server::fixtures::{self, absent_code, code, grid_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

http_test!(
    login_expiry_and_revocation,
    tokens_expire,
    push_is_idempotent_across_retries_and_lost_acknowledgements,
    one_rejected_record_does_not_block_the_rest,
    scope_denials_leak_nothing,
    pull_pages_bootstrap_and_tombstones,
    photo_upload_resumes_and_deduplicates,
    concurrent_corrections_are_recorded_as_conflicts,
    bad_input_gets_json_errors_and_commits_nothing,
    compression_both_ways,
    graceful_shutdown_finishes_in_flight_pushes,
);

fn inspection(building: u64, worker: &str) -> SyncRecord {
    SyncRecord::Inspection(fixtures::inspection(&code(building), worker, Vec::new()))
}

async fn counts(s: &TestServer, device: &str) -> (u64, u64) {
    s.db()
        .device_record_counts(&DeviceId::parse(device).expect("device"))
        .await
        .expect("counts")
}

async fn login_expiry_and_revocation(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let token = s.login(W1, "phone-1").await;
    let me = s.get("/v1/auth/me", &token).await;
    assert_eq!(me.0, StatusCode::OK);
    assert_eq!(
        me.1,
        json!({"username": W1, "role": "worker", "scope": {"level": "grid", "id": grid_id(1, 1, 1).as_str()}})
    );

    // Wrong password and unknown user: the same answer.
    let wrong = s
        .send(
            s.client
                .post(s.url("/v1/auth/login"))
                .json(&json!({"username": W1, "password": "nope-nope", "device_id": "p"})),
        )
        .await;
    let unknown = s
        .send(
            s.client
                .post(s.url("/v1/auth/login"))
                .json(&json!({"username": "ghost", "password": "nope-nope", "device_id": "p"})),
        )
        .await;
    expect_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong, unknown);

    // No token, a made-up token.
    let resp = s
        .client
        .get(s.url("/v1/auth/me"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    expect_error(
        &s.get("/v1/auth/me", "gwt_0000").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // Logout revokes only this token.
    let other = s.login(W1, "phone-2").await;
    let out = s
        .send(s.client.post(s.url("/v1/auth/logout")).bearer_auth(&token))
        .await;
    assert_eq!(out.0, StatusCode::NO_CONTENT);
    expect_error(
        &s.get("/v1/auth/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    assert_eq!(s.get("/v1/auth/me", &other).await.0, StatusCode::OK);

    // Only an admin revokes someone's tokens; then all of them stop working.
    let third = s.login(W1, "phone-3").await;
    let by_worker = s
        .send(
            s.client
                .post(s.url(&format!("/v1/admin/users/{W1}/revoke-tokens")))
                .bearer_auth(&other),
        )
        .await;
    expect_error(&by_worker, StatusCode::FORBIDDEN, "forbidden");
    let admin = s.login(ADMIN, "desk-1").await;
    let revoked = s
        .send(
            s.client
                .post(s.url(&format!("/v1/admin/users/{W1}/revoke-tokens")))
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(
        revoked,
        (StatusCode::OK, json!({"username": W1, "revoked": 2}))
    );
    for t in [&other, &third] {
        expect_error(
            &s.get("/v1/auth/me", t).await,
            StatusCode::UNAUTHORIZED,
            "token_revoked",
        );
    }
}

async fn tokens_expire(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |c| c.token_ttl_secs = 1).await;
    let token = s.login(W1, "phone-1").await;
    assert_eq!(s.get("/v1/auth/me", &token).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let expired = s.get("/v1/auth/me", &token).await;
    let msg = expect_error(&expired, StatusCode::UNAUTHORIZED, "token_expired");
    assert!(msg.contains("log in again"), "{msg}");
    let push = s
        .push(
            &token,
            "phone-1",
            fixtures::batch(1, vec![inspection(1, W1)]),
        )
        .await;
    expect_error(&push, StatusCode::UNAUTHORIZED, "token_expired");
    assert_eq!(counts(&s, "phone-1").await, (0, 0));
    // Logging in again works.
    let fresh = s.login(W1, "phone-1").await;
    assert_eq!(s.get("/v1/auth/me", &fresh).await.0, StatusCode::OK);
}

async fn push_is_idempotent_across_retries_and_lost_acknowledgements(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let token = s.login(W1, "phone-1").await;
    let records: Vec<SyncRecord> = (1..=5).map(|b| inspection(b, W1)).collect();

    let batch = fixtures::batch(1, records[..2].to_vec());
    let first = s.push(&token, "phone-1", batch.clone()).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(statuses(&first.1), ["accepted", "accepted"]);
    let again = s.push(&token, "phone-1", batch).await;
    assert_eq!(statuses(&again.1), ["duplicate", "duplicate"]);
    assert_eq!(again.1["device_last_seq"], 2);
    assert_eq!(counts(&s, "phone-1").await, (2, 0));

    // A real lost acknowledgement: the request reaches the server, the client hangs up before
    // reading the answer.
    let body = serde_json::to_vec(&json!({
        "device_id": "phone-1",
        "records": fixtures::batch(3, records[2..4].to_vec()),
    }))
    .expect("json");
    let mut tcp = tokio::net::TcpStream::connect(s.handle.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(&body).await.expect("write");
    let mut waited = 0;
    while counts(&s, "phone-1").await.0 < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
        assert!(waited < 2000, "the push was never committed");
    }
    // Committed; the answer is on its way and is lost with the connection.
    drop(tcp);
    // The phone never saw the answer, so it resends 3..4 with the new record 5.
    let resend = s
        .push(&token, "phone-1", fixtures::batch(3, records[2..].to_vec()))
        .await;
    assert_eq!(statuses(&resend.1), ["duplicate", "duplicate", "accepted"]);
    assert_eq!(resend.1["device_last_seq"], 5);
    assert_eq!(counts(&s, "phone-1").await, (5, 0));

    // A reinstalled app learns where its numbering stands from the login answer.
    let login = s
        .send(s.client.post(s.url("/v1/auth/login")).json(
            &json!({"username": W1, "password": crate::common::server::PASSWORD, "device_id": "phone-1"}),
        ))
        .await;
    assert_eq!(login.1["device_last_seq"], 5);
}

async fn one_rejected_record_does_not_block_the_rest(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let token = s.login(W1, "phone-1").await;
    let mut far = fixtures::inspection(&code(2), W1, Vec::new());
    far.fix.point.lon = 181.0;
    let mut bad_event = fixtures::hazard(&code(3), W1);
    bad_event.category = "weather".into();
    let records = vec![
        inspection(1, W1),
        SyncRecord::Inspection(far),
        inspection(13, W1), // grid 2
        SyncRecord::Event(bad_event),
        SyncRecord::Event(fixtures::hazard(&code(4), W1)),
    ];
    let r = s.push(&token, "phone-1", fixtures::batch(1, records)).await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(
        statuses(&r.1),
        [
            "accepted",
            "rejected:bad_coordinates",
            "rejected:out_of_scope",
            "rejected:unknown_event_category",
            "accepted"
        ]
    );
    let msg = r.1["results"][1]["outcome"]["message"]
        .as_str()
        .expect("message");
    assert!(msg.contains("longitude 181"), "{msg}");
    assert_eq!(counts(&s, "phone-1").await, (2, 3));
    // The stream continues after the rejected records.
    let next = s
        .push(
            &token,
            "phone-1",
            fixtures::batch(6, vec![inspection(5, W1)]),
        )
        .await;
    assert_eq!(statuses(&next.1), ["accepted"]);
}

async fn scope_denials_leak_nothing(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let own = s.get(&format!("/v1/buildings/{}", code(1)), &w1).await;
    assert_eq!(own.0, StatusCode::OK);
    assert_eq!(own.1["code"], code(1).as_str());

    // Another grid's building and a building that does not exist: the same 403.
    let other = s.get(&format!("/v1/buildings/{}", code(13)), &w1).await;
    let missing = s
        .get(&format!("/v1/buildings/{}", absent_code(1)), &w1)
        .await;
    expect_error(&other, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(&missing, StatusCode::FORBIDDEN, "out_of_scope");
    assert_eq!(
        other.1["message"]
            .as_str()
            .expect("m")
            .replace(code(13).as_str(), "X"),
        missing.1["message"]
            .as_str()
            .expect("m")
            .replace(absent_code(1).as_str(), "X")
    );
    expect_error(
        &s.get("/v1/buildings/12345", &w1).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // An officer reads the whole community, nothing beyond it.
    let officer = s.login(OFFICER, "desk-1").await;
    assert_eq!(
        s.get(&format!("/v1/buildings/{}", code(30)), &officer)
            .await
            .0,
        StatusCode::OK
    );
    expect_error(
        &s.get(&format!("/v1/buildings/{}", code(40)), &officer)
            .await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    // …and may not push, nor see conflicts.
    expect_error(
        &s.push(&officer, "desk-1", vec![]).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect_error(
        &s.get("/v1/conflicts", &officer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // The district admin is told plainly what does not exist.
    let admin = s.login(ADMIN, "desk-2").await;
    expect_error(
        &s.get(&format!("/v1/buildings/{}", absent_code(1)), &admin)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // A token works only for the device it was issued to.
    let wrong_device = s
        .push(&w1, "phone-2", fixtures::batch(1, vec![inspection(1, W1)]))
        .await;
    expect_error(&wrong_device, StatusCode::FORBIDDEN, "device_mismatch");
    assert_eq!(counts(&s, "phone-2").await, (0, 0));

    // Photos of another grid's records are as invisible as photos that do not exist.
    let w2 = s.login(W2, "phone-w2").await;
    let p = fixtures::photo(9);
    let rec = SyncRecord::Inspection(fixtures::inspection(&code(13), W2, vec![p.clone()]));
    assert_eq!(
        statuses(
            &s.push(&w2, "phone-w2", fixtures::batch(1, vec![rec]))
                .await
                .1
        ),
        ["accepted"]
    );
    let theirs = s.get(&format!("/v1/photos/{}", p.sha256), &w1).await;
    let nobodys = s
        .get(&format!("/v1/photos/{}", fixtures::photo(10).sha256), &w1)
        .await;
    expect_error(&theirs, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(&nobodys, StatusCode::FORBIDDEN, "out_of_scope");
    // W1 cannot upload it either: no record of W1's refers to it.
    let up = s
        .send(
            s.client
                .put(s.url(&format!("/v1/photos/{}", p.sha256)))
                .bearer_auth(&w1)
                .body(fixtures::photo_bytes(9)),
        )
        .await;
    expect_error(&up, StatusCode::NOT_FOUND, "photo_not_referenced");
}

async fn pull_all(
    s: &TestServer,
    token: &str,
    mut cursor: Option<String>,
    limit: u32,
) -> (Vec<Value>, String, usize, bool) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut reset = false;
    loop {
        let mut q: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let resp = s
            .client
            .get(s.url("/v1/sync/pull"))
            .query(&q)
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let next_page = resp
            .headers()
            .get(NEXT_PAGE_HEADER)
            .map(|v| v.to_str().expect("ASCII cursor").to_owned());
        let status = resp.status();
        let body: Value = resp.json().await.expect("JSON page");
        assert_eq!(status, StatusCode::OK, "{body}");
        // The header names the next page exactly when there is one, with the body's cursor.
        let more = body["has_more"].as_bool().expect("has_more");
        assert_eq!(
            next_page.as_deref(),
            more.then(|| body["next_cursor"].as_str().expect("cursor")),
            "the next-page header on page {}",
            pages + 1
        );
        pages += 1;
        reset |= body["reset"].as_bool().expect("reset");
        assert_eq!(body["catalog_version"], 1);
        let changes = body["changes"].as_array().expect("changes");
        assert!(changes.len() <= limit as usize);
        all.extend(changes.iter().cloned());
        cursor = Some(body["next_cursor"].as_str().expect("cursor").to_owned());
        if !body["has_more"].as_bool().expect("has_more") {
            return (all, cursor.unwrap_or_default(), pages, reset);
        }
        assert!(pages < 200);
    }
}

fn codes_of(changes: &[Value], kind: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c["type"] == kind)
        .map(|c| {
            if kind == "building" {
                c["building"]["code"].as_str().expect("code").to_owned()
            } else {
                c["code"].as_str().expect("code").to_owned()
            }
        })
        .collect()
}

async fn pull_pages_bootstrap_and_tombstones(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let (all, cursor, pages, reset) = pull_all(&s, &w1, None, 5).await;
    let want: Vec<String> = (1..=12).map(|n| code(n).to_string()).collect();
    assert_eq!(codes_of(&all, "building"), want);
    assert_eq!((pages, reset), (3, false));
    let (none, same, _, _) = pull_all(&s, &w1, Some(cursor.clone()), 5).await;
    assert!(none.is_empty());
    assert_eq!(same, cursor);

    // Building 2 moves to grid 2: grid 1 gets a tombstone, grid 2 the building.
    let w2 = s.login(W2, "phone-2").await;
    let (_, c2, _, _) = pull_all(&s, &w2, None, 100).await;
    let mut b2 = s
        .db()
        .building(&code(2))
        .await
        .expect("get")
        .expect("b")
        .building;
    b2.grid = grid_id(1, 1, 2);
    s.db()
        .import_buildings(vec![b2], false)
        .await
        .expect("reassign");
    let (after, _, _, _) = pull_all(&s, &w1, Some(cursor.clone()), 5).await;
    assert_eq!(
        after,
        vec![json!({"type": "tombstone", "code": code(2).as_str(), "reason": "reassigned"})]
    );
    let (gained, _, _, _) = pull_all(&s, &w2, Some(c2), 5).await;
    assert_eq!(codes_of(&gained, "building"), [code(2).to_string()]);

    // A cursor issued for another scope starts over with reset.
    let officer = s.login(OFFICER, "desk-1").await;
    let (community, _, _, reset) = pull_all(&s, &officer, Some(cursor), 10).await;
    assert!(reset);
    assert_eq!(codes_of(&community, "building").len(), 36);

    for (q, code_) in [
        ("cursor=garbage", "bad_cursor"),
        ("limit=0", "invalid_request"),
        ("limit=999999", "invalid_request"),
        ("limit=ten", "invalid_request"),
        ("since=5", "invalid_request"),
    ] {
        let r = s.get(&format!("/v1/sync/pull?{q}"), &w1).await;
        expect_error(&r, StatusCode::BAD_REQUEST, code_);
    }
}

async fn photo_upload_resumes_and_deduplicates(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let token = s.login(W1, "phone-1").await;
    let p = fixtures::photo(1);
    let bytes = fixtures::photo_bytes(1);
    let rec = SyncRecord::Inspection(fixtures::inspection(&code(1), W1, vec![p.clone()]));
    let pushed = s
        .push(&token, "phone-1", fixtures::batch(1, vec![rec]))
        .await;
    assert_eq!(pushed.1["missing_photos"], json!([p.sha256.as_str()]));
    let status_path = format!("/v1/photos/{}/status", p.sha256);
    let put_url = |offset: usize| s.url(&format!("/v1/photos/{}?offset={offset}", p.sha256));
    let st = s.get(&status_path, &token).await;
    assert_eq!(
        st.1,
        json!({"sha256": p.sha256.as_str(), "size_bytes": bytes.len(), "received_bytes": 0, "complete": false})
    );

    // First 10,000 bytes arrive.
    let part = s
        .send(
            s.client
                .put(put_url(0))
                .bearer_auth(&token)
                .body(bytes[..10_000].to_vec()),
        )
        .await;
    assert_eq!(
        (
            part.1["received_bytes"].as_u64(),
            part.1["complete"].as_bool()
        ),
        (Some(10_000), Some(false))
    );
    // A resume at the wrong place is refused and changes nothing.
    let wrong = s
        .send(
            s.client
                .put(put_url(5_000))
                .bearer_auth(&token)
                .body(bytes[5_000..].to_vec()),
        )
        .await;
    let msg = expect_error(&wrong, StatusCode::CONFLICT, "offset_mismatch");
    assert!(msg.contains("10000"), "{msg}");

    // The connection drops in the middle of the next transfer.
    let mut tcp = tokio::net::TcpStream::connect(s.handle.addr)
        .await
        .expect("connect");
    let head = format!(
        "PUT /v1/photos/{}?offset=10000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        p.sha256,
        bytes.len() - 10_000
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(&bytes[10_000..30_000]).await.expect("write");
    tcp.flush().await.expect("flush");
    let mut received = 10_000;
    for _ in 0..500 {
        received = s.get(&status_path, &token).await.1["received_bytes"]
            .as_u64()
            .expect("n");
        if received == 30_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(received, 30_000, "the server keeps what arrived");
    drop(tcp);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Resume from where the server's copy ends.
    let offset = s.get(&status_path, &token).await.1["received_bytes"]
        .as_u64()
        .expect("n") as usize;
    assert_eq!(offset, 30_000);
    let done = s
        .send(
            s.client
                .put(put_url(offset))
                .bearer_auth(&token)
                .body(bytes[offset..].to_vec()),
        )
        .await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    assert_eq!(done.1["complete"], true);
    let pull = s.get("/v1/sync/pull?limit=1", &token).await;
    assert_eq!(pull.1["missing_photos"], json!([]));

    // The same picture on a second record is not uploaded again.
    let rec2 = SyncRecord::Event({
        let mut e = fixtures::hazard(&code(2), W1);
        e.photos = vec![p.clone()];
        e
    });
    let pushed = s
        .push(&token, "phone-1", fixtures::batch(2, vec![rec2]))
        .await;
    assert_eq!(pushed.1["missing_photos"], json!([]));
    let again = s
        .send(
            s.client
                .put(put_url(0))
                .bearer_auth(&token)
                .body(bytes.clone()),
        )
        .await;
    assert_eq!(
        (again.0, again.1["complete"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let photo_files: Vec<_> = walk(s.dir.path().join("photos"))
        .into_iter()
        .filter(|f| f.ends_with(p.sha256.as_str()))
        .collect();
    assert_eq!(photo_files.len(), 1, "{photo_files:?}");

    // A supervisor in scope gets the exact bytes.
    let sup = s.login(SUPERVISOR, "desk-1").await;
    let got = s
        .client
        .get(s.url(&format!("/v1/photos/{}", p.sha256)))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), bytes);

    // Bytes that do not match their name are discarded; more bytes than declared are refused.
    let liar = gridwalk_core::PhotoRef {
        sha256: fixtures::photo(2).sha256,
        ..p.clone()
    };
    let rec3 = SyncRecord::Inspection(fixtures::inspection(&code(3), W1, vec![liar.clone()]));
    s.push(&token, "phone-1", fixtures::batch(3, vec![rec3]))
        .await;
    let bad = s
        .send(
            s.client
                .put(s.url(&format!("/v1/photos/{}", liar.sha256)))
                .bearer_auth(&token)
                .body(bytes.clone()),
        )
        .await;
    expect_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert_eq!(
        s.get(&format!("/v1/photos/{}/status", liar.sha256), &token)
            .await
            .1["received_bytes"],
        0
    );
    let mut too_much = fixtures::photo_bytes(2);
    too_much.push(0);
    let big = s
        .send(
            s.client
                .put(s.url(&format!("/v1/photos/{}", liar.sha256)))
                .bearer_auth(&token)
                .body(too_much),
        )
        .await;
    expect_error(&big, StatusCode::PAYLOAD_TOO_LARGE, "photo_too_large");
    assert_eq!(
        s.get(&format!("/v1/photos/{}/status", liar.sha256), &token)
            .await
            .1["received_bytes"],
        0
    );
    s.healthy().await;
}

fn walk(dir: std::path::PathBuf) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

async fn concurrent_corrections_are_recorded_as_conflicts(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    // One worker, two phones, both offline, both saw the same floor count.
    let seen = fixtures::building(2).floors;
    let (won, lost) = (seen + 1, seen + 2);
    let a = s.login(W1, "phone-a").await;
    let b = s.login(W1, "phone-b").await;
    let ca = SyncRecord::BuildingCorrection(fixtures::floors_correction(&code(2), W1, seen, won));
    let cb = fixtures::floors_correction(&code(2), W1, seen, lost);
    let cb_id = cb.id;
    assert_eq!(
        statuses(&s.push(&a, "phone-a", fixtures::batch(1, vec![ca])).await.1),
        ["accepted"]
    );
    let rb = s
        .push(
            &b,
            "phone-b",
            fixtures::batch(1, vec![SyncRecord::BuildingCorrection(cb)]),
        )
        .await;
    assert_eq!(statuses(&rb.1), ["conflict"]);
    assert_eq!(
        s.get(&format!("/v1/buildings/{}", code(2)), &a).await.1["floors"],
        won
    );

    let sup = s.login(SUPERVISOR, "desk-1").await;
    let (status, conflicts) = s.get("/v1/conflicts", &sup).await;
    assert_eq!(status, StatusCode::OK);
    let list = conflicts.as_array().expect("list");
    assert_eq!(list.len(), 1);
    let k = &list[0];
    assert_eq!(k["record"], cb_id.to_string());
    assert_eq!(
        (
            k["field"].clone(),
            k["seen"].clone(),
            k["proposed"].clone(),
            k["current"].clone()
        ),
        (json!("floors"), json!(seen), json!(lost), json!(won))
    );
    assert_eq!(k["device"], "phone-b");
    expect_error(
        &s.get("/v1/conflicts", &a).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

async fn bad_input_gets_json_errors_and_commits_nothing(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |c| {
        c.max_body_bytes = 64 * 1024;
        c.max_push_records = 50;
    })
    .await;
    let token = s.login(W1, "phone-1").await;
    let push_url = s.url("/v1/sync/push");
    let raw = |body: Vec<u8>| {
        s.client
            .post(&push_url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
    };
    let good = serde_json::to_value(fixtures::batch(1, vec![inspection(1, W1)])).expect("json");

    let malformed = s
        .send(raw(b"{\"device_id\": \"phone-1\", \"records\": [".to_vec()))
        .await;
    expect_error(&malformed, StatusCode::BAD_REQUEST, "invalid_json");

    let not_utf8 = s
        .send(raw(
            b"{\"device_id\": \"phone-\xff\", \"records\": []}".to_vec()
        ))
        .await;
    let m = expect_error(&not_utf8, StatusCode::BAD_REQUEST, "invalid_json");
    assert!(m.contains("line 1 column"), "says where: {m}");

    let wrong_type = s.send(raw(serde_json::to_vec(&json!({"device_id": "phone-1", "records": [{"seq": "one", "record": good[0]["record"]}]})).expect("j"))).await;
    let m = expect_error(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    );
    assert!(m.contains("records[0].seq"), "{m}");

    let unknown_top = s
        .send(raw(serde_json::to_vec(
            &json!({"device_id": "phone-1", "records": good, "force": true}),
        )
        .expect("j")))
        .await;
    let m = expect_error(
        &unknown_top,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
    );
    assert!(m.contains("force"), "{m}");

    let mut nested = good.clone();
    nested[0]["record"]["payload"]["colour"] = json!("red");
    let unknown_nested = s
        .send(raw(serde_json::to_vec(
            &json!({"device_id": "phone-1", "records": nested}),
        )
        .expect("j")))
        .await;
    let m = expect_error(
        &unknown_nested,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
    );
    assert!(m.contains("colour"), "{m}");

    let mut bad_code = good.clone();
    bad_code[0]["record"]["payload"]["building"] = json!("44030600000");
    let bad_code = s
        .send(raw(serde_json::to_vec(
            &json!({"device_id": "phone-1", "records": bad_code}),
        )
        .expect("j")))
        .await;
    let m = expect_error(&bad_code, StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    assert!(
        m.contains("25 digits") && m.contains("records[0].record.payload.building"),
        "{m}"
    );

    let wrong_ct = s
        .send(
            s.client
                .post(&push_url)
                .bearer_auth(&token)
                .header("content-type", "text/plain")
                .body(
                    serde_json::to_vec(&json!({"device_id": "phone-1", "records": good}))
                        .expect("j"),
                ),
        )
        .await;
    expect_error(
        &wrong_ct,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    // Oversized: plainly, and as a small gzip body that inflates past the limit.
    let huge = json!({"device_id": "phone-1", "records": [], "pad": "x".repeat(200_000)});
    let huge_bytes = serde_json::to_vec(&huge).expect("j");
    expect_error(
        &s.send(raw(huge_bytes.clone())).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&huge_bytes).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    assert!(bomb.len() < 4096);
    let r = s.send(raw(bomb).header("content-encoding", "gzip")).await;
    expect_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    let r = s
        .send(raw(b"{}".to_vec()).header("content-encoding", "br"))
        .await;
    expect_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let too_many: Vec<SyncRecord> = (0..51).map(|i| inspection(1 + i % 12, W1)).collect();
    expect_error(
        &s.push(&token, "phone-1", fixtures::batch(1, too_many))
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
    );

    // Sequence problems refuse the whole batch.
    assert_eq!(
        statuses(
            &s.push(
                &token,
                "phone-1",
                fixtures::batch(1, vec![inspection(1, W1)])
            )
            .await
            .1
        ),
        ["accepted"]
    );
    let gap = s
        .push(
            &token,
            "phone-1",
            fixtures::batch(3, vec![inspection(2, W1), inspection(3, W1)]),
        )
        .await;
    let m = expect_error(&gap, StatusCode::CONFLICT, "sequence_gap");
    assert!(m.contains("must be 2"), "{m}");
    let replay = s
        .push(
            &token,
            "phone-1",
            fixtures::batch(1, vec![inspection(2, W1), inspection(3, W1)]),
        )
        .await;
    expect_error(&replay, StatusCode::CONFLICT, "sequence_replayed");
    let mut order: Vec<PushRecord> = fixtures::batch(2, vec![inspection(2, W1), inspection(3, W1)]);
    order.swap(0, 1);
    expect_error(
        &s.push(&token, "phone-1", order).await,
        StatusCode::BAD_REQUEST,
        "sequence_out_of_order",
    );

    // Unknown routes and wrong methods answer in JSON too.
    expect_error(
        &s.get("/v1/nothing-here", &token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_error(
        &s.send(s.client.delete(&push_url).bearer_auth(&token)).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
    );
    let login_extra = s
        .send(
            s.client
                .post(s.url("/v1/auth/login"))
                .json(&json!({"username": W1, "password": "x", "device_id": "d", "admin": true})),
        )
        .await;
    expect_error(
        &login_extra,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
    );
    let login_device = s
        .send(
            s.client
                .post(s.url("/v1/auth/login"))
                .json(&json!({"username": W1, "password": "x", "device_id": "my phone"})),
        )
        .await;
    expect_error(
        &login_device,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    );

    // Nothing of the refused requests was stored, and the server still serves.
    assert_eq!(counts(&s, "phone-1").await, (1, 0));
    assert_eq!(
        s.db()
            .device_last_seq(&DeviceId::parse("phone-1").expect("d"))
            .await
            .expect("seq"),
        1
    );
    s.healthy().await;
    assert_eq!(
        statuses(
            &s.push(
                &token,
                "phone-1",
                fixtures::batch(2, vec![inspection(2, W1)])
            )
            .await
            .1
        ),
        ["accepted"]
    );
}

async fn compression_both_ways(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let token = s.login(W1, "phone-1").await;
    // Responses are gzip-compressed when the client accepts it.
    let raw_client = crate::common::http_client_builder()
        .no_gzip()
        .build()
        .expect("client");
    let resp = raw_client
        .get(s.url("/v1/sync/pull"))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("pull");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let compressed = resp.bytes().await.expect("bytes");
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut plain,
    )
    .expect("gunzip");
    let body: Value = serde_json::from_str(&plain).expect("json");
    assert_eq!(body["changes"].as_array().expect("changes").len(), 12);
    assert!(
        compressed.len() * 3 < plain.len(),
        "{} vs {}",
        compressed.len(),
        plain.len()
    );

    // Requests may be gzip-compressed.
    let req =
        json!({"device_id": "phone-1", "records": fixtures::batch(1, vec![inspection(1, W1)])});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&serde_json::to_vec(&req).expect("j"))
        .expect("gzip");
    let r = s
        .send(
            s.client
                .post(s.url("/v1/sync/push"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(gz.finish().expect("gzip")),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);

    let doc = s.send(s.client.get(s.url("/v1/openapi.json"))).await;
    assert_eq!(doc.0, StatusCode::OK);
    for (method, path) in gridwalk_server::http::ROUTES {
        assert!(doc.1["paths"][path][method].is_object(), "{method} {path}");
    }
}

async fn graceful_shutdown_finishes_in_flight_pushes(db: AnyDb, dir: TempDir) {
    let mut s = TestServer::start(db, dir, |c| {
        c.max_push_records = 5_000;
        c.max_body_bytes = 32 * 1024 * 1024;
    })
    .await;
    let token = s.login(W1, "phone-1").await;
    let records: Vec<SyncRecord> = (0..3_000).map(|i| inspection(1 + i % 12, W1)).collect();
    let body = json!({"device_id": "phone-1", "records": fixtures::batch(1, records)});
    let client = s.client.clone();
    let url = s.url("/v1/sync/push");
    let t = token.clone();
    let request = tokio::spawn(async move {
        let resp = client
            .post(url)
            .bearer_auth(t)
            .json(&body)
            .send()
            .await
            .expect("push");
        (resp.status(), resp.json::<Value>().await.expect("json"))
    });
    let state = s.handle.state.clone();
    let mut polls = 0;
    while state.pushes_in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        polls += 1;
        assert!(polls < 30_000, "push never started");
    }
    s.handle.begin_shutdown();
    let (status, answer) = request.await.expect("task");
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["device_last_seq"], 3_000);
    let db = s.handle.state.db().clone();
    let addr = s.handle.addr;
    s.handle.wait().await.expect("stopped cleanly");
    assert_eq!(
        db.device_record_counts(&DeviceId::parse("phone-1").expect("d"))
            .await
            .expect("counts"),
        (3_000, 0)
    );
    // The listener is closed.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
