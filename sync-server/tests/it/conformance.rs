//! The storage conformance suite: every test runs against SQLite and against a real PostgreSQL.
//! Each `conformance!(name)` line generates `name::sqlite` and `name::postgres`.

use std::collections::HashSet;

use gridwalk_core::protocol::{
    Change, DeviceId, PushRecord, PushResponse, RecordOutcome, RejectCode, ReviewDecision,
    ReviewOutcome, Role, Scope, SyncRecord, TombstoneReason,
};
use gridwalk_core::{Catalog, GridId, RecordId, WorkerId};
use gridwalk_server::db::{Database, DbError, NewSession, NewUser, PullParams, PushCtx, PushError};
use gridwalk_server::fixtures::{self, DistrictShape, absent_code, code, community_id, grid_id};
use gridwalk_server::sync::plan::SequenceError;
use gridwalk_server::sync::validate::{RecordLimits, check_batch};

conformance!(
    migrations_are_versioned_and_idempotent,
    accounts_and_sessions,
    same_batch_twice_stores_once,
    lost_acknowledgement_is_resent_with_new_records,
    sequence_errors_commit_nothing,
    rejected_records_do_not_block_the_rest,
    record_id_of_another_device_is_refused,
    pull_pages_through_a_scope_in_server_order,
    reassignment_and_removal_leave_tombstones,
    import_keeps_archive_fields_and_dry_run_writes_nothing,
    concurrent_corrections_keep_the_loser_as_conflict,
    photos_missing_until_stored,
    review_outcomes_reach_only_the_reporting_worker,
    concurrent_pushes_of_one_batch_store_it_once,
    racing_corrections_have_exactly_one_winner,
);

/// The workers of grids 1 and 2 of community 1 of street 1 (the generator names them).
const W1: &str = "w-G0001";
const W2: &str = "w-G0002";

fn g1() -> GridId {
    grid_id(1, 1, 1)
}

fn device(s: &str) -> DeviceId {
    DeviceId::parse(s).expect("device id")
}

fn ctx(user: &str, scope: Scope, dev: &str) -> PushCtx {
    PushCtx {
        username: user.to_owned(),
        scope,
        device: device(dev),
        now: chrono::Utc::now(),
    }
}

fn worker_ctx(dev: &str) -> PushCtx {
    ctx(W1, Scope::Grid(g1()), dev)
}

async fn push<D: Database>(
    db: &D,
    ctx: &PushCtx,
    records: Vec<PushRecord>,
) -> Result<PushResponse, PushError> {
    let catalog = Catalog::default_catalog().expect("catalog");
    let checks = check_batch(&records, &ctx.username, &catalog, &RecordLimits::default());
    db.push(ctx.clone(), records, checks).await
}

/// Migrates and loads the small sample district (144 buildings, 12 per grid; grid 1 of community 1
/// of street 1 holds buildings 1–12, grid 2 holds 13–24, community 1 of street 1 holds 1–36).
async fn setup<D: Database>(db: &D) {
    assert_eq!(
        (fixtures::worker(1, 1, 1), fixtures::worker(1, 1, 2)),
        (W1.into(), W2.into())
    );
    db.migrate().await.expect("migrate");
    let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
    db.upsert_grids(grids).await.expect("grids");
    let s = db.import_buildings(buildings, false).await.expect("import");
    assert_eq!(s.inserted, 144);
}

fn inspections(n: usize, worker: &str, first_building: u64) -> Vec<SyncRecord> {
    (0..n)
        .map(|i| {
            SyncRecord::Inspection(fixtures::inspection(
                &code(first_building + i as u64),
                worker,
                Vec::new(),
            ))
        })
        .collect()
}

fn statuses(r: &PushResponse) -> Vec<&'static str> {
    r.results
        .iter()
        .map(|x| match x.outcome {
            RecordOutcome::Accepted { conflict: false } => "accepted",
            RecordOutcome::Accepted { conflict: true } => "conflict",
            RecordOutcome::Duplicate => "duplicate",
            RecordOutcome::Rejected { .. } => "rejected",
        })
        .collect()
}

