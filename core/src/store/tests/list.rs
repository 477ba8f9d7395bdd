//! The officer's building list: scopes, filters, risk order, keyset paging, and the query plan.

use crate::domain::{Building, CommunityId, GridId, Stars, StreetId};
use crate::store::list::list_query;
use crate::store::tests::fixtures::*;
use crate::store::{Archive, BuildingFilter, Page, Scope, StoreError};

fn b(
    n: u32,
    grid_ix: usize,
    stars: Option<u8>,
    due: Option<&str>,
    hazards: u32,
    bl: bool,
) -> Building {
    let grids = district_grids();
    Building {
        stars: stars.map(|s| Stars::new(s).expect("stars")),
        next_due_on: due.map(day),
        open_hazards: hazards,
        blacklisted: bl,
        ..building(n, &grids[grid_ix])
    }
}

/// Twelve buildings in four grids; see the expected orders in the tests.
fn district() -> Fixture {
    let f = Fixture::new();
    f.archive.upsert_grids(&district_grids()).expect("grids");
    f.archive
        .upsert_buildings(&[
            b(1, 0, Some(3), Some("2025-03-10"), 0, false),
            b(2, 0, Some(1), Some("2025-02-01"), 2, true),
            b(3, 0, None, None, 0, false),
            b(4, 0, Some(1), Some("2025-02-01"), 5, false),
            b(5, 1, Some(2), Some("2025-02-15"), 0, false),
            b(6, 1, Some(5), Some("2025-06-01"), 0, false),
            b(7, 1, Some(1), None, 0, false),
            b(8, 2, None, Some("2025-01-01"), 1, true),
            b(9, 2, Some(4), Some("2025-02-28"), 0, false),
            b(10, 3, Some(2), Some("2025-02-15"), 0, false),
            b(11, 3, Some(1), Some("2025-02-01"), 2, false),
            b(12, 3, Some(3), Some("2025-03-01"), 1, true),
        ])
        .expect("buildings");
    f
}

/// All matching codes, walking every page.
fn walk(archive: &Archive, filter: &BuildingFilter, limit: u32) -> Vec<u32> {
    let mut page = Page::first(limit);
    let mut out = Vec::new();
    loop {
        let (rows, next) = archive.building_list(filter, &page).expect("page");
        assert!(rows.len() <= limit as usize);
        out.extend(
            rows.iter()
                .map(|r| r.code.as_str()[14..].parse::<u32>().expect("n")),
        );
        match next {
            Some(n) => {
                assert_eq!(rows.len(), limit as usize, "only the last page is short");
                page = n;
            }
            None => return out,
        }
    }
}

fn all(scope: Scope) -> BuildingFilter {
    BuildingFilter::all_in(scope)
}

#[test]
fn store_list_orders_by_risk_unrated_first() {
    let f = district();
    assert_eq!(
        walk(&f.archive, &all(Scope::District), 50),
        vec![3, 8, 7, 4, 2, 11, 5, 10, 12, 1, 9, 6]
    );
    let (rows, next) = f
        .archive
        .building_list(&all(Scope::Grid(GridId::from("G1"))), &Page::first(10))
        .expect("page");
    assert_eq!(next, None);
    let first = &rows[0];
    assert_eq!(first.code, code(3));
    assert_eq!(first.stars, None);
    assert_eq!(rows[1].stars, Some(Stars::new(1).expect("1")));
    assert_eq!(rows[1].open_hazards, 5);
    assert_eq!(rows[2].next_due_on, Some(day("2025-02-01")));
    assert!(rows[2].blacklisted);
}

#[test]
fn store_list_filters_by_scope() {
    let f = district();
    assert_eq!(
        walk(&f.archive, &all(Scope::Grid(GridId::from("G1"))), 50),
        vec![3, 4, 2, 1]
    );
    assert_eq!(
        walk(
            &f.archive,
            &all(Scope::Community(CommunityId::from("C1"))),
            50
        ),
        vec![3, 7, 4, 2, 5, 1, 6]
    );
    assert_eq!(
        walk(&f.archive, &all(Scope::Street(StreetId::from("S2"))), 50),
        vec![11, 10, 12]
    );
    assert_eq!(
        walk(&f.archive, &all(Scope::Street(StreetId::from("S1"))), 50),
        vec![3, 8, 7, 4, 2, 5, 1, 9, 6]
    );
    assert!(walk(&f.archive, &all(Scope::Grid(GridId::from("G9"))), 50).is_empty());
}

