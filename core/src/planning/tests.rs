use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::route::{DistanceMatrix, improve, nearest_neighbour, or_opt, two_opt};
use super::*;
use crate::domain::{Building, EventStatus, GeoPoint, GridId};
use crate::testkit::*;

/// A point `east_m` metres east and `north_m` metres north of the test site.
fn offset(east_m: f64, north_m: f64) -> GeoPoint {
    let m_per_deg_lat = 111_195.0;
    let m_per_deg_lon = m_per_deg_lat * SITE.lat.to_radians().cos();
    GeoPoint {
        lat: SITE.lat + north_m / m_per_deg_lat,
        lon: SITE.lon + east_m / m_per_deg_lon,
    }
}

/// Building `n` with `stars`, last visited on `last_visit` (10:00 local).
fn visited(n: u32, stars: Option<u8>, last_visit: chrono::NaiveDate) -> Building {
    let mut b = building(n, stars);
    b.last_inspected_at = Some(morning(last_visit));
    b
}

// ---- next due -----------------------------------------------------------------------------

#[test]
fn interval_follows_the_stars() {
    let p = policy();
    let last = day(2026, 3, 1);
    let today = day(2026, 3, 2);
    let expect = [
        (Some(1), day(2026, 3, 8)),
        (Some(2), day(2026, 3, 15)),
        (Some(3), day(2026, 3, 31)),
        (Some(4), day(2026, 4, 30)),
        (Some(5), day(2026, 5, 30)),
        (None, day(2026, 3, 8)),
    ];
    for (stars, on) in expect {
        let b = visited(1, stars, last);
        assert_eq!(next_due(&b, &[], &p, today), on, "stars {stars:?}");
        let d = due(&b, &[], &p, today);
        assert!(matches!(d.reason, DueReason::Regular { last_visit, .. } if last_visit == last));
    }
}

#[test]
fn the_last_visit_day_is_the_local_day() {
    let p = policy();
    let mut b = building(1, Some(1));
    // 23:30 UTC on 1 March is 07:30 on 2 March in Shenzhen: due 7 days after 2 March.
    b.last_inspected_at = Some(at(day(2026, 3, 1), 23, 30));
    assert_eq!(next_due(&b, &[], &p, day(2026, 3, 2)), day(2026, 3, 9));
}

#[test]
fn never_inspected_buildings_are_due_at_their_first_visit_date() {
    let p = policy();
    let today = day(2026, 3, 10);
    let mut b = building(1, None);
    assert_eq!(next_due(&b, &[], &p, today), today, "no date: due now");
    b.next_due_on = Some(first_due(day(2026, 3, 5), &p));
    assert_eq!(b.next_due_on, Some(day(2026, 3, 12)));
    let d = due(&b, &[], &p, today);
    assert_eq!(d.on, day(2026, 3, 12));
    assert_eq!(d.reason, DueReason::FirstVisit);
}

#[test]
fn a_notice_deadline_brings_the_visit_forward() {
    let p = policy();
    let b = visited(1, Some(5), day(2026, 3, 1));
    let h = hazard(
        &b,
        morning(day(2026, 3, 1)),
        Some(day(2026, 3, 5)),
        EventStatus::Noticed,
    );
    let d = due(&b, std::slice::from_ref(&h), &p, day(2026, 3, 2));
    assert_eq!(d.on, day(2026, 3, 5));
    assert_eq!(
        d.reason,
        DueReason::FollowUp {
            event: h.id,
            deadline: day(2026, 3, 5)
        }
    );

    // Rectified: back to the 5★ interval.
    let mut done = h.clone();
    done.status = EventStatus::Rectified;
    assert_eq!(next_due(&b, &[done], &p, day(2026, 3, 2)), day(2026, 5, 30));

    // Another building's hazard is not this building's business.
    let other = hazard(
        &building(2, None),
        morning(day(2026, 3, 1)),
        Some(day(2026, 3, 3)),
        EventStatus::Noticed,
    );
    assert_eq!(
        next_due(&b, &[other], &p, day(2026, 3, 2)),
        day(2026, 5, 30)
    );

    // Visited on 03-06, after the deadline, still open: look again 7 days later.
    let b = visited(1, Some(5), day(2026, 3, 6));
    let d = due(&b, std::slice::from_ref(&h), &p, day(2026, 3, 7));
    assert_eq!(d.on, day(2026, 3, 13));
    assert!(matches!(d.reason, DueReason::Recheck { event, .. } if event == h.id));
}

