use std::collections::HashMap;

use chrono::Duration;

use super::*;
use crate::catalog::Catalog;
use crate::domain::{
    Building, Category, CategoryScores, EventKind, EventStatus, GeoPoint, Inspection, ItemOutcome,
    Severity,
};
use crate::policy::Policy;
use crate::testkit::*;

use ItemOutcome::{Fail, NotApplicable as Na, Pass};

fn stars(n: u8) -> Stars {
    Stars::new(n).expect("1..=5")
}

fn rate(
    b: &Building,
    ins: &[Inspection],
    evs: &[crate::domain::Event],
    previous: Option<&Rating>,
    today: chrono::NaiveDate,
) -> Rating {
    rate_building(b, ins, evs, previous, &catalog(), &policy(), today)
}

fn messages(r: &Rating, rule: &RuleId) -> Vec<String> {
    r.rules_fired
        .iter()
        .filter(|f| &f.rule == rule)
        .map(|f| f.message.clone())
        .collect()
}

/// A 5★ building whose latest inspection (on `inspected`) passes everything: the scores earn 5★.
fn good_building(inspected: chrono::NaiveDate) -> (Building, Vec<Inspection>, Catalog) {
    let c = catalog();
    let b = building(1, Some(5));
    let i = inspection(&b, morning(inspected), &all_pass(&c), &c);
    (b, vec![i], c)
}

// ---- scores -------------------------------------------------------------------------------

#[test]
fn category_scores_are_weighted_by_the_catalog() {
    let c = catalog();
    let b = building(1, None);
    // safety: extinguishers 3 pass, escape route 3 fail, wiring 2 pass, gas 2 n/a → 5/8 = 62.5
    // management: register 3 pass, contract 2 fail → 3/5 = 60
    // honesty: all n/a → 100 (nothing applies, nothing wrong); civility: not checked.
    let results = [
        ("sl_extinguishers", Pass),
        ("sl_escape_route", Fail),
        ("sl_wiring", Pass),
        ("sl_gas", Na),
        ("mg_register", Pass),
        ("mg_contract", Fail),
        ("hc_tax", Na),
        ("hc_truthful", Na),
    ];
    let i = inspection(&b, morning(day(2026, 3, 2)), &results, &c);
    let sheet = score_checklist(&i.results, &c);
    assert_eq!(sheet.get(Category::SafetyLivability), Some(62.5));
    assert_eq!(sheet.get(Category::Management), Some(60.0));
    assert_eq!(sheet.get(Category::HonestyCredit), Some(100.0));
    assert_eq!(sheet.get(Category::CivilityHygiene), None);

    // Civility unchecked and no archive → 0. Mean with weights 2:1:1:1 = (125 + 60 + 100 + 0) / 5 = 57.
    let r = rate(&b, std::slice::from_ref(&i), &[], None, day(2026, 3, 2));
    let s = r.scores.expect("scored");
    assert_eq!(s.civility_hygiene, 0.0);
    assert_eq!(r.mean_score, Some(57.0));
    assert_eq!(r.score_stars, Some(stars(1)));
    assert_eq!(r.stars, Some(stars(1)));
    assert!(r.fired(&RuleId::Initial));
    let m = messages(&r, &RuleId::ScoreCategoryNotChecked);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].contains("civility_hygiene") && m[0].contains("counts 0"),
        "{m:?}"
    );
    assert!(matches!(r.basis, RatingBasis::Inspection { id, .. } if id == i.id));

    // With an archived civility score of 80 the mean is (125 + 60 + 100 + 80) / 5 = 73 → 3★.
    let mut b2 = b.clone();
    b2.scores = Some(CategoryScores::new(10.0, 10.0, 10.0, 80.0).expect("valid"));
    let r = rate(&b2, &[i], &[], None, day(2026, 3, 2));
    assert_eq!(r.mean_score, Some(73.0));
    assert_eq!(r.stars, Some(stars(3)));
    let m = messages(&r, &RuleId::ScoreStars);
    assert_eq!(
        m,
        [
            "safety_livability 62.5, management 60.0, honesty_credit 100.0, civility_hygiene 80.0; \
             weighted mean 73.0 → 3★ (4★ needs a mean of 80.0 and every category at least 60.0)"
        ]
    );
}