#[test]
fn store_list_filters_by_stars_due_hazards_and_blacklist() {
    let f = district();
    let d = all(Scope::District);
    let low_rated = BuildingFilter {
        max_stars: Some(2),
        include_unrated: false,
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &low_rated, 50), vec![7, 4, 2, 11, 5, 10]);
    let one_star_or_unrated = BuildingFilter {
        max_stars: Some(1),
        ..d.clone()
    };
    assert_eq!(
        walk(&f.archive, &one_star_or_unrated, 50),
        vec![3, 8, 7, 4, 2, 11]
    );
    let only_unrated = BuildingFilter {
        max_stars: Some(0),
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &only_unrated, 50), vec![3, 8]);
    let nothing = BuildingFilter {
        max_stars: Some(0),
        include_unrated: false,
        ..d.clone()
    };
    assert!(walk(&f.archive, &nothing, 50).is_empty());
    let rated = BuildingFilter {
        include_unrated: false,
        ..d.clone()
    };
    assert_eq!(
        walk(&f.archive, &rated, 50),
        vec![7, 4, 2, 11, 5, 10, 12, 1, 9, 6]
    );

    let overdue = BuildingFilter {
        overdue_on: Some(day("2025-03-01")),
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &overdue, 50), vec![8, 4, 2, 11, 5, 10, 9]);
    let hazards = BuildingFilter {
        with_open_hazards: true,
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &hazards, 50), vec![8, 4, 2, 11, 12]);
    let blacklisted = BuildingFilter {
        blacklisted_only: true,
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &blacklisted, 50), vec![8, 2, 12]);
    let blacklisted_s1 = BuildingFilter {
        scope: Scope::Street(StreetId::from("S1")),
        blacklisted_only: true,
        ..d.clone()
    };
    assert_eq!(walk(&f.archive, &blacklisted_s1, 50), vec![8, 2]);
    let combined = BuildingFilter {
        scope: Scope::Grid(GridId::from("G4")),
        max_stars: Some(3),
        include_unrated: false,
        overdue_on: Some(day("2025-03-02")),
        with_open_hazards: true,
        blacklisted_only: false,
    };
    assert_eq!(walk(&f.archive, &combined, 50), vec![11, 12]);
}

#[test]
fn store_list_pages_by_keyset_without_gaps_or_repeats() {
    let f = district();
    let d = all(Scope::District);
    let (p1, next) = f
        .archive
        .building_list(&d, &Page::first(5))
        .expect("page 1");
    let next = next.expect("more");
    assert_eq!(next.limit, 5);
    let (p2, next) = f.archive.building_list(&d, &next).expect("page 2");
    let (p3, next3) = f
        .archive
        .building_list(&d, &next.expect("more"))
        .expect("page 3");
    let codes =
        |v: &[crate::store::BuildingSummary]| v.iter().map(|s| s.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(&p1), [3, 8, 7, 4, 2].map(code));
    assert_eq!(codes(&p2), [11, 5, 10, 12, 1].map(code));
    assert_eq!(codes(&p3), [9, 6].map(code));
    assert_eq!(next3, None);
    // An exact multiple ends without an empty extra page.
    let (rows, next) = f
        .archive
        .building_list(&all(Scope::Grid(GridId::from("G1"))), &Page::first(4))
        .expect("page");
    assert_eq!((rows.len(), next), (4, None));
    for limit in 1..=13 {
        assert_eq!(
            walk(&f.archive, &d, limit),
            vec![3, 8, 7, 4, 2, 11, 5, 10, 12, 1, 9, 6],
            "limit {limit}"
        );
        let rated = BuildingFilter {
            include_unrated: false,
            max_stars: Some(3),
            ..d.clone()
        };
        assert_eq!(
            walk(&f.archive, &rated, limit),
            vec![7, 4, 2, 11, 5, 10, 12, 1],
            "limit {limit}"
        );
    }
    // A building that changes between pages moves, but the pages still do not repeat it.
    let (first, next) = f.archive.building_list(&d, &Page::first(3)).expect("page");
    assert_eq!(codes(&first), [3, 8, 7].map(code));
    let mut moved = b(3, 0, Some(5), Some("2026-01-01"), 0, false);
    moved.address = "moved".into();
    f.archive.upsert_buildings(&[moved]).expect("rerated");
    let (second, _) = f
        .archive
        .building_list(&d, &next.expect("more"))
        .expect("page");
    assert_eq!(codes(&second), [4, 2, 11].map(code));
}

#[test]
fn store_list_refuses_bad_page_limits() {
    let f = district();
    for limit in [0, Page::MAX_LIMIT + 1] {
        let err = f
            .archive
            .building_list(&all(Scope::District), &Page::first(limit))
            .expect_err("bad limit");
        assert!(
            matches!(err, StoreError::BadPageLimit { got, .. } if got == limit),
            "{err:?}"
        );
    }
}