// ---- priority -----------------------------------------------------------------------------

#[test]
fn one_star_three_days_overdue_outranks_five_stars_three_days_overdue() {
    let p = policy();
    let today = day(2026, 6, 10);
    // Due 2026-06-07 for both: 1★ visited 05-31 (+7), 5★ visited 03-09 (+90).
    let low = visited(1, Some(1), day(2026, 5, 31));
    let high = visited(2, Some(5), day(2026, 3, 9));
    assert_eq!(next_due(&low, &[], &p, today), day(2026, 6, 7));
    assert_eq!(next_due(&high, &[], &p, today), day(2026, 6, 7));

    let list = due_list(&[high.clone(), low.clone()], &[], &p, today);
    let codes: Vec<_> = list.iter().map(|d| d.code.clone()).collect();
    assert_eq!(codes, [low.code.clone(), high.code.clone()]);
    assert_eq!(list[0].days_overdue, 3);
    assert_eq!(list[1].days_overdue, 3);
    // 10 × 3/7 + 4 × 4/4 = 8.2857…; 10 × 3/90 + 0 = 0.333…
    assert!((list[0].priority.total - (30.0 / 7.0 + 4.0)).abs() < 1e-12);
    assert!((list[1].priority.total - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(list[1].priority.stars, 0.0);
}

#[test]
fn priority_parts_follow_the_formula() {
    let p = policy();
    let s = crate::domain::Stars::new(3).ok();
    // 3★ (30 days), 45 days overdue → 1.5 intervals → 15; stars 4 × 2/4 = 2;
    // 7 open hazards capped at 5 → 10; 2 recent events → 2; follow-up → 3.
    let pr = priority(s, 45, 7, 2, true, &p);
    assert_eq!(pr.overdue, 15.0);
    assert_eq!(pr.stars, 2.0);
    assert_eq!(pr.open_hazards, 10.0);
    assert_eq!(pr.recent_events, 2.0);
    assert_eq!(pr.follow_up, 3.0);
    assert_eq!(pr.total, 32.0);
    // Overdue counts at most 3 intervals.
    assert_eq!(priority(s, 300, 0, 0, false, &p).overdue, 30.0);
    // Unrated counts as 1★.
    assert_eq!(priority(None, 0, 0, 0, false, &p).stars, 4.0);
}

#[test]
fn due_list_counts_open_hazards_and_recent_events() {
    let p = policy();
    let today = day(2026, 6, 10);
    let b = visited(1, Some(3), day(2026, 5, 1)); // due 05-31, 10 days overdue
    let open = hazard(&b, morning(day(2026, 5, 1)), None, EventStatus::Reported);
    let fixed = hazard(&b, morning(day(2026, 6, 1)), None, EventStatus::Rectified);
    let old = hazard(&b, morning(day(2026, 1, 1)), None, EventStatus::Closed);
    let not_due = visited(2, Some(5), day(2026, 6, 1));
    let list = due_list(&[b.clone(), not_due], &[open, fixed, old], &p, today);
    assert_eq!(list.len(), 1, "the 5★ building is not due until 08-30");
    let d = &list[0];
    assert_eq!(d.days_overdue, 10);
    assert_eq!(d.open_hazards, 1);
    assert_eq!(
        d.recent_events, 1,
        "only the 06-01 report is within 30 days"
    );
    // 10 × 10/30 + 4 × 2/4 + 2 × 1 + 1 × 1 = 3.333… + 2 + 2 + 1
    assert!((d.priority.total - (10.0 / 3.0 + 5.0)).abs() < 1e-12);
    assert_eq!(d.priority.follow_up, 0.0, "the open hazard has no deadline");

    // A passed deadline adds the follow-up weight even though the regular visit is what is due.
    let late = hazard(
        &b,
        morning(day(2026, 5, 1)),
        Some(day(2026, 5, 8)),
        EventStatus::Overdue,
    );
    // 1★ visited on the deadline day: regular visit and recheck both fall on 05-15; regular wins.
    let b2 = visited(1, Some(1), day(2026, 5, 8));
    let d = &due_list(&[b2], &[late], &p, today)[0];
    assert!(
        matches!(d.due.reason, DueReason::Regular { .. }),
        "{:?}",
        d.due
    );
    assert_eq!(d.priority.follow_up, 3.0);
}

// ---- walking order ------------------------------------------------------------------------

#[test]
fn two_opt_uncrosses_a_crafted_bad_order() {
    // Start at the corner of a 100 m square, stops at the other three corners, visited diagonally.
    let start = offset(0.0, 0.0);
    let stops = [offset(0.0, 100.0), offset(100.0, 100.0), offset(100.0, 0.0)];
    let m = DistanceMatrix::new(start, &stops);
    let mut order = vec![1, 0, 2]; // start → (100,100) → (0,100) → (100,0): two diagonals
    let bad = m.path_length(&order);
    assert!((bad - (141.42 + 100.0 + 141.42)).abs() < 1.0, "{bad}");
    assert!(two_opt(&m, &mut order));
    assert_eq!(order, [0, 1, 2], "around the square");
    let good = m.path_length(&order);
    assert!((good - 300.0).abs() < 1.0, "{good}");

    // A zigzag along a street: +100, −200, +300, −400 m; 2-opt finds the 1000 m path.
    let stops = [
        offset(100.0, 0.0),
        offset(-200.0, 0.0),
        offset(300.0, 0.0),
        offset(-400.0, 0.0),
    ];
    let m = DistanceMatrix::new(start, &stops);
    let mut order = vec![0, 1, 2, 3];
    assert!((m.path_length(&order) - 1600.0).abs() < 1.0);
    while two_opt(&m, &mut order) {}
    assert!((m.path_length(&order) - 1000.0).abs() < 1.0, "{order:?}");
}

#[test]
fn or_opt_fixes_the_straggler_nearest_neighbour_leaves() {
    // Nearest neighbour walks east first and leaves the stop 110 m west for last.
    let start = offset(0.0, 0.0);
    let stops = [
        offset(-110.0, 0.0),
        offset(100.0, 0.0),
        offset(200.0, 0.0),
        offset(300.0, 0.0),
    ];
    let m = DistanceMatrix::new(start, &stops);
    let mut order = nearest_neighbour(&m);
    assert_eq!(order, [1, 2, 3, 0]);
    assert!((m.path_length(&order) - 710.0).abs() < 1.0);
    assert!(or_opt(&m, &mut order));
    assert_eq!(order, [0, 1, 2, 3]);
    assert!((m.path_length(&order) - 520.0).abs() < 1.0);
}

#[test]
fn route_is_never_longer_than_the_priority_order_on_random_grids() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6772_6964);
    let mut improved = 0;
    for _ in 0..300 {
        let n = rng.random_range(0..=60usize);
        let side = rng.random_range(100.0..1500.0);
        let stops: Vec<GeoPoint> = (0..n)
            .map(|_| offset(rng.random_range(0.0..side), rng.random_range(0.0..side)))
            .collect();
        let start = offset(rng.random_range(0.0..side), rng.random_range(0.0..side));
        let r = walking_order(start, &stops);

        let mut sorted = r.order.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..n).collect::<Vec<_>>(),
            "a permutation of the stops"
        );
        assert!(
            r.length_m <= r.priority_order_m,
            "{} > {}",
            r.length_m,
            r.priority_order_m
        );

        // The figures are the real walks, recomputed independently.
        let walk = |order: &mut dyn Iterator<Item = usize>| {
            let mut at = start;
            let mut total = 0.0;
            for k in order {
                total += at.distance_m(&stops[k]);
                at = stops[k];
            }
            total
        };
        assert!((walk(&mut r.order.iter().copied()) - r.length_m).abs() < 1e-6);
        assert!((walk(&mut (0..n)) - r.priority_order_m).abs() < 1e-6);
        if n >= 5 && r.length_m < r.priority_order_m {
            improved += 1;
            assert_ne!(r.method, RouteMethod::PriorityOrder);
        }
    }
    assert!(
        improved > 200,
        "random orders are almost always improved: {improved}"
    );
}