#[test]
fn unknown_items_are_ignored_and_named() {
    let c = catalog();
    let b = building(1, None);
    let mut i = inspection(&b, morning(day(2026, 3, 2)), &all_pass(&c), &c);
    i.results[0].item = crate::domain::ItemId::from("sl_retired_item");
    i.results[0].outcome = Fail;
    let r = rate(&b, &[i], &[], None, day(2026, 3, 2));
    // The failed item no longer counts: everything else passes.
    assert_eq!(r.scores.expect("scored").safety_livability, 100.0);
    let m = messages(&r, &RuleId::ScoreUnknownItems);
    assert!(m[0].contains("sl_retired_item"), "{m:?}");
}

#[test]
fn stars_need_the_mean_and_the_category_floor() {
    let p = policy();
    let s = |a, b, c, d| CategoryScores::new(a, b, c, d).expect("valid");
    // (2·100 + 100 + 100 + 70) / 5 = 94 ≥ 90, but civility 70 < 75 → not 5★; 4★ (floor 60) holds.
    assert_eq!(
        stars_from_scores(&s(100.0, 100.0, 100.0, 70.0), &p.rating),
        stars(4)
    );
    assert_eq!(
        stars_from_scores(&s(100.0, 100.0, 100.0, 75.0), &p.rating),
        stars(5)
    );
    // Exactly on thresholds: mean 80, floor 60 → 4★.
    assert_eq!(
        stars_from_scores(&s(80.0, 80.0, 80.0, 80.0), &p.rating),
        stars(4)
    );
    assert_eq!(
        stars_from_scores(&s(79.9, 80.0, 80.0, 80.0), &p.rating),
        stars(3)
    );
    assert_eq!(
        stars_from_scores(&s(59.0, 59.0, 59.0, 59.0), &p.rating),
        stars(1)
    );
    // A category at 30 blocks 3★ (floor 40) even with a mean of 86.
    assert_eq!(
        stars_from_scores(&s(100.0, 100.0, 100.0, 30.0), &p.rating),
        stars(2)
    );
}

// ---- downgrade caps ---------------------------------------------------------------------

#[test]
fn overdue_hazard_caps_at_two_stars_with_its_inputs_in_the_message() {
    let (b, ins, _) = good_building(day(2026, 10, 20));
    let h = hazard(
        &b,
        morning(day(2026, 10, 20)),
        Some(day(2026, 11, 1)),
        EventStatus::Noticed,
    );
    let r = rate(&b, &ins, std::slice::from_ref(&h), None, day(2026, 11, 3));
    assert_eq!(r.score_stars, Some(stars(5)));
    assert_eq!(r.stars, Some(stars(2)));
    let cap = r
        .rules_fired
        .iter()
        .find(|f| f.rule == RuleId::CapOverdueHazard)
        .expect("cap fired");
    assert_eq!(cap.effect, Effect::Cap { max: stars(2) });
    assert_eq!(
        cap.message,
        format!(
            "capped at 2★: hazard {} (fire_hazard) not rectified by its deadline 2026-11-01 \
             (overdue since 2026-11-02), status noticed",
            h.id
        )
    );
    assert_eq!(
        messages(&r, &RuleId::Downgrade),
        ["lowered 5★ → 2★ (降星摘牌) by cap.overdue_hazard"]
    );
    assert!(matches!(
        r.rules_fired.iter().find(|f| f.rule == RuleId::Downgrade).map(|f| f.effect),
        Some(Effect::Lowered { from, to }) if from == stars(5) && to == stars(2)
    ));

    // On the deadline day itself the owner is still in time.
    let r = rate(&b, &ins, std::slice::from_ref(&h), None, day(2026, 11, 1));
    assert!(!r.fired(&RuleId::CapOverdueHazard));
    assert_eq!(r.stars, Some(stars(5)));
    // Rectified (even late) lifts the cap.
    let mut fixed = h.clone();
    fixed.status = EventStatus::Rectified;
    let r = rate(&b, &ins, &[fixed], None, day(2026, 11, 3));
    assert!(!r.fired(&RuleId::CapOverdueHazard));
}