async fn pull_all<D: Database>(
    db: &D,
    user: &str,
    scope: Scope,
    after: u64,
    limit: u32,
) -> (Vec<Change>, u64, usize) {
    let mut after = after;
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = db
            .pull(PullParams {
                username: user.to_owned(),
                scope: scope.clone(),
                after_seq: after,
                limit,
            })
            .await
            .expect("pull");
        pages += 1;
        assert!(page.changes.len() <= limit as usize);
        let seqs: Vec<u64> = page.changes.iter().map(|(s, _)| *s).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "page in server order: {seqs:?}"
        );
        assert!(
            seqs.iter().all(|s| *s > after),
            "only changes after the cursor"
        );
        after = page.last_seq(after);
        all.extend(page.changes.into_iter().map(|(_, c)| c));
        if !page.has_more {
            return (all, after, pages);
        }
        assert!(pages < 1000, "pull does not terminate");
    }
}

fn building_codes(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Building { building, .. } => Some(building.code.to_string()),
            _ => None,
        })
        .collect()
}

async fn migrations_are_versioned_and_idempotent<D: Database>(db: D) {
    assert!(matches!(
        db.check_schema().await,
        Err(DbError::NotMigrated { found: 0, .. })
    ));
    let known = gridwalk_server::db::sqlite::migration_versions();
    assert_eq!(
        known,
        gridwalk_server::db::postgres::migration_versions(),
        "both engines know the same migrations"
    );
    assert_eq!(db.migrate().await.expect("migrate"), known);
    assert_eq!(db.migrate().await.expect("again"), Vec::<u32>::new());
    db.check_schema().await.expect("schema current");
    let id = db.server_id().await.expect("server id");
    assert!(id.len() >= 16, "{id}");
}

async fn accounts_and_sessions<D: Database>(db: D) {
    setup(&db).await;
    let user = NewUser {
        username: "officer1".into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        role: Role::Officer,
        scope: Scope::Community(community_id(1, 2)),
    };
    db.add_user(user.clone()).await.expect("add user");
    assert!(matches!(
        db.add_user(user.clone()).await,
        Err(DbError::UserExists(u)) if u == "officer1"
    ));
    let row = db.user("officer1").await.expect("lookup").expect("exists");
    assert_eq!(row.role, Role::Officer);
    assert_eq!(row.scope, Scope::Community(community_id(1, 2)));
    assert!(!row.disabled);
    assert!(db.user("nobody").await.expect("lookup").is_none());

    let now = chrono::Utc::now();
    for (hash, dev) in [("h1", "phone-a"), ("h2", "phone-b")] {
        db.create_session(NewSession {
            token_hash: hash.into(),
            username: "officer1".into(),
            device: device(dev),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        })
        .await
        .expect("session");
    }
    let s = db.session("h1").await.expect("lookup").expect("exists");
    assert_eq!(s.device, device("phone-a"));
    assert_eq!(s.role, Role::Officer);
    assert!(s.revoked_at.is_none());
    assert!(
        (s.expires_at - (now + chrono::Duration::hours(1)))
            .num_milliseconds()
            .abs()
            < 2
    );
    assert!(db.revoke_session("h1", now).await.expect("revoke"));
    assert!(
        !db.revoke_session("h1", now).await.expect("revoke twice"),
        "already revoked"
    );
    assert!(
        db.session("h1")
            .await
            .expect("lookup")
            .expect("kept")
            .revoked_at
            .is_some()
    );
    assert_eq!(
        db.revoke_user_sessions("officer1", now)
            .await
            .expect("revoke all"),
        1
    );
    assert!(db.session("nope").await.expect("lookup").is_none());
}

async fn same_batch_twice_stores_once<D: Database>(db: D) {
    setup(&db).await;
    let c = worker_ctx("phone-1");
    let batch = fixtures::batch(1, inspections(3, W1, 1));
    let first = push(&db, &c, batch.clone()).await.expect("push");
    assert_eq!(statuses(&first), ["accepted"; 3]);
    assert_eq!(first.device_last_seq, 3);
    let again = push(&db, &c, batch).await.expect("push again");
    assert_eq!(statuses(&again), ["duplicate"; 3]);
    assert_eq!(again.device_last_seq, 3);
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (3, 0)
    );
    assert_eq!(
        db.device_last_seq(&device("phone-1")).await.expect("seq"),
        3
    );
}

