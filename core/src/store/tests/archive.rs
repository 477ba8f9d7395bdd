//! Opening, reopening, pragmas, schema refusal, the building archive, catalog and rating history.

use crate::catalog::MicroEventKind;
use crate::domain::{CategoryScores, Contact, GridId, ItemId, Stars};
use crate::store::schema::SCHEMA_VERSION;
use crate::store::tests::fixtures::*;
use crate::store::{Archive, ArchiveOptions, StoreError};

#[test]
fn store_open_sets_wal_durability_and_foreign_keys() {
    let f = Fixture::new();
    let (journal, sync, fk, temp): (String, i64, i64, i64) = f
        .archive
        .write(|tx| {
            Ok((
                tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                tx.query_row("PRAGMA temp_store", [], |r| r.get(0))?,
            ))
        })
        .expect("pragmas");
    assert_eq!(journal, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
    assert_eq!(fk, 1);
    assert_eq!(temp, 2, "temp_store=MEMORY");
    assert_eq!(f.archive.schema_version().expect("version"), 6);
    assert!(f.archive.photos_dir().ends_with("archive.db.photos"));
    assert!(f.archive.photos_dir().is_dir());
    // The read connection refuses writes.
    let err = f
        .archive
        .read(|c| Ok(c.execute("DELETE FROM buildings", [])?))
        .expect_err("read connection is query_only");
    assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");
}

#[test]
fn store_reopen_keeps_buildings_records_and_device_id() {
    let f = Fixture::new();
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    let mut b = building(1, &grids[0]);
    b.scores = Some(CategoryScores::new(90.0, 80.5, 70.0, 60.25).expect("scores"));
    b.manager = Some(Contact {
        name: "Manager".into(),
        phone: "1".into(),
    });
    b.last_inspected_at = Some(t("2025-02-01T03:04:05.123456789Z"));
    f.archive.upsert_buildings(&[b.clone()]).expect("building");
    let i = inspection(1);
    f.archive.record_inspection(&i).expect("record");
    let device = f.archive.device_id();
    assert_eq!(device.get_version_num(), 7);

    let f = f.reopen();
    assert_eq!(f.archive.device_id(), device, "device id is kept forever");
    assert_eq!(f.archive.building(&b.code).expect("read"), Some(b.clone()));
    assert_eq!(
        f.archive.grid(&grids[0].id).expect("read"),
        Some(grids[0].clone())
    );
    assert_eq!(f.archive.inspection(i.id).expect("read"), Some(i));
    assert_eq!(f.archive.building_count().expect("count"), 1);
    assert_eq!(f.archive.building(&code(2)).expect("read"), None);
}

#[test]
fn store_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
    }
    let err = Archive::open(&path, ArchiveOptions::default()).expect_err("newer schema");
    assert!(
        matches!(
            err,
            StoreError::NewerSchema { found, supported }
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
        ),
        "{err:?}"
    );
}

#[test]
fn store_refuses_a_file_that_is_not_an_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.db");
    std::fs::write(&path, vec![0x5a; 8192]).expect("write junk");
    let err = Archive::open(&path, ArchiveOptions::default()).expect_err("junk");
    assert!(matches!(err, StoreError::NotReadable), "{err:?}");
    assert_eq!(
        err.to_string(),
        "archive is encrypted or the key is wrong (or the file is not an archive)"
    );
}

#[test]
fn store_refuses_an_empty_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Archive::open(
        dir.path().join("a.db"),
        ArchiveOptions {
            key: Some(String::new()),
            ..ArchiveOptions::default()
        },
    )
    .expect_err("empty key");
    assert!(matches!(err, StoreError::EmptyKey), "{err:?}");
}

#[cfg(not(feature = "encryption"))]
#[test]
fn store_refuses_a_key_without_the_encryption_feature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.db");
    let err = Archive::open(
        &path,
        ArchiveOptions {
            key: Some("k".into()),
            ..ArchiveOptions::default()
        },
    )
    .expect_err("no sqlcipher");
    assert!(matches!(err, StoreError::EncryptionUnavailable), "{err:?}");
    assert!(
        !path.exists(),
        "nothing is created when the key cannot be honoured"
    );
}

#[test]
fn store_upsert_replaces_and_rejects_unknown_grids() {
    let f = Fixture::new();
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    let mut a = building(1, &grids[0]);
    let b = building(2, &grids[1]);
    f.archive
        .upsert_buildings(&[a.clone(), b.clone()])
        .expect("load");
    a.stars = Some(Stars::new(1).expect("1"));
    a.grid = grids[1].id.clone();
    a.open_hazards = 3;
    f.archive.upsert_buildings(&[a.clone()]).expect("update");
    assert_eq!(f.archive.building(&a.code).expect("read"), Some(a.clone()));
    assert_eq!(
        f.archive.buildings_in_grid(&grids[1].id).expect("grid"),
        vec![a.clone(), b.clone()]
    );
    assert!(
        f.archive
            .buildings_in_grid(&grids[0].id)
            .expect("grid")
            .is_empty()
    );

    // A building whose grid is unknown: typed error, and the whole batch is refused.
    let mut stray = building(3, &grids[0]);
    stray.grid = GridId::from("G-nowhere");
    let fine = building(4, &grids[0]);
    let err = f
        .archive
        .upsert_buildings(&[fine.clone(), stray.clone()])
        .expect_err("unknown grid");
    assert!(
        matches!(&err, StoreError::UnknownGrid { building, grid } if *building == stray.code && grid.as_str() == "G-nowhere"),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("Owner"),
        "no personal data in errors"
    );
    assert_eq!(f.archive.building(&fine.code).expect("read"), None);

    // Bad coordinates in the archive feed are refused before writing.
    let mut bad = building(5, &grids[0]);
    bad.location.lat = 123.0;
    assert!(matches!(
        f.archive.upsert_buildings(&[bad]),
        Err(StoreError::Validation(_))
    ));
    assert_eq!(f.archive.building_count().expect("count"), 2);
}

