//! SQLCipher at rest: the right key reads, no key and a wrong key get the typed error.

use std::sync::Arc;

use crate::store::tests::fixtures::*;
use crate::store::{Archive, ArchiveOptions, FixedClock, StoreError};

const TOKEN: &str = "gw-token-7f3a9c2e5b1d4f60";

fn login_with_token(token: &str) -> crate::protocol::LoginResponse {
    crate::protocol::LoginResponse {
        token: token.to_owned(),
        expires_at: t(NOW) + chrono::Duration::days(14),
        user: crate::protocol::UserInfo {
            username: "worker-01".into(),
            role: crate::protocol::Role::Worker,
            scope: crate::protocol::Scope::District,
        },
        device_last_seq: 0,
    }
}

fn options(key: Option<&str>) -> ArchiveOptions {
    ArchiveOptions {
        key: key.map(str::to_owned),
        clock: Arc::new(FixedClock::new(t(NOW))),
        ..ArchiveOptions::default()
    }
}

#[test]
fn store_encrypted_archive_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.db");
    let grids = district_grids();
    let i = inspection(1);
    let device = {
        let a =
            Archive::open(&path, options(Some("correct horse battery staple"))).expect("create");
        a.upsert_grids(&grids).expect("grids");
        a.upsert_buildings(&[building(1, &grids[0])])
            .expect("building");
        a.record_inspection(&i).expect("record");
        a.save_login("https://srv", &login_with_token(TOKEN))
            .expect("login");
        a.device_id()
    };
    // Nothing readable on disk: no SQLite header, no address text, no bearer token, in the database
    // or its WAL.
    for file in ["archive.db", "archive.db-wal"] {
        let p = dir.path().join(file);
        if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !bytes.starts_with(b"SQLite format 3"),
                "{file} has a plain header"
            );
            assert!(
                !bytes
                    .windows(b"Lane 1, Xixiang".len())
                    .any(|w| w == b"Lane 1, Xixiang"),
                "{file} holds plain text"
            );
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "{file} holds the token in the clear"
            );
        }
    }

    let a = Archive::open(&path, options(Some("correct horse battery staple"))).expect("reopen");
    assert_eq!(a.device_id(), device);
    assert_eq!(
        a.building(&code(1)).expect("read").map(|b| b.code),
        Some(code(1))
    );
    assert_eq!(a.inspection(i.id).expect("read"), Some(i));
    assert_eq!(
        a.sync_state().expect("state").session.map(|s| s.token),
        Some(TOKEN.to_owned())
    );
    drop(a);

    for key in [None, Some("wrong key")] {
        let err = Archive::open(&path, options(key)).expect_err("must not open");
        assert!(matches!(err, StoreError::NotReadable), "{key:?}: {err:?}");
        assert_eq!(
            err.to_string(),
            "archive is encrypted or the key is wrong (or the file is not an archive)"
        );
    }
    // The failed attempts did not damage it.
    let a = Archive::open(&path, options(Some("correct horse battery staple"))).expect("reopen");
    assert_eq!(a.building_count().expect("count"), 1);
}

#[test]
fn store_plain_archive_refuses_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.db");
    drop(Archive::open(&path, options(None)).expect("plain"));
    let err = Archive::open(&path, options(Some("k"))).expect_err("plain file, key given");
    assert!(matches!(err, StoreError::NotReadable), "{err:?}");
}