#[test]
fn improvement_never_lengthens_and_reaches_a_local_optimum() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let stops: Vec<GeoPoint> = (0..60)
        .map(|_| offset(rng.random_range(0.0..600.0), rng.random_range(0.0..600.0)))
        .collect();
    let m = DistanceMatrix::new(offset(300.0, 300.0), &stops);
    let mut order = nearest_neighbour(&m);
    let before = m.path_length(&order);
    improve(&m, &mut order);
    let after = m.path_length(&order);
    assert!(after < before, "{after} vs {before}");
    let mut again = order.clone();
    assert!(
        !two_opt(&m, &mut again) && !or_opt(&m, &mut again),
        "local optimum"
    );
    assert_eq!(again, order);
}

#[test]
fn degenerate_routes() {
    let start = offset(0.0, 0.0);
    let r = walking_order(start, &[]);
    assert!(r.order.is_empty());
    assert_eq!(r.length_m, 0.0);
    let r = walking_order(start, &[offset(50.0, 0.0)]);
    assert_eq!(r.order, [0]);
    assert_eq!(r.method, RouteMethod::PriorityOrder);
    // Corrupt coordinates do not panic; the priority order is kept.
    let r = walking_order(
        start,
        &[
            GeoPoint {
                lat: f64::NAN,
                lon: 0.0,
            },
            offset(10.0, 0.0),
        ],
    );
    assert_eq!(r.order.len(), 2);
}

