//! Worker and grid assessment: the hand count through storage, and the endpoints.

use chrono::Utc;
use gridwalk_core::protocol::{Scope, SyncRecord};
use gridwalk_core::{EventKind, EventStatus, ItemId, Policy, Severity, Stars, WorkerId};
use gridwalk_server::assessment;
use gridwalk_server::db::{AnyDb, Database, PushCtx};
use gridwalk_server::fixtures::{self, DistrictShape, Sample, grid_id};
use reqwest::StatusCode;
use serde_json::json;
use tempfile::TempDir;

use super::*;
use crate::common::server::{
    ADMIN, OFFICER, SUPERVISOR, TestServer, W1, W2, expect_error, statuses,
};

http_test!(assessment_endpoints_keep_to_the_scope_and_count_the_records);

db_test!(assessment_matches_the_hand_count);

// --- assessment over HTTP --------------------------------------------------------------------

async fn assessment_endpoints_keep_to_the_scope_and_count_the_records(db: AnyDb, dir: TempDir) {
    let s = TestServer::start(db, dir, |_| {}).await;
    let w1 = s.login(W1, "phone-1").await;
    let w2 = s.login(W2, "phone-2").await;
    let b = |n| fixtures::building(n);
    // June 2026 in grid 1 (12 buildings): four visits of three buildings, one off site; a hazard
    // on building 3 with a notice deadline of 06-10, followed up by the visit of 06-11 (within
    // the 2 days' grace). Star-independent figures only: the due visits depend on the sample's
    // stars and are counted by hand in `assessment_matches_the_hand_count`.
    let hazard = event(
        b(3),
        W1,
        EventKind::Hazard,
        "fire_hazard",
        Severity::High,
        day(6, 2),
        Some(day(6, 10)),
        EventStatus::Noticed,
    );
    let records = vec![
        SyncRecord::Inspection(visit(b(1), day(6, 3), W1)),
        SyncRecord::Inspection(off_site(visit(b(2), day(6, 5), W1), b(2))),
        SyncRecord::Event(hazard),
        SyncRecord::Inspection(visit(b(3), day(6, 11), W1)),
        SyncRecord::Inspection(visit(b(1), day(6, 20), W1)),
        // Outside the period.
        SyncRecord::Inspection(visit(b(4), day(7, 1), W1)),
    ];
    let r = s.push(&w1, "phone-1", batch(1, records)).await;
    assert_eq!(statuses(&r.1), ["accepted"; 6]);
    let r = s
        .push(
            &w2,
            "phone-2",
            batch(1, vec![SyncRecord::Inspection(visit(b(13), day(6, 8), W2))]),
        )
        .await;
    assert_eq!(statuses(&r.1), ["accepted"]);

    let sup = s.login(SUPERVISOR, "desk-1").await;
    let june = "from=2026-06-01&to=2026-06-30";
    let (status, body) = s
        .get(&format!("/v1/assessment/workers/{W1}?{june}"), &sup)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grid"], grid_id(1, 1, 1).as_str());
    let a = &body["assessment"];
    assert_eq!(a["worker"], W1);
    assert_eq!(
        a["period"],
        json!({"from": "2026-06-01", "to": "2026-06-30"})
    );
    assert_eq!(
        (
            a["buildings"].clone(),
            a["visits"].clone(),
            a["buildings_visited"].clone(),
            a["coverage"].clone(),
            a["off_site_visits"].clone(),
            a["off_site_ratio"].clone()
        ),
        (
            json!(12),
            json!(4),
            json!(3),
            json!(0.25),
            json!(1),
            json!(0.25)
        )
    );
    assert_eq!(
        a["events_reported"],
        json!({"hazards": 1, "micro_events": 0, "incidents": 0, "total": 1})
    );
    assert_eq!(
        (a["follow_ups_due"].clone(), a["follow_ups_done"].clone()),
        (json!(1), json!(1))
    );

    let (status, g1) = s
        .get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(1, 1, 1)),
            &sup,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g1}");
    assert_eq!(g1["assigned_worker"], W1);
    assert_eq!(g1["workers"].as_array().expect("workers").len(), 1);
    assert_eq!(g1["workers"][0], *a);
    let (_, g2) = s
        .get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(1, 1, 2)),
            &sup,
        )
        .await;
    assert_eq!(g2["assigned_worker"], W2);
    assert_eq!(g2["workers"][0]["visits"], 1);

    // Bad periods, roles and scopes.
    for bad in [
        "from=2026-06-30&to=2026-06-01",
        "from=2026-01-01&to=2027-06-01",
        "from=2026-06-01",
        "from=june&to=july",
    ] {
        expect_error(
            &s.get(&format!("/v1/assessment/workers/{W1}?{bad}"), &sup)
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    expect_error(
        &s.get(&format!("/v1/assessment/workers/{W1}?{june}"), &w1)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let officer = s.login(OFFICER, "desk-2").await;
    expect_error(
        &s.get(&format!("/v1/assessment/workers/{W1}?{june}"), &officer)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let far = add_worker(&s, 2, 1, 1).await;
    let outside = s
        .get(&format!("/v1/assessment/workers/{far}?{june}"), &sup)
        .await;
    let unknown = s
        .get(&format!("/v1/assessment/workers/nobody?{june}"), &sup)
        .await;
    expect_error(&outside, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(&unknown, StatusCode::FORBIDDEN, "out_of_scope");
    expect_error(
        &s.get(
            &format!("/v1/assessment/grids/{}?{june}", grid_id(2, 1, 1)),
            &sup,
        )
        .await,
        StatusCode::FORBIDDEN,
        "out_of_scope",
    );
    let admin = s.login(ADMIN, "desk-3").await;
    assert_eq!(
        s.get(&format!("/v1/assessment/workers/{far}?{june}"), &admin)
            .await
            .0,
        StatusCode::OK
    );
    for who in ["nobody", SUPERVISOR] {
        expect_error(
            &s.get(&format!("/v1/assessment/workers/{who}?{june}"), &admin)
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    expect_error(
        &s.get(&format!("/v1/assessment/grids/G9999?{june}"), &admin)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Each assessment read is a read of personal data, in the audit log.
    let (status, log) = s
        .get(
            "/v1/audit?personal=true&action=GET%20/v1/assessment/workers/%7Bworker%7D",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().expect("entries");
    let users: Vec<&str> = entries
        .iter()
        .map(|e| e["user"].as_str().expect("user"))
        .collect();
    assert_eq!(users, [SUPERVISOR, ADMIN]);
    assert_eq!(
        entries[0]["target"],
        format!("worker {W1} grid {}", grid_id(1, 1, 1))
    );
}

// --- storage-level tests (both engines) ------------------------------------------------------

/// June 2026, one worker on a grid of four buildings, with the same hand count as the core's
/// `assessment::tests::a_small_month_matches_the_hand_count`, now through storage (pushes on
/// either engine) and the server's assessment code, plus a sent-back report replaced by its
/// correction (only the correction counts).
async fn assessment_matches_the_hand_count(db: AnyDb) {
    let shape = DistrictShape {
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 2,
        buildings_per_grid: 4,
    };
    let sample = Sample::generate(shape, fixtures::SEED).expect("sample");
    let mut buildings = sample.buildings().to_vec();
    // Default policy: 1★ every 7 days, 3★ every 30, 5★ every 90; grace 0 for due visits, 2 for
    // follow-ups.
    for (b, stars) in buildings.iter_mut().zip([1u8, 3, 5, 3, 1]) {
        b.stars = Some(Stars::new(stars).expect("stars"));
    }
    db.migrate().await.expect("migrate");
    db.upsert_grids(sample.grids().to_vec())
        .await
        .expect("grids");
    db.import_buildings(buildings.clone(), false)
        .await
        .expect("buildings");
    let grid = sample.grid(1, 1, 1).expect("grid").clone();
    let me = grid.worker.clone().expect("worker").0;
    let other = "wk-0002";
    let [a, b, c, d, elsewhere] = [0, 1, 2, 3, 4].map(|i| buildings[i].clone());
    assert_eq!(elsewhere.grid, sample.grid(1, 1, 2).expect("grid 2").id);

    // A (1★): last visit 05-28 → due 06-04: on time 06-04, missed 06-11, on time 06-15 (early),
    // covered by the colleague 06-22, missed 06-29. B (3★): never visited → due 06-01, visited
    // late (06-03, off site): missed. C (5★): not due in June, visited anyway. D (3★): due 06-04,
    // not visited: missed. B's 06-10 report was sent back and replaced by its correction: one visit.
    let sent_back = off_site(visit(&b, day(6, 10), &me), &b);
    let mut correction = visit(&b, day(6, 10), &me);
    correction.corrects = Some(sent_back.id);
    let mine = vec![
        SyncRecord::Inspection(visit(&a, day(5, 28), &me)),
        SyncRecord::Inspection(visit(&a, day(6, 4), &me)),
        SyncRecord::Inspection(visit(&a, day(6, 15), &me)),
        SyncRecord::Inspection(off_site(visit(&b, day(6, 3), &me), &b)),
        SyncRecord::Inspection(visit(&c, day(4, 15), &me)),
        SyncRecord::Inspection(visit(&c, day(6, 20), &me)),
        SyncRecord::Inspection(visit(&d, day(5, 5), &me)),
        SyncRecord::Inspection(visit(&elsewhere, day(6, 5), &me)),
        // Events: A's hazard (deadline 06-10, by 06-12: no visit then → not done); C's
        // micro-event (deadline 06-19, by 06-21: the 06-20 visit → done); D's hazard reported in
        // May (deadline 06-29, by 07-01: next period); an incident on B.
        SyncRecord::Event(event(
            &a,
            &me,
            EventKind::Hazard,
            "fire_hazard",
            Severity::High,
            day(6, 4),
            Some(day(6, 10)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &c,
            &me,
            EventKind::MicroEvent {
                kind: ItemId::from("me_corridor_clutter"),
            },
            "sanitation",
            Severity::Low,
            day(6, 1),
            Some(day(6, 19)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &d,
            &me,
            EventKind::Hazard,
            "fire_hazard",
            Severity::High,
            day(5, 20),
            Some(day(6, 29)),
            EventStatus::Noticed,
        )),
        SyncRecord::Event(event(
            &b,
            &me,
            EventKind::Incident,
            "criminal_case",
            Severity::High,
            day(6, 3),
            None,
            EventStatus::Reported,
        )),
        SyncRecord::Inspection(sent_back.clone()),
        SyncRecord::Inspection(correction),
    ];
    let theirs = vec![
        SyncRecord::Inspection(visit(&a, day(6, 22), other)),
        SyncRecord::Event(event(
            &a,
            other,
            EventKind::Hazard,
            "fire_hazard",
            Severity::Medium,
            day(6, 22),
            None,
            EventStatus::Reported,
        )),
    ];
    let scope = Scope::Community(grid.community.clone());
    for (who, device, records) in [(me.as_str(), "phone-me", mine), (other, "phone-2", theirs)] {
        let n = records.len();
        let ctx = PushCtx {
            username: who.to_owned(),
            scope: scope.clone(),
            device: gridwalk_core::protocol::DeviceId::parse(device).expect("device"),
            now: Utc::now(),
        };
        let resp = db
            .push(ctx, batch(1, records), Vec::new())
            .await
            .expect("push");
        assert_eq!(resp.device_last_seq, n as u64);
    }

    let policy = Policy::default_policy().expect("policy");
    let june = assessment::period(day(6, 1), day(6, 30), 366).expect("period");
    let records = assessment::grid_records(&db, &grid.id)
        .await
        .expect("records");
    assert_eq!(records.buildings.len(), 4);
    assert_eq!(
        (records.inspections.len(), records.events.len()),
        (10, 5),
        "nine of the worker's inspections in the grid and the colleague's one; every event"
    );
    let r = assessment::assess_on_grid(&WorkerId(me.clone()), june, &records, &policy).assessment;
    assert_eq!(r.buildings, 4);
    assert_eq!(
        r.visits, 5,
        "A 06-04, A 06-15, B 06-03, B's correction 06-10, C 06-20"
    );
    assert_eq!(r.due_visits, 7, "A 5 + B 1 + D 1");
    assert_eq!(
        (r.on_time, r.covered_by_others, r.missed, r.pending),
        (2, 1, 4, 0)
    );
    assert_eq!(r.on_time_ratio, Some(2.0 / 6.0));
    assert_eq!((r.buildings_visited, r.coverage), (3, Some(0.75)));
    assert_eq!(
        (r.off_site_visits, r.off_site_ratio),
        (1, Some(0.2)),
        "the off-site report replaced by its correction no longer counts"
    );
    assert_eq!(
        (
            r.events_reported.hazards,
            r.events_reported.micro_events,
            r.events_reported.incidents,
            r.events_reported.total
        ),
        (1, 1, 1, 3)
    );
    assert_eq!((r.follow_ups_due, r.follow_ups_done), (2, 1));

    // The grid: its worker first, then the colleague, whose one visit settled A's 06-22 due day.
    let g = assessment::assess_grid(june, &records, &policy);
    let names: Vec<&str> = g.workers.iter().map(|w| w.worker.as_str()).collect();
    assert_eq!(names, [me.as_str(), other]);
    assert_eq!(g.workers[0], r);
    let o = &g.workers[1];
    assert_eq!((o.visits, o.due_visits), (1, 7));
    assert_eq!((o.on_time, o.covered_by_others, o.missed), (1, 2, 4));
    assert_eq!((o.buildings_visited, o.coverage), (1, Some(0.25)));
    assert_eq!((o.events_reported.total, o.follow_ups_done), (1, 0));

    assert!(
        assessment::grid_records(&db, &gridwalk_core::GridId("G-none".into()))
            .await
            .is_err()
    );
}
