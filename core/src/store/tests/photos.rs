//! Photos: content-addressed files beside the database, deduplicated, limits refused not resized.

use crate::domain::Sha256Hex;
use crate::store::StoreError;
use crate::store::tests::fixtures::*;

fn photo_rows(f: &Fixture) -> i64 {
    f.archive
        .read(|c| Ok(c.query_row("SELECT count(*) FROM photos", [], |r| r.get(0))?))
        .expect("count")
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn store_photo_is_stored_by_hash_and_deduplicated() {
    let f = Fixture::new();
    let bytes = png(1280, 960, b"stairwell");
    let p = f.archive.add_photo(&bytes).expect("add");
    assert_eq!(p.sha256, Sha256Hex::of_bytes(&bytes));
    assert_eq!(
        (p.width, p.height, p.size_bytes),
        (1280, 960, bytes.len() as u64)
    );
    let path = f.archive.photo_path(&p.sha256);
    assert_eq!(path.parent(), Some(f.archive.photos_dir()));
    assert_eq!(std::fs::read(&path).expect("file"), bytes);

    let again = f.archive.add_photo(&bytes).expect("add again");
    assert_eq!(again, p);
    assert_eq!(photo_rows(&f), 1);
    assert_eq!(
        files_in(f.archive.photos_dir()),
        vec![p.sha256.to_string()],
        "no temp files left"
    );
    assert_eq!(f.archive.photo(&p.sha256).expect("read"), Some(p.clone()));

    // A lost file is rewritten by the next add of the same bytes.
    std::fs::remove_file(&path).expect("lose the file");
    f.archive.add_photo(&bytes).expect("re-add");
    assert_eq!(std::fs::read(&path).expect("file"), bytes);

    let other = f
        .archive
        .add_photo(&png(1280, 960, b"corridor"))
        .expect("add");
    assert_ne!(other.sha256, p.sha256);
    assert_eq!(photo_rows(&f), 2);
}

#[test]
fn store_photo_over_the_limits_or_not_an_image_is_refused() {
    let f = Fixture::new();
    let err = f
        .archive
        .add_photo(&png(2561, 100, b""))
        .expect_err("too wide");
    assert!(
        matches!(
            err,
            StoreError::PhotoTooManyPixels {
                width: 2561,
                height: 100,
                max_long_edge_px: 2560
            }
        ),
        "{err:?}"
    );
    let err = f
        .archive
        .add_photo(&png(100, 3000, b""))
        .expect_err("too tall");
    assert!(
        matches!(err, StoreError::PhotoTooManyPixels { .. }),
        "{err:?}"
    );
    f.archive
        .add_photo(&png(2560, 2560, b""))
        .expect("exactly at the limit");

    let mut huge = png(800, 600, b"");
    huge.resize(4 * 1024 * 1024 + 1, 0);
    let err = f.archive.add_photo(&huge).expect_err("too many bytes");
    assert!(
        matches!(
            err,
            StoreError::PhotoTooLarge {
                size_bytes: 4194305,
                max_bytes: 4194304
            }
        ),
        "{err:?}"
    );

    for junk in [
        &b"hello, this is not an image at all"[..],
        b"",
        b"\x89PNG\r\n",
    ] {
        let err = f.archive.add_photo(junk).expect_err("junk");
        assert!(matches!(err, StoreError::NotAnImage), "{junk:?}: {err:?}");
    }
    let err = f
        .archive
        .add_photo(&png(0, 10, b""))
        .expect_err("zero width");
    assert!(matches!(err, StoreError::NotAnImage), "{err:?}");

    assert_eq!(photo_rows(&f), 1, "only the photo at the limit");
    assert_eq!(files_in(f.archive.photos_dir()).len(), 1);
}

#[test]
fn store_photo_from_file() {
    let f = Fixture::new();
    let src = f.dir.path().join("camera.png");
    let bytes = png(300, 200, b"file");
    std::fs::write(&src, &bytes).expect("write");
    let p = f.archive.add_photo_file(&src).expect("add file");
    assert_eq!(p.sha256, Sha256Hex::of_bytes(&bytes));
    assert_eq!(
        std::fs::read(f.archive.photo_path(&p.sha256)).expect("copy"),
        bytes
    );

    let big = f.dir.path().join("big.png");
    let mut v = png(300, 200, b"");
    v.resize(5 * 1024 * 1024, 7);
    std::fs::write(&big, v).expect("write");
    assert!(matches!(
        f.archive.add_photo_file(&big),
        Err(StoreError::PhotoTooLarge { .. })
    ));
    assert!(matches!(
        f.archive.add_photo_file(f.dir.path().join("absent.png")),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn store_photos_in_one_go_are_checked_first() {
    let f = Fixture::new();
    let good: Vec<Vec<u8>> = (0..5u8).map(|k| png(640, 480, &[k])).collect();
    let mut with_junk = good.clone();
    with_junk.push(b"not an image".to_vec());
    assert!(matches!(
        f.archive.add_photos(&with_junk),
        Err(StoreError::NotAnImage)
    ));
    assert_eq!(photo_rows(&f), 0);
    assert!(
        files_in(f.archive.photos_dir()).is_empty(),
        "nothing written before the check failed"
    );

    let mut twice = good.clone();
    twice.push(good[0].clone());
    let refs = f.archive.add_photos(&twice).expect("add");
    assert_eq!(refs.len(), 6);
    assert_eq!(refs[5], refs[0]);
    assert_eq!(photo_rows(&f), 5);
    assert_eq!(files_in(f.archive.photos_dir()).len(), 5);
    for (r, bytes) in refs.iter().zip(&twice) {
        assert_eq!(
            &std::fs::read(f.archive.photo_path(&r.sha256)).expect("file"),
            bytes
        );
    }
}