#[test]
fn store_remove_buildings_keeps_their_records_and_guards_grids() {
    let f = Fixture::new();
    let grids = district_grids();
    f.archive.upsert_grids(&grids).expect("grids");
    f.archive
        .upsert_buildings(&[building(1, &grids[0]), building(2, &grids[0])])
        .expect("load");
    let i = inspection(1);
    f.archive.record_inspection(&i).expect("record");

    let err = f
        .archive
        .remove_grids(&[grids[3].id.clone(), grids[0].id.clone()]);
    assert!(
        matches!(&err, Err(StoreError::GridInUse(g)) if *g == grids[0].id),
        "{err:?}"
    );
    assert!(
        f.archive.grid(&grids[3].id).expect("read").is_some(),
        "all or nothing"
    );

    assert_eq!(
        f.archive
            .remove_buildings(&[code(1), code(9)])
            .expect("remove"),
        1
    );
    assert_eq!(f.archive.building(&code(1)).expect("read"), None);
    // The unsynced inspection of the removed building stays, and stays queued.
    assert_eq!(
        f.archive.inspections_for_building(&code(1)).expect("read"),
        vec![i]
    );
    assert_eq!(f.archive.outbox_counts().expect("counts").pending, 1);

    f.archive.remove_buildings(&[code(2)]).expect("remove");
    assert_eq!(
        f.archive
            .remove_grids(&[grids[0].id.clone()])
            .expect("remove"),
        1
    );
}

#[test]
fn store_catalog_falls_back_to_default_and_newest_install_wins() {
    let f = Fixture::new();
    let default = crate::Catalog::default_catalog().expect("default");
    assert_eq!(f.archive.catalog().expect("catalog"), default);

    let mut newer = default.clone();
    newer.version = default.version + 1;
    newer.micro_event_kinds.push(MicroEventKind {
        id: ItemId::from("me_test_new_kind"),
        label: newer.micro_event_kinds[0].label.clone(),
        category: newer.micro_event_kinds[0].category.clone(),
        deadline_days: 3,
    });
    let mut e = micro_event(1);
    e.kind = crate::domain::EventKind::MicroEvent {
        kind: ItemId::from("me_test_new_kind"),
    };
    assert!(matches!(
        f.archive.record_event(&e),
        Err(StoreError::Validation(
            crate::domain::ValidationError::UnknownMicroEventKind(_)
        ))
    ));
    f.archive.install_catalog(&newer).expect("install");
    f.archive.install_catalog(&default).expect("older kept too");
    assert_eq!(f.archive.catalog().expect("catalog"), newer);
    f.archive
        .record_event(&e)
        .expect("valid under the newer catalog");

    // A broken catalog is refused at install.
    let mut broken = newer.clone();
    broken.version += 1;
    broken.event_categories[0].department = crate::domain::DepartmentId::from("nowhere");
    assert!(matches!(
        f.archive.install_catalog(&broken),
        Err(StoreError::Catalog(_))
    ));
    assert_eq!(f.archive.catalog().expect("catalog").version, newer.version);
}

#[test]
fn store_rating_history_keeps_explanations_in_order() {
    let f = Fixture::new();
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Why {
        rule: String,
        score: f64,
    }
    let b = code(7);
    f.archive
        .append_rating(
            &b,
            t("2025-02-01T00:00:00Z"),
            Some(Stars::new(4).expect("4")),
            &Why {
                rule: "initial".into(),
                score: 88.5,
            },
        )
        .expect("append");
    f.archive
        .append_rating(
            &b,
            t("2025-01-01T00:00:00Z"),
            None,
            &Why {
                rule: "unrated".into(),
                score: 0.0,
            },
        )
        .expect("append");
    f.archive
        .append_rating(
            &code(8),
            t("2025-01-01T00:00:00Z"),
            None,
            &serde_json::json!({}),
        )
        .expect("other building");
    let h = f.archive.rating_history::<Why>(&b).expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].rated_at, t("2025-01-01T00:00:00Z"));
    assert_eq!(h[0].stars, None);
    assert_eq!(h[1].stars, Some(Stars::new(4).expect("4")));
    assert_eq!(
        h[1].explanation,
        Why {
            rule: "initial".into(),
            score: 88.5
        }
    );
    let raw = f
        .archive
        .rating_history::<serde_json::Value>(&b)
        .expect("as json");
    assert_eq!(raw[1].explanation["rule"], "initial");
}

#[test]
fn store_checkpoint_moves_the_log_into_the_database_file_which_commits_leave_alone() {
    let f = Fixture::new();
    let db_len = || {
        std::fs::metadata(f.archive.path())
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let (before, _) = f.archive.checkpoint().expect("first checkpoint");
    let empty = db_len();
    for n in 0..300 {
        f.archive.record_inspection(&inspection(n)).expect("record");
    }
    assert_eq!(
        db_len(),
        empty,
        "commits below the backstop do not checkpoint"
    );
    let (log, done) = f.archive.checkpoint().expect("checkpoint");
    assert!(log > before, "the log grew: {before} → {log} pages");
    assert_eq!(done, log, "no reader held any of it back");
    assert!(db_len() > empty, "{} → {} bytes", empty, db_len());
}
