//! Stars recomputed on merge reach the phone: an inspection recorded offline fails every checklist
//! item; after the push and the server's rater, the phone's next pull brings the building's new
//! stars and next due date, and the server's explanation lands in the phone's rating history.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use gridwalk_core::rating::{Rating, RatingBasis, RuleId};
use gridwalk_core::{Catalog, ChecklistResult, ItemOutcome, Stars};
use gridwalk_server::fixtures;
use gridwalk_server::rater;
use gridwalk_tests::sync_harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_failed_inspection_brings_new_stars_due_date_and_explanation_to_the_phone() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let first = phone.client.sync_now().await.expect("bootstrap");
    assert_eq!(first.pulled.buildings, 12);

    // A building the phone holds at 3★ or more (the sample district is as of 2025-07-01).
    let before = w1_codes()
        .into_iter()
        .map(|c| phone.archive.building(&c).expect("read").expect("held"))
        .find(|b| b.stars.is_some_and(|s| s.get() >= 3) && !b.blacklisted)
        .expect("a 3★+ building in W1's grid");
    let day = NaiveDate::from_ymd_opt(2025, 7, 3).expect("date");
    let started = Utc.from_utc_datetime(&day.and_hms_opt(2, 0, 0).expect("time"));
    let catalog = Catalog::default_catalog().expect("catalog");
    let mut ins = fixtures::inspection(&before.code, W1, Vec::new());
    ins.started_at = started;
    ins.finished_at = started + Duration::minutes(25);
    ins.fix.taken_at = started;
    ins.results = catalog
        .checklist
        .iter()
        .map(|item| ChecklistResult {
            item: item.id.clone(),
            category: item.category,
            outcome: ItemOutcome::Fail,
        })
        .collect();
    phone
        .archive
        .record_inspection(&ins)
        .expect("record offline");

    let pushed = phone.client.sync_now().await.expect("push");
    assert_eq!(pushed.pushed.accepted, 1);
    let unchanged = phone
        .archive
        .building(&before.code)
        .expect("read")
        .expect("held");
    assert_eq!(unchanged.stars, before.stars, "not rated yet");

    // The rater runs off the request path; here it is drained as of the inspection's day.
    let r = rater::drain(server.db(), server.state().rules(), day, 100)
        .await
        .expect("drain");
    assert_eq!((r.rated, r.changed, r.history), (1, 1, 1));

    let pulled = phone.client.sync_now().await.expect("pull");
    assert_eq!(pulled.pulled.buildings, 1, "only the re-rated building");
    let after = phone
        .archive
        .building(&before.code)
        .expect("read")
        .expect("held");
    assert_eq!(
        after.stars,
        Stars::new(1).ok(),
        "every item failed: 1★ at once"
    );
    assert_eq!(after.last_inspected_at, Some(ins.finished_at));
    assert_eq!(
        after.next_due_on,
        NaiveDate::from_ymd_opt(2025, 7, 10),
        "1★ is visited weekly"
    );

    let history = phone
        .archive
        .rating_history::<Rating>(&before.code)
        .expect("history");
    assert_eq!(history.len(), 1);
    let explanation = &history[0].explanation;
    assert_eq!(history[0].stars, Stars::new(1).ok());
    assert_eq!(explanation.previous_stars, before.stars);
    assert!(explanation.fired(&RuleId::Downgrade), "{explanation:?}");
    assert!(matches!(explanation.basis, RatingBasis::Inspection { id, .. } if id == ins.id));
    let lowered = explanation
        .rules_fired
        .iter()
        .find(|f| f.rule == RuleId::Downgrade)
        .expect("downgrade");
    assert!(lowered.message.contains("降星摘牌"), "{}", lowered.message);

    // Pulling again brings nothing new and keeps one history row.
    let again = phone.client.sync_now().await.expect("again");
    assert_eq!(again.pulled.buildings, 0);
    assert_eq!(
        phone
            .archive
            .rating_history::<Rating>(&before.code)
            .expect("history")
            .len(),
        1
    );
}
