//! (The sample district is generated as of 2025-07-01, so field records here come after it.)
//!
//! Stars recomputed on merge, the overdue sweep and the officer lists, on both engines: the rater
//! changes a building's stars from an accepted inspection and keeps the explanation; an overdue
//! hazard lowers the stars after the sweep, and sweeping again changes nothing; a sweep stopped
//! part-way and run again ends where one whole run does; lists match the core's criteria.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use gridwalk_core::protocol::{
    Change, DeviceId, ListKind, PushRecord, RecordOutcome, Scope, SyncRecord,
};
use gridwalk_core::rating::{RatingBasis, RuleId};
use gridwalk_core::store::risk::{ListCriteria, building_risk_key};
use gridwalk_core::{
    Building, BuildingCode, Catalog, ChecklistResult, Event, Inspection, ItemOutcome, Notice,
    NoticeRecipient, Stars,
};
use gridwalk_server::db::{AnyDb, Database, ListParams, PgDb, PullParams, PushCtx, SqliteDb};
use gridwalk_server::fixtures::{self, DistrictShape, code, community_id, grid_id, street_id};
use gridwalk_server::rater::{self, RateReport, Rules};
use gridwalk_server::sweep::{SweepOptions, sweep_overdue};
use gridwalk_server::sync::validate::{RecordLimits, check_batch};

conformance!(
    an_inspection_lowers_the_stars_and_the_pull_carries_the_explanation,
    an_overdue_hazard_downgrades_after_the_sweep_and_a_second_sweep_changes_nothing,
    lists_follow_the_core_criteria_in_risk_order_within_the_scope,
);

/// Tests that close and reopen a database: they get a way to open it (again).
macro_rules! reopening {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temp dir");
                super::$name(super::Place::Sqlite(dir.path().to_path_buf())).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::common::pg_url("probe").await.is_none() {
                    return;
                }
                super::$name(super::Place::Postgres).await;
            }
        }
    )*};
}

reopening!(a_sweep_stopped_part_way_finishes_on_the_next_run_like_one_run);

pub(crate) const W1: &str = "w-G0001";

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// 10:00 in Shenzhen on `d`.
pub(crate) fn morning(d: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).expect("time"))
}

pub(crate) fn rules() -> Arc<Rules> {
    Arc::new(Rules::shipped().expect("shipped rules"))
}

pub(crate) fn stars(n: u8) -> Option<Stars> {
    Some(Stars::new(n).expect("stars"))
}

fn worker_ctx(dev: &str) -> PushCtx {
    PushCtx {
        username: W1.to_owned(),
        scope: Scope::Grid(grid_id(1, 1, 1)),
        device: DeviceId::parse(dev).expect("device"),
        now: Utc::now(),
    }
}

async fn setup<D: Database>(db: &D, buildings: Vec<Building>) {
    db.migrate().await.expect("migrate");
    let (grids, _) = fixtures::district(DistrictShape::SMALL);
    db.upsert_grids(grids).await.expect("grids");
    db.import_buildings(buildings, false).await.expect("import");
}

fn small_district() -> Vec<Building> {
    fixtures::district(DistrictShape::SMALL).1
}

async fn push_all<D: Database>(db: &D, dev: &str, records: Vec<SyncRecord>) {
    let ctx = worker_ctx(dev);
    let catalog = Catalog::default_catalog().expect("catalog");
    let batch: Vec<PushRecord> = fixtures::batch(1, records);
    let checks = check_batch(&batch, W1, &catalog, &RecordLimits::default());
    let resp = db.push(ctx, batch, checks).await.expect("push");
    assert!(
        resp.results
            .iter()
            .all(|r| matches!(r.outcome, RecordOutcome::Accepted { conflict: false })),
        "{resp:?}"
    );
}

/// An inspection on `d` that fails every item of the catalog: every category scores 0.
pub(crate) fn failing_inspection(building: &BuildingCode, d: NaiveDate) -> Inspection {
    let catalog = Catalog::default_catalog().expect("catalog");
    let mut i = fixtures::inspection(building, W1, Vec::new());
    i.started_at = morning(d);
    i.finished_at = morning(d) + Duration::minutes(20);
    i.fix.taken_at = i.started_at;
    i.results = catalog
        .checklist
        .iter()
        .map(|item| ChecklistResult {
            item: item.id.clone(),
            category: item.category,
            outcome: ItemOutcome::Fail,
        })
        .collect();
    i
}