// ---- day plan -----------------------------------------------------------------------------

#[test]
fn day_plan_takes_the_most_urgent_of_the_grid_in_walking_order() {
    let mut p = policy();
    p.planning.max_stops_per_day = 5;
    let today = day(2026, 6, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(36);
    let mut buildings = Vec::new();
    for n in 0..36u32 {
        let mut b = building_at(
            n,
            Some((n % 5 + 1) as u8),
            offset(rng.random_range(0.0..500.0), rng.random_range(0.0..500.0)),
        );
        b.last_inspected_at = Some(morning(
            day(2026, 1, 1) + chrono::Duration::days(i64::from(n) * 4),
        ));
        buildings.push(b);
    }
    let mut elsewhere = building_at(99, Some(1), offset(10.0, 10.0));
    elsewhere.grid = GridId::from("G0002");
    buildings.push(elsewhere.clone());

    let grid = GridId::from("G0001");
    let start = offset(250.0, 250.0);
    let plan = plan_day(&grid, &buildings, &[], &p, today, start);
    let due = due_list(&buildings[..36], &[], &p, today);
    assert!(due.len() > 5);
    assert_eq!(plan.due_total, due.len());
    assert_eq!(plan.stops.len(), 5);
    let mut planned: Vec<_> = plan.stops.iter().map(|s| s.building.code.clone()).collect();
    let mut top: Vec<_> = due[..5].iter().map(|d| d.code.clone()).collect();
    planned.sort();
    top.sort();
    assert_eq!(planned, top, "the five most urgent");
    assert!(!planned.contains(&elsewhere.code));
    assert!(plan.walk_m <= plan.priority_order_m);
    let legs: f64 = plan.stops.iter().map(|s| s.leg_m).sum();
    assert!((legs - plan.walk_m).abs() < 1e-6);
    assert!(
        (plan.stops[0].leg_m - start.distance_m(&plan.stops[0].building.location)).abs() < 1e-9
    );
}