async fn lost_acknowledgement_is_resent_with_new_records<D: Database>(db: D) {
    setup(&db).await;
    let c = worker_ctx("phone-1");
    let records = inspections(5, W1, 1);
    // The server commits 1..3 but the phone never hears back…
    push(&db, &c, fixtures::batch(1, records[..3].to_vec()))
        .await
        .expect("push");
    // …so it sends 1..3 again together with 4..5.
    let r = push(&db, &c, fixtures::batch(1, records))
        .await
        .expect("resend");
    assert_eq!(
        statuses(&r),
        [
            "duplicate",
            "duplicate",
            "duplicate",
            "accepted",
            "accepted"
        ]
    );
    assert_eq!(r.device_last_seq, 5);
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (5, 0)
    );
}

async fn sequence_errors_commit_nothing<D: Database>(db: D) {
    setup(&db).await;
    let c = worker_ctx("phone-1");
    push(&db, &c, fixtures::batch(1, inspections(2, W1, 1)))
        .await
        .expect("push");

    // Records 3 and 4 were lost: 5.. cannot be accepted before them.
    let gap = push(&db, &c, fixtures::batch(5, inspections(2, W1, 3))).await;
    assert!(
        matches!(
            gap,
            Err(PushError::Sequence(SequenceError::Gap {
                last: 2,
                expected: 3,
                got: 5
            }))
        ),
        "{gap:?}"
    );
    // A different record under an already used number.
    let replay = push(&db, &c, fixtures::batch(2, inspections(2, W1, 3))).await;
    assert!(
        matches!(
            replay,
            Err(PushError::Sequence(SequenceError::Replayed {
                seq: 2,
                last: 2
            }))
        ),
        "{replay:?}"
    );
    // Not increasing within the batch; the first record would have been fine on its own.
    let mut b = fixtures::batch(3, inspections(2, W1, 3));
    b[1].seq = 3;
    let order = push(&db, &c, b).await;
    assert!(
        matches!(
            order,
            Err(PushError::Sequence(SequenceError::OutOfOrder { .. }))
        ),
        "{order:?}"
    );
    let zero = push(&db, &c, fixtures::batch(0, inspections(1, W1, 3))).await;
    assert!(
        matches!(
            zero,
            Err(PushError::Sequence(SequenceError::OutOfRange { .. }))
        ),
        "{zero:?}"
    );

    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (2, 0)
    );
    assert_eq!(
        db.device_last_seq(&device("phone-1")).await.expect("seq"),
        2
    );
    // And the stream continues normally.
    let ok = push(&db, &c, fixtures::batch(3, inspections(1, W1, 3)))
        .await
        .expect("push");
    assert_eq!(statuses(&ok), ["accepted"]);
}