#[test]
fn overdue_micro_event_notice_caps_too() {
    let (b, ins, _) = good_building(day(2026, 10, 20));
    let me = event(
        &b,
        EventKind::MicroEvent {
            kind: crate::domain::ItemId::from("me_corridor_clutter"),
        },
        "sanitation",
        Severity::Low,
        morning(day(2026, 10, 20)),
        Some(day(2026, 10, 27)),
        EventStatus::Overdue,
    );
    let r = rate(&b, &ins, std::slice::from_ref(&me), None, day(2026, 11, 3));
    assert_eq!(r.stars, Some(stars(2)));
    let m = messages(&r, &RuleId::CapOverdueHazard);
    assert!(
        m[0].contains("micro-event me_corridor_clutter") && m[0].contains("2026-10-27"),
        "{m:?}"
    );
}

#[test]
fn serious_criminal_case_caps_at_two_stars_minor_one_does_not() {
    let (b, ins, _) = good_building(day(2026, 6, 1));
    let case = incident(
        &b,
        "criminal_case",
        Severity::High,
        morning(day(2026, 5, 10)),
    );
    let r = rate(&b, &ins, std::slice::from_ref(&case), None, day(2026, 6, 2));
    assert_eq!(r.stars, Some(stars(2)));
    let rule = RuleId::CapIncident(crate::domain::ItemId::from("criminal_case"));
    assert_eq!(rule.to_string(), "cap.incident.criminal_case");
    assert_eq!(
        messages(&r, &rule),
        [format!(
            "capped at 2★: criminal_case incident {} (severity high) reported 2026-05-10, \
             within 365 days (cap lifts 2027-05-10)",
            case.id
        )]
    );

    let minor = incident(
        &b,
        "criminal_case",
        Severity::Medium,
        morning(day(2026, 5, 10)),
    );
    let r = rate(&b, &ins, &[minor], None, day(2026, 6, 2));
    assert!(!r.fired(&rule));
    assert_eq!(r.stars, Some(stars(5)));
}

#[test]
fn fire_accident_caps_at_one_star_within_its_window_only() {
    let (b, ins, _) = good_building(day(2026, 6, 1));
    let fire = incident(&b, "fire_accident", Severity::Low, morning(day(2025, 6, 3)));
    let rule = RuleId::CapIncident(crate::domain::ItemId::from("fire_accident"));
    // 2025-06-03 + 365 days = 2026-06-03: the cap holds on 06-02 and lifts on 06-03.
    let r = rate(&b, &ins, std::slice::from_ref(&fire), None, day(2026, 6, 2));
    assert_eq!(r.stars, Some(stars(1)));
    assert!(messages(&r, &rule)[0].contains("cap lifts 2026-06-03"));
    let r = rate(&b, &ins, std::slice::from_ref(&fire), None, day(2026, 6, 3));
    assert!(!r.fired(&rule));
    assert_eq!(r.stars, Some(stars(5)));
}

#[test]
fn major_illegal_business_caps_at_two_stars() {
    let (b, ins, _) = good_building(day(2026, 6, 1));
    let biz = incident(
        &b,
        "illegal_business",
        Severity::Critical,
        morning(day(2026, 1, 10)),
    );
    let r = rate(&b, &ins, std::slice::from_ref(&biz), None, day(2026, 6, 2));
    assert_eq!(r.stars, Some(stars(2)));
    assert!(r.fired(&RuleId::CapIncident(crate::domain::ItemId::from(
        "illegal_business"
    ))));
    // Its window is 180 days: 2026-01-10 + 180 = 2026-07-09.
    let r = rate(&b, &ins, &[biz], None, day(2026, 7, 9));
    assert_eq!(r.stars, Some(stars(5)));
}

#[test]
fn blacklist_caps_at_one_star() {
    let (mut b, ins, _) = good_building(day(2026, 6, 1));
    b.blacklisted = true;
    let r = rate(&b, &ins, &[], None, day(2026, 6, 2));
    assert_eq!(r.stars, Some(stars(1)));
    assert_eq!(
        messages(&r, &RuleId::CapBlacklist),
        ["capped at 1★: the building is blacklisted (黑名单)"]
    );
    assert_eq!(
        messages(&r, &RuleId::Downgrade),
        ["lowered 5★ → 1★ (降星摘牌) by cap.blacklist"]
    );
}

