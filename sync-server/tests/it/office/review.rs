//! Supervisor review over HTTP: the queue, decisions, send-back and resubmission.

use gridwalk_core::protocol::{
    ReviewDecision, ReviewOutcome, ReviewState, Role, Scope, SyncRecord,
};
use gridwalk_core::{Policy, RecordId, WorkerId};
use gridwalk_server::db::audit::NewAuditEntry;
use gridwalk_server::db::review::ReviewQueueParams;
use gridwalk_server::db::{AnyDb, Database, PushCtx};
use gridwalk_server::fixtures::{self, DistrictShape, code, grid_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;
use crate::common::server::{
    ADMIN, OFFICER, SUPERVISOR, TestServer, W1, W2, expect_error, statuses,
};

http_test!(
    send_back_reaches_the_worker_and_the_resubmission_links,
    queue_filters_pages_and_keeps_to_the_scope,
);

db_test!(decisions_recorded_directly_show_in_the_queue);

// --- review over HTTP ------------------------------------------------------------------------

async fn send_back_reaches_the_worker_and_the_resubmission_links(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let sup = s.login(SUPERVISOR, "desk-1").await;
    let (b1, b2, b3) = (
        fixtures::building(1),
        fixtures::building(2),
        fixtures::building(3),
    );
    let a = visit(b1, day(6, 1), W1);
    let b = off_site(visit(b2, day(6, 1), W1), b2);
    let e = event(
        b3,
        W1,
        EventKind::Hazard,
        "fire_hazard",
        Severity::High,
        day(6, 1),
        None,
        EventStatus::Reported,
    );
    let (a_id, b_id, e_id) = (a.id.to_string(), b.id.to_string(), e.id.to_string());
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(a.clone()),
                    SyncRecord::Inspection(b),
                    SyncRecord::Event(e),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted", "accepted", "accepted"]);

    // The queue: oldest first, presence judged against the building, nothing decided.
    let items = queue(&s, &sup, "").await;
    let ids: Vec<String> = items.iter().map(|i| rid(&i["record"])).collect();
    assert_eq!(ids, [a_id.clone(), b_id.clone(), e_id.clone()]);
    let ia = item(&items, &a_id);
    assert_eq!(
        (
            ia["kind"].clone(),
            ia["off_site"].clone(),
            ia["state"].clone()
        ),
        (json!("inspection"), json!(false), json!("pending"))
    );
    assert!(ia["distance_m"].as_f64().expect("distance") < 0.01);
    assert_eq!(ia["decision"], Value::Null);
    assert_eq!(ia["corrects"], Value::Null);
    assert_eq!(ia["original"], a_id.as_str());
    assert_eq!(ia["worker"], W1);
    assert_eq!(ia["device"], "phone-1");
    assert_eq!(ia["grid"], grid_id(1, 1, 1).as_str());
    let ib = item(&items, &b_id);
    assert_eq!(ib["off_site"], true);
    let d = ib["distance_m"].as_f64().expect("distance");
    assert!((d - 300.2).abs() < 1.0, "{d}");
    assert_eq!(
        (ib["radius_m"].clone(), ib["accuracy_m"].clone()),
        (json!(50.0), json!(8.0))
    );
    assert_eq!(item(&items, &e_id)["kind"], "event");

    // A send-back needs words for the worker.
    expect_error(
        &decide(&s, &sup, &a_id, "sent_back", "  \n ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "comment_required",
    );
    let comment = "消防通道照片缺失 — add the escape-route photo";
    let (status, sent) = decide(&s, &sup, &a_id, "sent_back", &format!(" {comment} ")).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["state"], "sent_back");
    assert_eq!(sent["decision"]["comment"], comment);
    assert_eq!(sent["decision"]["reviewer"], SUPERVISOR);

    // The worker's next pull carries it; W2 sees nothing of it.
    let pulled = reviews_pulled(&s, &w1).await;
    assert_eq!(pulled.len(), 1);
    assert_eq!(
        (
            pulled[0]["record"].clone(),
            pulled[0]["decision"].clone(),
            pulled[0]["comment"].clone()
        ),
        (json!(a_id), json!("sent_back"), json!(comment))
    );
    let w2 = s.login(W2, "phone-2").await;
    assert!(reviews_pulled(&s, &w2).await.is_empty());

    // The correction arrives, linked: the original is closed as resubmitted.
    let mut fix = visit(b1, day(6, 2), W1);
    fix.corrects = Some(a.id);
    let fix_id = fix.id.to_string();
    let r = s
        .push(&w1, "phone-1", batch(4, vec![SyncRecord::Inspection(fix)]))
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);
    let items = queue(&s, &sup, "").await;
    assert_eq!(items.len(), 4);
    let ia = item(&items, &a_id);
    assert_eq!(ia["state"], "resubmitted");
    assert_eq!(ia["corrected_by"], fix_id.as_str());
    assert_eq!(ia["decision"]["decision"], "sent_back");
    let ic = item(&items, &fix_id);
    assert_eq!(
        (
            ic["corrects"].clone(),
            ic["original"].clone(),
            ic["state"].clone()
        ),
        (json!(a_id), json!(a_id), json!("pending"))
    );
    let resubmitted = queue(&s, &sup, "?state=resubmitted").await;
    assert_eq!(resubmitted.len(), 1);
    assert_eq!(resubmitted[0]["record"], a_id.as_str());

    // Closed reports stay closed; the correction is decided in its own right.
    expect_error(
        &decide(&s, &sup, &a_id, "approved", "").await,
        StatusCode::CONFLICT,
        "review_closed",
    );
    let (status, ok) = decide(&s, &sup, &fix_id, "approved", "").await;
    assert_eq!(
        (status, ok["state"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    // A retried approval changes nothing and sends nothing new to the phone.
    let (status, again) = decide(&s, &sup, &fix_id, "approved", "").await;
    assert_eq!(
        (status, again["state"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    assert_eq!(reviews_pulled(&s, &w1).await.len(), 2);
    expect_error(
        &decide(&s, &sup, &fix_id, "sent_back", "second thoughts").await,
        StatusCode::CONFLICT,
        "review_closed",
    );

    // A send-back may be reworded, then withdrawn by approving, until a correction arrives.
    for (decision, comment, state) in [
        ("sent_back", "the fix is far from the building", "sent_back"),
        ("sent_back", "photo of the gate, please", "sent_back"),
        ("approved", "explained by phone", "approved"),
    ] {
        let (status, body) = decide(&s, &sup, &b_id, decision, comment).await;
        assert_eq!(
            (status, body["state"].clone()),
            (StatusCode::OK, json!(state)),
            "{body}"
        );
    }
    let pulled = reviews_pulled(&s, &w1).await;
    let of_b: Vec<&Value> = pulled.iter().filter(|o| o["record"] == b_id).collect();
    assert_eq!(of_b.len(), 3);
    assert_eq!(of_b[2]["comment"], "explained by phone");

    // Who may decide, on what.
    expect_error(
        &decide(&s, &w1, &e_id, "approved", "").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let officer = s.login(OFFICER, "desk-2").await;
    expect_error(
        &s.get("/v1/review/queue", &officer).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let unknown = RecordId::new().to_string();
    expect_error(
        &decide(&s, &sup, &unknown, "approved", "").await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    let admin = s.login(ADMIN, "desk-3").await;
    expect_error(
        &decide(&s, &admin, &unknown, "approved", "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_error(
        &decide(&s, &sup, "not-a-uuid", "approved", "").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    expect_error(
        &post(
            &s,
            &format!("/v1/review/{e_id}"),
            &sup,
            json!({"decision": "approved", "urgent": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
    );
    let too_long = "x".repeat(2_001);
    expect_error(
        &decide(&s, &sup, &e_id, "sent_back", &too_long).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    // Building corrections are conflicts, not reviews.
    let corr = fixtures::floors_correction(&b1.code, W1, b1.floors, b1.floors + 1);
    let corr_id = corr.id.to_string();
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(5, vec![SyncRecord::BuildingCorrection(corr)]),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);
    expect_error(
        &decide(&s, &sup, &corr_id, "approved", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    );
    assert_eq!(
        queue(&s, &sup, "").await.len(),
        4,
        "corrections are not queued"
    );
}

async fn queue_filters_pages_and_keeps_to_the_scope(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let w2 = s.login(W2, "phone-2").await;
    let b = |n| fixtures::building(n);
    let r = s
        .push(
            &w1,
            "phone-1",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(visit(b(1), day(6, 1), W1)),
                    SyncRecord::Inspection(off_site(visit(b(2), day(6, 1), W1), b(2))),
                    SyncRecord::Inspection(visit(b(3), day(6, 1), W1)),
                    SyncRecord::Event(event(
                        b(4),
                        W1,
                        EventKind::Hazard,
                        "fire_hazard",
                        Severity::Medium,
                        day(6, 1),
                        None,
                        EventStatus::Reported,
                    )),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"; 4]);
    let r = s
        .push(
            &w2,
            "phone-2",
            batch(
                1,
                vec![
                    SyncRecord::Inspection(visit(b(13), day(6, 1), W2)),
                    SyncRecord::Inspection(visit(b(14), day(6, 1), W2)),
                ],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"; 2]);
    // A worker of street 2 (building 73 is the first of street 2): outside the supervisor's street.
    let far = add_worker(&s, 2, 1, 1).await;
    let wf = s.login(&far, "phone-3").await;
    let r = s
        .push(
            &wf,
            "phone-3",
            batch(
                1,
                vec![SyncRecord::Inspection(visit(b(73), day(6, 1), &far))],
            ),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);

    let sup = s.login(SUPERVISOR, "desk-1").await;
    let admin = s.login(ADMIN, "desk-2").await;
    assert_eq!(queue(&s, &sup, "").await.len(), 6);
    assert_eq!(queue(&s, &admin, "").await.len(), 7);
    let count = |items: Vec<Value>| items.len();
    assert_eq!(count(queue(&s, &sup, "?kind=event").await), 1);
    assert_eq!(count(queue(&s, &sup, "?kind=inspection").await), 5);
    let off = queue(&s, &sup, "?off_site=true").await;
    assert_eq!(off.len(), 1);
    assert_eq!(off[0]["building"], code(2).as_str());
    assert_eq!(count(queue(&s, &sup, "?off_site=false").await), 5);
    let g2 = grid_id(1, 1, 2);
    assert_eq!(count(queue(&s, &sup, &format!("?grid={g2}")).await), 2);
    assert_eq!(count(queue(&s, &sup, &format!("?worker={W2}")).await), 2);
    assert_eq!(
        count(queue(&s, &sup, &format!("?worker={far}")).await),
        0,
        "another street's worker is invisible to this supervisor"
    );
    assert_eq!(count(queue(&s, &admin, &format!("?worker={far}")).await), 1);
    assert_eq!(
        count(
            queue(
                &s,
                &sup,
                &format!("?grid={g2}&kind=inspection&off_site=false&state=pending")
            )
            .await
        ),
        2
    );

    let first = rid(&queue(&s, &sup, "").await[0]["record"]);
    let (status, _) = decide(&s, &sup, &first, "sent_back", "which floor?").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(queue(&s, &sup, "?state=pending").await), 5);
    let sent = queue(&s, &sup, "?state=sent_back").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["record"], first.as_str());
    assert_eq!(count(queue(&s, &sup, "?state=approved").await), 0);

    // Paging by server sequence.
    let (status, p1) = s.get("/v1/review/queue?limit=4", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p1["items"].as_array().expect("items").len(), 4);
    assert_eq!(p1["has_more"], true);
    let next = p1["next_after"].as_u64().expect("next");
    assert_eq!(p1["items"][3]["seq"].as_u64(), Some(next));
    let (_, p2) = s
        .get(&format!("/v1/review/queue?limit=4&after={next}"), &sup)
        .await;
    assert_eq!(p2["items"].as_array().expect("items").len(), 2);
    assert_eq!(
        (p2["has_more"].clone(), p2["next_after"].clone()),
        (json!(false), Value::Null)
    );

    for bad in [
        "?limit=0",
        "?limit=501",
        "?sort=newest",
        "?state=lost",
        "?off_site=maybe",
    ] {
        expect_error(
            &s.get(&format!("/v1/review/queue{bad}"), &sup).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

/// Decisions stored through `add_review` (the path the phone tests drive) show in the queue as
/// well as those made through the API.
async fn decisions_recorded_directly_show_in_the_queue(db: AnyDb) {
    db.migrate().await.expect("migrate");
    let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
    db.upsert_grids(grids).await.expect("grids");
    db.import_buildings(buildings, false).await.expect("import");
    let b = fixtures::building(1);
    let ins = visit(b, day(6, 1), W1);
    let ctx = PushCtx {
        username: W1.into(),
        scope: Scope::Grid(grid_id(1, 1, 1)),
        device: gridwalk_core::protocol::DeviceId::parse("phone-1").expect("device"),
        now: Utc::now(),
    };
    db.push(
        ctx,
        batch(1, vec![SyncRecord::Inspection(ins.clone())]),
        Vec::new(),
    )
    .await
    .expect("push");
    let policy = Policy::default_policy().expect("policy").supervision;
    db.add_review(ReviewOutcome {
        record: ins.id,
        decision: ReviewDecision::SentBack,
        comment: "again".into(),
        reviewer: WorkerId::from(SUPERVISOR),
        reviewed_at: Utc::now(),
    })
    .await
    .expect("review")
    .expect("known");
    assert_eq!(db.review_index(policy).await.expect("index"), 1);
    assert_eq!(
        db.review_index(policy).await.expect("index"),
        0,
        "indexed once"
    );
    let params = |state| ReviewQueueParams {
        scope: Scope::District,
        kind: None,
        grid: None,
        worker: None,
        off_site: None,
        state,
        after_seq: 0,
        limit: 10,
    };
    let (items, more) = db
        .review_queue(params(Some(ReviewState::SentBack)))
        .await
        .expect("queue");
    assert!(!more);
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].decision.as_ref().map(|d| d.comment.as_str()),
        Some("again")
    );
    assert!(
        db.review_queue(params(Some(ReviewState::Pending)))
            .await
            .expect("queue")
            .0
            .is_empty()
    );

    // The audit log keeps what it is given, ids only, in order.
    db.append_audit(NewAuditEntry {
        at: Utc::now(),
        user: Some(W1.into()),
        device: None,
        role: Some(Role::Worker),
        scope: Some(Scope::Grid(grid_id(1, 1, 1))),
        action: "GET /v1/buildings/{code}".into(),
        target: b.code.as_str().into(),
        personal_data: true,
        status: 200,
    })
    .await
    .expect("append");
    let (log, more) = db
        .audit_log(gridwalk_server::db::audit::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("log");
    assert!(!more);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].scope, Some(Scope::Grid(grid_id(1, 1, 1))));
    assert_eq!(log[0].role, Some(Role::Worker));
}