/// A hazard reported on `reported` with a notice to rectify by `deadline`.
fn hazard(building: &BuildingCode, reported: NaiveDate, deadline: NaiveDate) -> Event {
    let mut e = fixtures::hazard(building, W1);
    e.reported_at = morning(reported);
    e.fix.taken_at = e.reported_at;
    e.notice = Some(Notice {
        recipients: vec![NoticeRecipient::Owner],
        deadline,
    });
    e
}

/// Grid 1's first buildings with at least 3 stars (so a cap at 2★ shows).
pub(crate) fn well_rated(n: usize) -> Vec<Building> {
    let found: Vec<Building> = (1..=12)
        .map(|i| fixtures::building(i).clone())
        .filter(|b| b.stars.is_some_and(|s| s.get() >= 3) && !b.blacklisted)
        .take(n)
        .collect();
    assert_eq!(
        found.len(),
        n,
        "grid 1 of the sample has {n} buildings of 3★ or more"
    );
    found
}

async fn an_inspection_lowers_the_stars_and_the_pull_carries_the_explanation<D: Database>(db: D) {
    setup(&db, small_district()).await;
    let rules = rules();
    let b = well_rated(1).remove(0);
    let before = db.building(&b.code).await.expect("read").expect("held");
    let d = day(2025, 7, 3);
    let ins = failing_inspection(&b.code, d);
    push_all(&db, "phone-1", vec![SyncRecord::Inspection(ins.clone())]).await;
    assert_eq!(
        db.queued_ratings().await.expect("queue"),
        1,
        "queued by the push"
    );

    let r = rater::drain(&db, &rules, d, 10).await.expect("drain");
    assert_eq!(
        r,
        RateReport {
            taken: 1,
            rated: 1,
            changed: 1,
            history: 1
        }
    );
    assert_eq!(db.queued_ratings().await.expect("queue"), 0);
    let after = db.building(&b.code).await.expect("read").expect("held");
    assert!(after.seq > before.seq, "a fresh change sequence");
    let a = &after.building;
    assert_eq!(a.stars, stars(1), "every category failed: 1★ at once");
    assert_eq!(a.scores.map(|s| s.safety_livability), Some(0.0));
    assert_eq!(a.last_inspected_at, Some(ins.finished_at));
    // 1★ buildings are visited every 7 days (policy).
    assert_eq!(a.next_due_on, Some(day(2025, 7, 10)));
    assert_eq!(
        (a.address.as_str(), a.owner.clone()),
        (b.address.as_str(), b.owner.clone())
    );

    let history = db.rating_history(&b.code).await.expect("history");
    assert_eq!(history.len(), 1);
    let rating = &history[0].rating;
    assert_eq!((rating.previous_stars, rating.stars), (b.stars, stars(1)));
    assert!(rating.fired(&RuleId::Downgrade), "{rating:?}");
    assert!(rating.fired(&RuleId::ScoreStars));
    assert!(matches!(rating.basis, RatingBasis::Inspection { id, .. } if id == ins.id));
    assert_eq!(rating.rated_on, d);

    // The next pull delivers the building with the rating that explains it (and only it).
    let page = db
        .pull(PullParams {
            username: W1.into(),
            scope: Scope::Grid(grid_id(1, 1, 1)),
            after_seq: 0,
            limit: 100,
        })
        .await
        .expect("pull");
    let delivered: Vec<_> = page
        .changes
        .iter()
        .filter_map(|(_, c)| match c {
            Change::Building { building, rating } => Some((building, rating)),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 12);
    for (building, rating) in delivered {
        if building.code == b.code {
            assert_eq!(building.as_ref(), a);
            assert_eq!(rating.as_deref(), Some(&history[0]));
        } else {
            assert_eq!(*rating, None, "{} was never rated", building.code);
        }
    }

    // Nothing queued: nothing happens. A new open hazard without a deadline changes the file
    // (one more open hazard) but not the verdict: no new history row.
    assert_eq!(
        rater::drain(&db, &rules, d, 10).await.expect("drain"),
        RateReport::default()
    );
    let mut e = fixtures::hazard(&b.code, W1);
    e.reported_at = morning(d);
    push_all(&db, "phone-2", vec![SyncRecord::Event(e)]).await;
    let r = rater::drain(&db, &rules, d, 10).await.expect("drain");
    assert_eq!((r.rated, r.changed, r.history), (1, 1, 0));
    let again = db.building(&b.code).await.expect("read").expect("held");
    assert_eq!(again.building.open_hazards, 1);
    assert_eq!(again.building.stars, stars(1));
    assert_eq!(db.rating_history(&b.code).await.expect("history").len(), 1);
}

async fn an_overdue_hazard_downgrades_after_the_sweep_and_a_second_sweep_changes_nothing<
    D: Database,
>(
    db: D,
) {
    setup(&db, small_district()).await;
    let rules = rules();
    let [late, later]: [Building; 2] = well_rated(2).try_into().expect("two");
    let reported = day(2025, 7, 3);
    push_all(
        &db,
        "phone-1",
        vec![
            SyncRecord::Event(hazard(&late.code, reported, day(2025, 7, 10))),
            SyncRecord::Event(hazard(&later.code, reported, day(2025, 7, 20))),
        ],
    )
    .await;
    // Rated before the deadline: an open hazard, no cap yet.
    let r = rater::drain(&db, &rules, day(2025, 7, 5), 10)
        .await
        .expect("drain");
    assert_eq!((r.rated, r.history), (2, 2));
    let b = db.building(&late.code).await.expect("read").expect("held");
    assert_eq!((b.building.stars, b.building.open_hazards), (late.stars, 1));
    assert!(
        b.building.next_due_on <= Some(day(2025, 7, 10)),
        "follow-up by the deadline"
    );

    let opts = SweepOptions {
        batch: 10,
        rate_batch: 10,
        max_batches: None,
    };
    // The deadline day itself is still in time.
    let r = sweep_overdue(&db, &rules, day(2025, 7, 10), opts)
        .await
        .expect("sweep");
    assert_eq!((r.events_overdue, r.rating.taken), (0, 0));

    let r = sweep_overdue(&db, &rules, day(2025, 7, 11), opts)
        .await
        .expect("sweep");
    assert_eq!(r.events_overdue, 1);
    assert_eq!(
        (r.rating.rated, r.rating.changed, r.rating.history),
        (1, 1, 1)
    );
    assert!(!r.stopped);
    let swept = db.building(&late.code).await.expect("read").expect("held");
    assert_eq!(swept.building.stars, stars(2), "capped at 2★ (降星摘牌)");
    let history = db.rating_history(&late.code).await.expect("history");
    let last = &history.last().expect("rated").rating;
    assert!(last.fired(&RuleId::CapOverdueHazard) && last.fired(&RuleId::Downgrade));
    let cap = last
        .rules_fired
        .iter()
        .find(|f| f.rule == RuleId::CapOverdueHazard)
        .expect("cap");
    assert!(cap.message.contains("status overdue"), "{}", cap.message);
    let other = db.building(&later.code).await.expect("read").expect("held");
    assert_eq!(
        other.building.stars, later.stars,
        "its deadline has not passed"
    );

    // Again, the same day or later: nothing left to do, nothing changes.
    for d in [day(2025, 7, 11), day(2025, 7, 15)] {
        let r = sweep_overdue(&db, &rules, d, opts).await.expect("sweep");
        assert_eq!((r.events_overdue, r.rating.taken), (0, 0), "{d}");
        let b = db.building(&late.code).await.expect("read").expect("held");
        assert_eq!(b.seq, swept.seq, "no new change sequence");
        assert_eq!(b.building, swept.building);
        assert_eq!(
            db.rating_history(&late.code).await.expect("history"),
            history
        );
    }
    // The other hazard's turn comes the day after its deadline.
    let r = sweep_overdue(&db, &rules, day(2025, 7, 21), opts)
        .await
        .expect("sweep");
    assert_eq!((r.events_overdue, r.rating.changed), (1, 1));
    let other = db.building(&later.code).await.expect("read").expect("held");
    assert_eq!(other.building.stars, stars(2));
}

/// Where a reopening test keeps its database.
#[derive(Debug, Clone)]
enum Place {
    Sqlite(std::path::PathBuf),
    Postgres,
}

impl Place {
    /// A fresh database `name` (PostgreSQL: a fresh schema), and how to open it again.
    async fn fresh(&self, name: &str) -> Reopen {
        match self {
            Place::Sqlite(dir) => Reopen::Sqlite(dir.join(format!("{name}.sqlite"))),
            Place::Postgres => Reopen::Postgres(
                crate::common::pg_url(&format!("stars::{name}"))
                    .await
                    .expect("the probe found PostgreSQL"),
            ),
        }
    }
}

enum Reopen {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Reopen {
    async fn open(&self) -> AnyDb {
        match self {
            Reopen::Sqlite(p) => AnyDb::Sqlite(SqliteDb::open(p).await.expect("open sqlite")),
            Reopen::Postgres(url) => AnyDb::Postgres(PgDb::connect(url).await.expect("connect")),
        }
    }
}

/// Every building's file and rating history (less the instants they were computed at).
async fn archive_state(db: &AnyDb) -> Vec<(Building, Vec<gridwalk_core::rating::Rating>)> {
    let mut out = Vec::new();
    for n in 1..=144 {
        let b = db.building(&code(n)).await.expect("read").expect("held");
        let ratings = db
            .rating_history(&code(n))
            .await
            .expect("history")
            .into_iter()
            .map(|e| e.rating)
            .collect();
        out.push((b.building, ratings));
    }
    out
}

async fn a_sweep_stopped_part_way_finishes_on_the_next_run_like_one_run(place: Place) {
    let rules = rules();
    let reported = day(2025, 7, 1);
    // Seven hazards past their deadline in grid 1, one still in time.
    let mut records: Vec<SyncRecord> = (1..=7)
        .map(|n| SyncRecord::Event(hazard(&code(n), reported, day(2025, 7, 5))))
        .collect();
    records.push(SyncRecord::Event(hazard(
        &code(8),
        reported,
        day(2025, 7, 30),
    )));
    let today = day(2025, 7, 11);
    let opts = |max_batches| SweepOptions {
        batch: 2,
        rate_batch: 3,
        max_batches,
    };

    let whole = place.fresh("whole").await;
    let db = whole.open().await;
    setup(&db, small_district()).await;
    push_all(&db, "phone-1", records.clone()).await;
    let r = sweep_overdue(&db, &rules, today, opts(None))
        .await
        .expect("sweep");
    assert_eq!((r.events_overdue, r.rating.rated, r.stopped), (7, 8, false));
    let want = archive_state(&db).await;
    drop(db);

    // Killed after the first marking batch, and half-way through rating.
    for (stop_after, marked_first) in [(1, 2), (6, 7)] {
        let killed = place.fresh(&format!("killed{stop_after}")).await;
        let db = killed.open().await;
        setup(&db, small_district()).await;
        push_all(&db, "phone-1", records.clone()).await;
        let first = sweep_overdue(&db, &rules, today, opts(Some(stop_after)))
            .await
            .expect("first run");
        assert!(first.stopped);
        assert_eq!(
            (first.batches, first.events_overdue),
            (stop_after, marked_first)
        );
        drop(db);

        let db = killed.open().await;
        let rest = sweep_overdue(&db, &rules, today, opts(None))
            .await
            .expect("second run");
        assert!(!rest.stopped);
        assert_eq!(first.events_overdue + rest.events_overdue, 7);
        assert_eq!(first.rating.rated + rest.rating.rated, 8);
        assert_eq!(db.queued_ratings().await.expect("queue"), 0);
        assert_eq!(archive_state(&db).await, want, "stopped after {stop_after}");
    }
}

/// The sample district with every list field varied, so each list has members and non-members.
fn varied_district() -> Vec<Building> {
    let mut buildings = small_district();
    for (i, b) in buildings.iter_mut().enumerate() {
        if i % 9 == 0 {
            b.stars = None;
        }
        if i % 7 == 3 {
            b.blacklisted = true;
            b.stars = stars(1);
        }
        b.open_hazards = if i % 3 == 0 { (i % 4) as u32 } else { 0 };
        if i % 11 == 5 {
            b.next_due_on = None;
        }
    }
    buildings
}

async fn walk<D: Database>(db: &D, p: &ListParams) -> Vec<String> {
    let mut p = p.clone();
    let mut out = Vec::new();
    loop {
        let rows = db.officer_list(p.clone()).await.expect("list");
        assert!(rows.buildings.len() <= p.limit as usize);
        out.extend(rows.buildings.iter().map(|b| b.code.to_string()));
        match rows.next_after {
            Some(a) => p.after = Some(a),
            None => return out,
        }
        assert!(out.len() <= 144, "the walk does not end");
    }
}

async fn lists_follow_the_core_criteria_in_risk_order_within_the_scope<D: Database>(db: D) {
    let buildings = varied_district();
    setup(&db, buildings.clone()).await;
    let policy = rules().policy.lists;
    let on = day(2025, 7, 1);
    let scopes = [
        Scope::District,
        Scope::Street(street_id(2)),
        Scope::Community(community_id(1, 1)),
        Scope::Grid(grid_id(1, 2, 3)),
    ];
    let mut non_empty = 0;
    for kind in ListKind::ALL {
        for scope in &scopes {
            for (min, max) in [(None, None), (Some(2), None), (None, Some(1))] {
                let criteria = ListCriteria::for_list(kind, &policy, on).narrow_stars(min, max);
                let mut want: Vec<&Building> = buildings
                    .iter()
                    .filter(|b| scope.contains(b) && criteria.matches(b))
                    .collect();
                want.sort_by_key(|b| building_risk_key(b));
                let want: Vec<String> = want.iter().map(|b| b.code.to_string()).collect();
                let p = ListParams {
                    scope: scope.clone(),
                    grid: None,
                    community: None,
                    street: None,
                    criteria,
                    after: None,
                    limit: 4,
                };
                assert_eq!(
                    walk(&db, &p).await,
                    want,
                    "{kind} in {scope}, stars {min:?}..{max:?}"
                );
                non_empty += usize::from(!want.is_empty());
            }
        }
    }
    assert!(non_empty > 40, "the lists were mostly empty ({non_empty})");

    // What the lists mean, said plainly on the district's low-star and green-channel lists.
    let list = |kind, scope: Scope| ListParams {
        scope,
        grid: None,
        community: None,
        street: None,
        criteria: ListCriteria::for_list(kind, &policy, on),
        after: None,
        limit: 1000,
    };
    let low = db
        .officer_list(list(ListKind::LowStar, Scope::District))
        .await
        .expect("list");
    assert!(!low.buildings.is_empty() && low.next_after.is_none());
    assert!(
        low.buildings
            .iter()
            .all(|b| b.stars.is_some_and(|s| s.get() <= 2))
    );
    let green = db
        .officer_list(list(ListKind::GreenChannel, Scope::District))
        .await
        .expect("list");
    assert!(!green.buildings.is_empty());
    assert!(
        green
            .buildings
            .iter()
            .all(|b| b.stars.is_some_and(|s| s.get() >= 4) && b.open_hazards == 0)
    );

    // A filter narrows within the scope; a place outside the scope matches nothing.
    let late = day(2025, 12, 31);
    let mut p = list(ListKind::Overdue, Scope::Community(community_id(1, 1)));
    p.criteria.overdue_on = Some(late);
    p.grid = Some(grid_id(1, 1, 2));
    let in_grid = walk(&db, &p).await;
    assert!(!in_grid.is_empty());
    assert!(in_grid.iter().all(|c| {
        let b = buildings
            .iter()
            .find(|b| b.code.as_str() == c)
            .expect("known");
        b.grid == grid_id(1, 1, 2) && b.next_due_on.is_some_and(|d| d < late)
    }));
    p.grid = Some(grid_id(2, 1, 1));
    assert!(walk(&db, &p).await.is_empty());

    // A removed building leaves every list.
    let gone = BuildingCode::parse(&in_grid[0]).expect("code");
    assert!(db.remove_building(&gone).await.expect("remove"));
    p.grid = Some(grid_id(1, 1, 2));
    assert_eq!(walk(&db, &p).await, in_grid[1..].to_vec());
}

/// `gridwalk-server sweep`, run as an operator would: the downgrade lands, and a second run
/// reports nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_command_marks_and_rates_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gridwalk.sqlite");
    let db = SqliteDb::open(&path).await.expect("open");
    setup(&db, small_district()).await;
    let b = well_rated(1).remove(0);
    push_all(
        &db,
        "phone-1",
        vec![SyncRecord::Event(hazard(
            &b.code,
            day(2025, 7, 2),
            day(2025, 7, 9),
        ))],
    )
    .await;
    drop(db);
    let sweep = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
            .env_remove("GRIDWALK_CONFIG")
            .env_remove("GRIDWALK_DATA")
            .env_remove("GRIDWALK_DB")
            .env("RUST_LOG", "warn")
            .args(["sweep", "--on", "2025-07-12", "--db"])
            .arg(format!("sqlite://{}", path.display()))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    assert_eq!(
        sweep().trim(),
        "swept as of 2025-07-12: 1 events newly overdue; 1 buildings rated, 1 changed, 1 ratings recorded"
    );
    assert_eq!(
        sweep().trim(),
        "swept as of 2025-07-12: 0 events newly overdue; 0 buildings rated, 0 changed, 0 ratings recorded"
    );
    let db = SqliteDb::open(&path).await.expect("reopen");
    let swept = db.building(&b.code).await.expect("read").expect("held");
    assert_eq!(swept.building.stars, stars(2));
}