#[test]
fn the_lowest_cap_wins_and_all_are_explained() {
    let (mut b, ins, _) = good_building(day(2026, 6, 1));
    b.blacklisted = true;
    let case = incident(
        &b,
        "criminal_case",
        Severity::High,
        morning(day(2026, 5, 10)),
    );
    let r = rate(&b, &ins, &[case], None, day(2026, 6, 2));
    assert_eq!(r.stars, Some(stars(1)));
    assert!(r.fired(&RuleId::CapBlacklist));
    assert!(r.fired(&RuleId::CapIncident("criminal_case".into())));
    assert_eq!(
        messages(&r, &RuleId::Downgrade),
        ["lowered 5★ → 1★ (降星摘牌) by cap.blacklist"]
    );
}

#[test]
fn low_scores_downgrade_at_once() {
    let c = catalog();
    let b = building(1, Some(5));
    let results: Vec<_> = c
        .checklist
        .iter()
        .map(|i| (i.id.as_str(), if i.weight >= 3.0 { Fail } else { Pass }))
        .collect();
    let i = inspection(&b, morning(day(2026, 6, 1)), &results, &c);
    let r = rate(&b, &[i], &[], None, day(2026, 6, 1));
    assert_eq!(r.stars, r.score_stars);
    assert!(r.stars < Some(stars(5)));
    assert!(messages(&r, &RuleId::Downgrade)[0].ends_with("by the scores"));
}

// ---- upgrade --------------------------------------------------------------------------

/// A 2★ building: inspection A on 03-01 found a hazard (reported 5 minutes into the visit), since
/// rectified; `previous` is the rating based on A.
struct Climb {
    b: Building,
    a: Inspection,
    hazard: crate::domain::Event,
    previous: Rating,
    catalog: Catalog,
}

fn climb() -> Climb {
    let c = catalog();
    let b = building(1, Some(2));
    let a = inspection(
        &b,
        morning(day(2026, 3, 1)),
        &[("sl_extinguishers", Fail), ("mg_register", Pass)],
        &c,
    );
    let mut hazard = hazard(
        &b,
        a.started_at + Duration::minutes(5),
        Some(day(2026, 3, 8)),
        EventStatus::Noticed,
    );
    let previous = rate(
        &b,
        std::slice::from_ref(&a),
        std::slice::from_ref(&hazard),
        None,
        day(2026, 3, 1),
    );
    assert_eq!(
        previous.stars,
        Some(stars(1)),
        "A's scores earn 1★: lowered"
    );
    hazard.status = EventStatus::Rectified;
    Climb {
        b,
        a,
        hazard,
        previous,
        catalog: c,
    }
}

#[test]
fn upgrade_is_one_step_per_verified_re_inspection() {
    let Climb {
        mut b,
        a,
        hazard,
        previous,
        catalog: c,
    } = climb();
    // The archive says 2★ (an officer restored it); a re-inspection on 03-10 passes everything.
    let r1 = inspection(&b, morning(day(2026, 3, 10)), &all_pass(&c), &c);
    let ins = vec![a.clone(), r1.clone()];
    let evs = vec![hazard.clone()];
    let r = rate(&b, &ins, &evs, Some(&previous), day(2026, 3, 10));
    assert_eq!(r.score_stars, Some(stars(5)));
    assert_eq!(r.stars, Some(stars(3)), "one step: 2★ → 3★, not 5★");
    assert_eq!(
        messages(&r, &RuleId::Upgrade),
        [format!(
            "raised 2★ → 3★ (升星挂牌): re-inspection {} on 2026-03-10 meets the 5★ standard; \
             one step per verified re-inspection",
            r1.id
        )]
    );

    // Re-running the rules on the same records does not climb again.
    b.stars = r.stars;
    let again = rate(&b, &ins, &evs, Some(&r), day(2026, 3, 11));
    assert_eq!(again.stars, Some(stars(3)));
    let held = messages(&again, &RuleId::UpgradeHeld);
    assert_eq!(held.len(), 1);
    assert!(
        held[0]
            .starts_with("stays 3★ although 5★ is allowed: no re-inspection since the last rating")
            && held[0].contains(&r1.id.to_string()),
        "{held:?}"
    );

    // The next verified re-inspection earns the next step.
    let r2 = inspection(&b, morning(day(2026, 3, 17)), &all_pass(&c), &c);
    let ins = vec![a, r1, r2];
    let next = rate(&b, &ins, &evs, Some(&again), day(2026, 3, 17));
    assert_eq!(next.stars, Some(stars(4)));
}