async fn rejected_records_do_not_block_the_rest<D: Database>(db: D) {
    setup(&db).await;
    let c = worker_ctx("phone-1");
    let mut bad_coords = fixtures::inspection(&code(2), W1, Vec::new());
    bad_coords.fix.point.lat = 91.5;
    let mut bad_item = fixtures::inspection(&code(3), W1, Vec::new());
    bad_item.results[0].item = "sl_teleporter".into();
    let records = vec![
        SyncRecord::Inspection(fixtures::inspection(&code(1), W1, Vec::new())),
        // Building 13 exists but lies in another grid; the absent code names no building at all.
        SyncRecord::Inspection(fixtures::inspection(&code(13), W1, Vec::new())),
        SyncRecord::Inspection(fixtures::inspection(&absent_code(1), W1, Vec::new())),
        SyncRecord::Inspection(bad_coords),
        SyncRecord::Inspection(bad_item),
        SyncRecord::Event(fixtures::hazard(&code(4), W1)),
        SyncRecord::Inspection(fixtures::inspection(&code(5), W2, Vec::new())),
    ];
    let batch = fixtures::batch(1, records);
    let r = push(&db, &c, batch.clone()).await.expect("push");
    assert_eq!(
        statuses(&r),
        [
            "accepted", "rejected", "rejected", "rejected", "rejected", "accepted", "rejected"
        ]
    );
    let codes: Vec<_> = r
        .results
        .iter()
        .filter_map(|x| match &x.outcome {
            RecordOutcome::Rejected { code, message } => Some((*code, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(codes[0].0, RejectCode::OutOfScope);
    assert_eq!(codes[1].0, RejectCode::OutOfScope);
    // Existing and non-existing buildings outside the scope are indistinguishable.
    assert_eq!(
        codes[0].1.replace(code(13).as_str(), "X"),
        codes[1].1.replace(absent_code(1).as_str(), "X")
    );
    assert_eq!(codes[2].0, RejectCode::BadCoordinates);
    assert!(codes[2].1.contains("latitude"), "{}", codes[2].1);
    assert_eq!(codes[3].0, RejectCode::UnknownChecklistItem);
    assert_eq!(codes[4].0, RejectCode::WorkerMismatch);
    // Rejected records use up their numbers; resending gets the same answers.
    assert_eq!(r.device_last_seq, 7);
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (2, 5)
    );
    let again = push(&db, &c, batch).await.expect("resend");
    assert_eq!(
        statuses(&again),
        [
            "duplicate",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "duplicate",
            "rejected"
        ]
    );
    assert_eq!(again.results[1].outcome, r.results[1].outcome);
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (2, 5)
    );
}

async fn record_id_of_another_device_is_refused<D: Database>(db: D) {
    setup(&db).await;
    let rec = inspections(1, W1, 1);
    push(&db, &worker_ctx("phone-1"), fixtures::batch(1, rec.clone()))
        .await
        .expect("push");
    let r = push(&db, &worker_ctx("phone-2"), fixtures::batch(1, rec))
        .await
        .expect("push");
    assert!(matches!(
        &r.results[0].outcome,
        RecordOutcome::Rejected {
            code: RejectCode::RecordIdTaken,
            ..
        }
    ));
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (1, 0)
    );
    assert_eq!(
        db.device_record_counts(&device("phone-2"))
            .await
            .expect("counts"),
        (0, 1)
    );
}

async fn pull_pages_through_a_scope_in_server_order<D: Database>(db: D) {
    setup(&db).await;
    let (all, cursor, pages) = pull_all(&db, W1, Scope::Grid(g1()), 0, 5).await;
    let want: Vec<String> = (1..=12).map(|n| code(n).to_string()).collect();
    assert_eq!(
        building_codes(&all),
        want,
        "bootstrap: exactly the grid, in order"
    );
    assert_eq!(pages, 3);
    let (rest, same, _) = pull_all(&db, W1, Scope::Grid(g1()), cursor, 5).await;
    assert!(rest.is_empty());
    assert_eq!(same, cursor);

    let (community, _, _) = pull_all(&db, "o", Scope::Community(community_id(1, 1)), 0, 7).await;
    assert_eq!(building_codes(&community).len(), 36);
    let (district, _, _) = pull_all(&db, "a", Scope::District, 0, 1000).await;
    assert_eq!(building_codes(&district).len(), 144);

    // A correction moves the building to the end of the log; only it comes next.
    let seen = fixtures::building(4).floors;
    let r = push(
        &db,
        &worker_ctx("phone-1"),
        fixtures::batch(
            1,
            vec![SyncRecord::BuildingCorrection(fixtures::floors_correction(
                &code(4),
                W1,
                seen,
                seen + 1,
            ))],
        ),
    )
    .await
    .expect("push");
    assert_eq!(statuses(&r), ["accepted"]);
    let (next, _, _) = pull_all(&db, W1, Scope::Grid(g1()), cursor, 5).await;
    assert_eq!(building_codes(&next), [code(4).to_string()]);
    let Change::Building { building, .. } = &next[0] else {
        unreachable!()
    };
    assert_eq!(building.floors, seen + 1);
}

async fn reassignment_and_removal_leave_tombstones<D: Database>(db: D) {
    setup(&db).await;
    let g2 = grid_id(1, 1, 2);
    let (_, c1, _) = pull_all(&db, W1, Scope::Grid(g1()), 0, 100).await;
    let (_, c2, _) = pull_all(&db, W2, Scope::Grid(g2.clone()), 0, 100).await;
    let (_, cc, _) = pull_all(&db, "o", Scope::Community(community_id(1, 1)), 0, 100).await;

    // Building 3 moves from grid 1 to grid 2 (same community); building 5 is demolished.
    let mut b3 = db
        .building(&code(3))
        .await
        .expect("get")
        .expect("exists")
        .building;
    b3.grid = g2.clone();
    let s = db
        .import_buildings(vec![b3], false)
        .await
        .expect("reimport");
    assert_eq!((s.updated, s.reassigned), (1, 1));
    assert!(db.remove_building(&code(5)).await.expect("remove"));
    assert!(!db.remove_building(&code(5)).await.expect("remove twice"));
    assert_eq!(db.count_buildings().await.expect("count"), 143);

    let (a, _, _) = pull_all(&db, W1, Scope::Grid(g1()), c1, 100).await;
    assert_eq!(
        a,
        vec![
            Change::Tombstone {
                code: code(3),
                reason: TombstoneReason::Reassigned
            },
            Change::Tombstone {
                code: code(5),
                reason: TombstoneReason::Removed
            },
        ]
    );
    let (b, _, _) = pull_all(&db, W2, Scope::Grid(g2.clone()), c2, 100).await;
    assert_eq!(building_codes(&b), [code(3).to_string()]);
    assert_eq!(b.len(), 1, "no tombstones for grid 2");
    // Within the community the move is not an exit; the demolition is.
    let (c, _, _) = pull_all(&db, "o", Scope::Community(community_id(1, 1)), cc, 100).await;
    assert_eq!(building_codes(&c), [code(3).to_string()]);
    assert!(c.contains(&Change::Tombstone {
        code: code(5),
        reason: TombstoneReason::Removed
    }));
    assert_eq!(c.len(), 2);
    // A fresh device gets no tombstones at all.
    let (fresh, _, _) = pull_all(&db, W1, Scope::Grid(g1()), 0, 100).await;
    assert_eq!(building_codes(&fresh).len(), 10);
    assert_eq!(fresh.len(), 10);

    // Records about the removed building are refused.
    let r = push(
        &db,
        &worker_ctx("phone-1"),
        fixtures::batch(1, inspections(1, W1, 5)),
    )
    .await
    .expect("push");
    assert!(matches!(
        &r.results[0].outcome,
        RecordOutcome::Rejected {
            code: RejectCode::BuildingRemoved,
            ..
        }
    ));
}

async fn import_keeps_archive_fields_and_dry_run_writes_nothing<D: Database>(db: D) {
    setup(&db).await;
    let (_, buildings) = fixtures::district(DistrictShape::SMALL);
    let again = db
        .import_buildings(buildings.clone(), false)
        .await
        .expect("reimport");
    assert_eq!(
        (again.total, again.unchanged, again.updated, again.inserted),
        (144, 144, 0, 0)
    );

    let mut changed = buildings[0].clone();
    changed.address = "New address 1".into();
    // Stars the archive does not have: an import must not set them.
    let five = gridwalk_core::Stars::new(5).expect("stars");
    let one = gridwalk_core::Stars::new(1).expect("stars");
    let not_archived = Some(if buildings[0].stars == Some(five) {
        one
    } else {
        five
    });
    changed.stars = not_archived;
    let mut new = buildings[1].clone();
    new.code = absent_code(1);
    let dry = db
        .import_buildings(vec![changed.clone(), new.clone()], true)
        .await
        .expect("dry run");
    assert_eq!((dry.updated, dry.inserted, dry.dry_run), (1, 1, true));
    assert_eq!(db.count_buildings().await.expect("count"), 144);
    assert_eq!(
        db.building(&code(1))
            .await
            .expect("get")
            .expect("b")
            .building
            .address,
        buildings[0].address
    );

    db.import_buildings(vec![changed], false)
        .await
        .expect("import");
    let stored = db
        .building(&code(1))
        .await
        .expect("get")
        .expect("b")
        .building;
    assert_eq!(stored.address, "New address 1");
    assert_eq!(
        stored.stars, buildings[0].stars,
        "the address base does not set stars; the archive keeps its own"
    );
    assert_ne!(stored.stars, not_archived);
}

async fn concurrent_corrections_keep_the_loser_as_conflict<D: Database>(db: D) {
    setup(&db).await;
    let b = code(2);
    let seen = fixtures::building(2).floors;
    let (won, lost) = (seen + 1, seen + 2);
    let a = SyncRecord::BuildingCorrection(fixtures::floors_correction(&b, W1, seen, won));
    let later = fixtures::floors_correction(&b, W1, seen, lost);
    let later_id = later.id;
    let same = SyncRecord::BuildingCorrection(fixtures::floors_correction(&b, W1, seen, won));
    let ra = push(&db, &worker_ctx("phone-a"), fixtures::batch(1, vec![a]))
        .await
        .expect("a");
    let rb = push(
        &db,
        &worker_ctx("phone-b"),
        fixtures::batch(1, vec![SyncRecord::BuildingCorrection(later)]),
    )
    .await
    .expect("b");
    let rc = push(&db, &worker_ctx("phone-c"), fixtures::batch(1, vec![same]))
        .await
        .expect("c");
    assert_eq!(statuses(&ra), ["accepted"]);
    assert_eq!(statuses(&rb), ["conflict"]);
    assert_eq!(
        statuses(&rc),
        ["accepted"],
        "agreeing with the winner is no conflict"
    );
    assert_eq!(
        db.building(&b)
            .await
            .expect("get")
            .expect("b")
            .building
            .floors,
        won
    );

    let conflicts = db.conflicts(&Scope::Grid(g1())).await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    let k = &conflicts[0];
    assert_eq!(k.record, later_id);
    assert_eq!(k.building, b);
    assert_eq!(
        (k.seen.clone(), k.proposed.clone(), k.current.clone()),
        (seen.into(), lost.into(), won.into())
    );
    assert_eq!(k.device, device("phone-b"));
    assert_eq!(k.worker, WorkerId(W1.into()));
    assert!(
        db.conflicts(&Scope::Grid(grid_id(1, 1, 2)))
            .await
            .expect("conflicts")
            .is_empty()
    );
    assert_eq!(
        db.conflicts(&Scope::District)
            .await
            .expect("conflicts")
            .len(),
        1
    );
}

async fn photos_missing_until_stored<D: Database>(db: D) {
    setup(&db).await;
    let (p1, p2) = (fixtures::photo(1), fixtures::photo(2));
    let rec = SyncRecord::Inspection(fixtures::inspection(
        &code(1),
        W1,
        vec![p1.clone(), p2.clone()],
    ));
    let dev = device("phone-1");
    let r = push(&db, &worker_ctx("phone-1"), fixtures::batch(1, vec![rec]))
        .await
        .expect("push");
    let mut want = vec![p1.sha256.clone(), p2.sha256.clone()];
    want.sort();
    assert_eq!(r.missing_photos, want);
    assert_eq!(db.missing_photos(&dev).await.expect("missing"), want);
    assert_eq!(
        db.photo_declared_size(&p1.sha256, W1).await.expect("size"),
        Some(p1.size_bytes)
    );
    assert_eq!(
        db.photo_declared_size(&p1.sha256, W2).await.expect("size"),
        None
    );
    assert!(
        db.photo_visible(&p1.sha256, &Scope::Grid(g1()))
            .await
            .expect("visible")
    );
    assert!(
        !db.photo_visible(&p1.sha256, &Scope::Grid(grid_id(2, 1, 1)))
            .await
            .expect("visible")
    );
    assert!(!db.photo_stored(&p1.sha256).await.expect("stored"));
    db.mark_photo_stored(&p1.sha256, p1.size_bytes)
        .await
        .expect("mark");
    db.mark_photo_stored(&p1.sha256, p1.size_bytes)
        .await
        .expect("mark twice");
    assert!(db.photo_stored(&p1.sha256).await.expect("stored"));
    assert_eq!(
        db.missing_photos(&dev).await.expect("missing"),
        vec![p2.sha256.clone()]
    );
}

async fn review_outcomes_reach_only_the_reporting_worker<D: Database>(db: D) {
    setup(&db).await;
    let rec = inspections(1, W1, 1);
    let id: RecordId = rec[0].id();
    push(&db, &worker_ctx("phone-1"), fixtures::batch(1, rec))
        .await
        .expect("push");
    let (_, cursor, _) = pull_all(&db, W1, Scope::Grid(g1()), 0, 100).await;
    let outcome = ReviewOutcome {
        record: id,
        decision: ReviewDecision::SentBack,
        comment: "photo of the extinguisher please".into(),
        reviewer: WorkerId("sup1".into()),
        reviewed_at: fixtures::epoch(),
    };
    assert!(
        db.add_review(outcome.clone())
            .await
            .expect("review")
            .is_some()
    );
    let unknown = ReviewOutcome {
        record: RecordId::new(),
        ..outcome.clone()
    };
    assert!(db.add_review(unknown).await.expect("review").is_none());
    let (mine, _, _) = pull_all(&db, W1, Scope::Grid(g1()), cursor, 100).await;
    assert_eq!(mine, vec![Change::Review { outcome }]);
    let (other, _, _) = pull_all(&db, "someone-else", Scope::Grid(g1()), cursor, 100).await;
    assert!(other.is_empty());
}

async fn concurrent_pushes_of_one_batch_store_it_once<D: Database + Clone>(db: D) {
    setup(&db).await;
    let c = worker_ctx("phone-1");
    let batch = fixtures::batch(1, inspections(10, W1, 1));
    let other = ctx(W2, Scope::Grid(grid_id(1, 1, 2)), "phone-2");
    let other_batch = fixtures::batch(1, inspections(10, W2, 13));
    let (a, b, o) = tokio::join!(
        push(&db, &c, batch.clone()),
        push(&db, &c, batch),
        push(&db, &other, other_batch)
    );
    let (a, b, o) = (a.expect("a"), b.expect("b"), o.expect("o"));
    let mut all: Vec<&str> = statuses(&a);
    all.extend(statuses(&b));
    assert_eq!(all.iter().filter(|s| **s == "accepted").count(), 10);
    assert_eq!(all.iter().filter(|s| **s == "duplicate").count(), 10);
    assert_eq!(statuses(&o), ["accepted"; 10]);
    assert_eq!(
        db.device_record_counts(&device("phone-1"))
            .await
            .expect("counts"),
        (10, 0)
    );
    let ids: HashSet<_> = a.results.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 10);
}