#[test]
fn store_list_filter_types_round_trip_as_json() {
    let filter = BuildingFilter {
        scope: Scope::Community(CommunityId::from("C1")),
        max_stars: Some(2),
        include_unrated: false,
        overdue_on: Some(day("2025-03-01")),
        with_open_hazards: true,
        blacklisted_only: false,
    };
    let json = serde_json::to_string(&filter).expect("json");
    assert!(
        json.contains(r#""scope":{"level":"community","id":"C1"}"#),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<BuildingFilter>(&json).expect("back"),
        filter
    );
    let district: Scope = serde_json::from_str(r#"{"level":"district"}"#).expect("district");
    assert_eq!(district, Scope::District);
}

/// Every filter shape is an index range scan in risk order: no full scan, no sort.
#[test]
fn store_list_query_plans_use_the_risk_indexes() {
    let f = district();
    let scopes = [
        (Scope::Grid(GridId::from("G1")), "buildings_grid_risk"),
        (
            Scope::Community(CommunityId::from("C1")),
            "buildings_community_risk",
        ),
        (Scope::Street(StreetId::from("S1")), "buildings_street_risk"),
        (Scope::District, "buildings_risk"),
    ];
    for (scope, index) in scopes {
        for variant in 0..4 {
            let mut filter = all(scope.clone());
            match variant {
                1 => {
                    filter.max_stars = Some(2);
                    filter.include_unrated = false;
                }
                2 => {
                    filter.overdue_on = Some(day("2025-03-01"));
                    filter.with_open_hazards = true;
                }
                3 => filter.blacklisted_only = true,
                _ => {}
            }
            let expected = if variant == 3 && !matches!(scope, Scope::Grid(_)) {
                "buildings_blacklisted_risk"
            } else {
                index
            };
            let page = Page {
                limit: 50,
                after: Some("1|2025-01-01|4294967295|4403060010010000000000001".into()),
            };
            let (sql, params) = list_query(&filter, &page, true);
            let plan: Vec<String> = f
                .archive
                .read(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
                        r.get::<_, String>(3)
                    })?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .expect("plan");
            let text = plan.join(" / ");
            assert!(
                text.contains(&format!("USING INDEX {expected} (")),
                "{filter:?}: {text}"
            );
            assert!(!text.contains("TEMP B-TREE"), "{filter:?} sorts: {text}");
        }
    }
}

/// A few thousand buildings: walking the district list page by page visits each exactly once, in
/// non-decreasing risk order.
#[test]
fn store_list_sanity_on_thousands_of_buildings() {
    let f = Fixture::new();
    let grids: Vec<_> = (0..40)
        .map(|g| {
            grid(
                &format!("G{g:03}"),
                &format!("C{}", g % 7),
                &format!("S{}", g % 3),
            )
        })
        .collect();
    f.archive.upsert_grids(&grids).expect("grids");
    let buildings: Vec<Building> = (0..4000u32)
        .map(|n| {
            let stars = match n % 6 {
                0 => None,
                s => Some(Stars::new(s as u8).expect("1..5")),
            };
            Building {
                stars,
                next_due_on: (n % 11 != 0)
                    .then(|| day("2025-01-01") + chrono::Duration::days(i64::from(n * 7 % 90))),
                open_hazards: n % 4,
                blacklisted: n % 50 == 0,
                ..building(n, &grids[(n * 13 % 40) as usize])
            }
        })
        .collect();
    f.archive.upsert_buildings(&buildings).expect("load");
    assert_eq!(f.archive.building_count().expect("count"), 4000);

    let risk = |b: &Building| {
        (
            b.stars.map_or(0, Stars::get),
            b.next_due_on,
            std::cmp::Reverse(b.open_hazards),
            b.code.clone(),
        )
    };
    let mut expected = buildings.clone();
    expected.sort_by_key(risk);
    let expected: Vec<u32> = expected
        .iter()
        .map(|b| b.code.as_str()[14..].parse().expect("n"))
        .collect();
    assert_eq!(walk(&f.archive, &all(Scope::District), 50), expected);

    // Filters read from the key agree with the columns.
    let cutoff = day("2025-02-10");
    let overdue_with_hazards: Vec<u32> = expected
        .iter()
        .copied()
        .filter(|n| {
            let b = &buildings[*n as usize];
            b.open_hazards > 0 && b.next_due_on.is_some_and(|d| d < cutoff)
        })
        .collect();
    assert!(
        overdue_with_hazards.len() > 100,
        "the fixture exercises the filter"
    );
    let filter = BuildingFilter {
        overdue_on: Some(cutoff),
        with_open_hazards: true,
        ..all(Scope::District)
    };
    assert_eq!(walk(&f.archive, &filter, 50), overdue_with_hazards);

    let in_c3: Vec<u32> = expected
        .iter()
        .copied()
        .filter(|n| (n * 13 % 40) % 7 == 3)
        .collect();
    assert_eq!(
        walk(
            &f.archive,
            &all(Scope::Community(CommunityId::from("C3"))),
            37
        ),
        in_c3
    );
}