#[test]
fn no_upgrade_without_a_re_inspection_after_the_rectification() {
    let Climb {
        b,
        a,
        mut hazard,
        previous: _,
        catalog: c,
    } = climb();
    // The only full-pass inspection started before the hazard was reported (it found it).
    let mut found = inspection(&b, a.started_at, &all_pass(&c), &c);
    found.finished_at = a.finished_at;
    hazard.reported_at = found.started_at + Duration::minutes(5);
    let r = rate(
        &b,
        &[found.clone()],
        &[hazard.clone()],
        None,
        day(2026, 3, 12),
    );
    assert_eq!(r.score_stars, Some(stars(5)));
    assert_eq!(r.stars, Some(stars(2)), "held at the archive's 2★");
    let held = messages(&r, &RuleId::UpgradeHeld);
    assert!(
        held[0].contains(&format!(
            "inspection {} started 2026-03-01 02:00 UTC before hazard {} was reported 2026-03-01 02:05 UTC",
            found.id, hazard.id
        )),
        "{held:?}"
    );
    assert!(matches!(
        r.rules_fired.iter().find(|f| f.rule == RuleId::UpgradeHeld).map(|f| f.effect),
        Some(Effect::Held { at, earned }) if at == stars(2) && earned == stars(5)
    ));
}

#[test]
fn no_upgrade_while_a_hazard_is_open() {
    let Climb {
        b,
        a,
        mut hazard,
        previous,
        catalog: c,
    } = climb();
    hazard.status = EventStatus::Noticed; // deadline 03-08, today 03-05: open, not yet overdue
    let r1 = inspection(&b, morning(day(2026, 3, 5)), &all_pass(&c), &c);
    let r = rate(
        &b,
        &[a, r1],
        &[hazard.clone()],
        Some(&previous),
        day(2026, 3, 5),
    );
    assert_eq!(r.stars, Some(stars(2)));
    assert!(
        messages(&r, &RuleId::UpgradeHeld)[0]
            .contains(&format!("hazard {} is still open (noticed)", hazard.id))
    );
}

#[test]
fn no_upgrade_from_an_off_site_re_inspection() {
    let Climb {
        b,
        a,
        hazard,
        previous,
        catalog: c,
    } = climb();
    let mut r1 = inspection(&b, morning(day(2026, 3, 10)), &all_pass(&c), &c);
    r1.fix.point = GeoPoint {
        lat: b.location.lat + 0.002, // ~222 m north
        lon: b.location.lon,
    };
    let r = rate(&b, &[a, r1], &[hazard], Some(&previous), day(2026, 3, 10));
    assert_eq!(r.stars, Some(stars(2)));
    let held = messages(&r, &RuleId::UpgradeHeld);
    assert!(
        held[0].contains("was off site: 222.4 m from the building"),
        "{held:?}"
    );
}

#[test]
fn archive_scores_never_verify_an_upgrade() {
    let mut b = building(1, Some(2));
    b.scores = Some(CategoryScores::new(100.0, 100.0, 100.0, 100.0).expect("valid"));
    let r = rate(&b, &[], &[], None, day(2026, 3, 10));
    assert_eq!(r.basis, RatingBasis::Archive);
    assert!(r.fired(&RuleId::ScoreFromArchive));
    assert_eq!(r.stars, Some(stars(2)));
    assert!(messages(&r, &RuleId::UpgradeHeld)[0].contains("from the archive"));
}