async fn racing_corrections_have_exactly_one_winner<D: Database>(db: D) {
    setup(&db).await;
    // Buildings 1..=6; each gets two simultaneous corrections from two phones that both saw the
    // stored value.
    for n in 1..=6u64 {
        let b = code(n);
        let seen = db
            .building(&b)
            .await
            .expect("get")
            .expect("b")
            .building
            .floors;
        let ca =
            SyncRecord::BuildingCorrection(fixtures::floors_correction(&b, W1, seen, seen + 1));
        let cb =
            SyncRecord::BuildingCorrection(fixtures::floors_correction(&b, W1, seen, seen + 2));
        let (ctx_a, ctx_b) = (worker_ctx("phone-a"), worker_ctx("phone-b"));
        let (a, bb) = tokio::join!(
            push(&db, &ctx_a, fixtures::batch(n, vec![ca])),
            push(&db, &ctx_b, fixtures::batch(n, vec![cb]))
        );
        let (a, bb) = (a.expect("a"), bb.expect("b"));
        let mut both = statuses(&a);
        both.extend(statuses(&bb));
        both.sort_unstable();
        assert_eq!(both, ["accepted", "conflict"], "building {n}");
        let winner = if statuses(&a) == ["accepted"] {
            seen + 1
        } else {
            seen + 2
        };
        assert_eq!(
            db.building(&b)
                .await
                .expect("get")
                .expect("b")
                .building
                .floors,
            winner
        );
    }
    assert_eq!(
        db.conflicts(&Scope::District)
            .await
            .expect("conflicts")
            .len(),
        6
    );
}