#[test]
fn nothing_to_rate_keeps_the_archive_stars_under_the_caps() {
    let b = building(1, None);
    let r = rate(&b, &[], &[], None, day(2026, 3, 10));
    assert_eq!(r.stars, None);
    assert_eq!(r.basis, RatingBasis::None);
    assert!(r.fired(&RuleId::ScoreNoBasis));

    let mut b = building(1, Some(4));
    b.blacklisted = true;
    let r = rate(&b, &[], &[], None, day(2026, 3, 10));
    assert_eq!(r.stars, Some(stars(1)));
}

#[test]
fn a_corrected_inspection_is_replaced_by_its_correction() {
    let c = catalog();
    let b = building(1, None);
    let original = inspection(&b, morning(day(2026, 3, 2)), &all_pass(&c), &c);
    let fails: Vec<_> = c.checklist.iter().map(|i| (i.id.as_str(), Fail)).collect();
    let mut correction = inspection(&b, morning(day(2026, 3, 2)), &fails, &c);
    correction.finished_at = original.finished_at - Duration::minutes(1);
    correction.corrects = Some(original.id);
    let r = rate(
        &b,
        &[original, correction.clone()],
        &[],
        None,
        day(2026, 3, 3),
    );
    assert!(matches!(r.basis, RatingBasis::Inspection { id, .. } if id == correction.id));
    assert_eq!(r.stars, Some(stars(1)));
}

// ---- explanation and batch ------------------------------------------------------------

#[test]
fn rating_round_trips_as_json_with_stable_rule_ids() {
    let (b, ins, _) = good_building(day(2026, 10, 20));
    let h = hazard(
        &b,
        morning(day(2026, 10, 20)),
        Some(day(2026, 11, 1)),
        EventStatus::Noticed,
    );
    let r = rate(&b, &ins, &[h], None, day(2026, 11, 3));
    let json = serde_json::to_value(&r).expect("serializes");
    let ids: Vec<&str> = json["rules_fired"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["score.stars", "cap.overdue_hazard", "change.downgrade"]
    );
    assert_eq!(json["rules_fired"][1]["effect"]["type"], "cap");
    assert_eq!(json["rules_fired"][1]["effect"]["max"], 2);
    assert_eq!(json["stars"], 2);
    assert_eq!(json["policy_version"], 1);
    assert_eq!(json["basis"]["source"], "inspection");
    let back: Rating = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, r);

    // A rule id from a newer server survives a round trip.
    let other: RuleId = serde_json::from_str("\"cap.future_rule\"").expect("parses");
    assert_eq!(other, RuleId::Other("cap.future_rule".into()));
    assert_eq!(
        serde_json::to_string(&other).expect("ser"),
        "\"cap.future_rule\""
    );
}

#[test]
fn rate_many_matches_rate_building() {
    let c = catalog();
    let p = Policy::default_policy().expect("policy");
    let today = day(2026, 6, 2);
    let mut buildings = Vec::new();
    let mut ins = Vec::new();
    let mut evs = Vec::new();
    for n in 0..12u32 {
        let mut b = building(n, Some((n % 5 + 1) as u8));
        b.blacklisted = n == 7;
        let results: Vec<_> = c
            .checklist
            .iter()
            .enumerate()
            .map(|(k, i)| {
                (
                    i.id.as_str(),
                    if (k as u32 + n) % 4 == 0 { Fail } else { Pass },
                )
            })
            .collect();
        ins.push(inspection(&b, morning(day(2026, 5, 1 + n)), &results, &c));
        if n % 3 == 0 {
            evs.push(hazard(
                &b,
                morning(day(2026, 5, 1)),
                Some(day(2026, 5, 20)),
                EventStatus::Noticed,
            ));
        }
        buildings.push(b);
    }
    let many = rate_many(&buildings, &ins, &evs, &HashMap::new(), &c, &p, today);
    assert_eq!(many.len(), 12);
    for (b, r) in buildings.iter().zip(&many) {
        assert_eq!(r, &rate_building(b, &ins, &evs, None, &c, &p, today));
    }
    assert_eq!(many[7].stars, Some(stars(1)));
    assert!(many[3].fired(&RuleId::CapOverdueHazard));
}
