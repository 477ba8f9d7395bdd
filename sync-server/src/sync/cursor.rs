//! Pull cursors: `c1.<seq>.<fingerprint>`, opaque to clients.
//!
//! The fingerprint binds a cursor to the server's database and to the scope it was issued for. A
//! cursor from another scope (the account was reassigned) or another database (restored from a
//! backup, a different server) cannot be continued: the pull starts over with `reset: true`.

use gridwalk_core::protocol::{Cursor, Scope};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor '{0}' was not issued by this server")]
pub struct BadCursor(pub String);

/// Where a pull starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A fresh device: from the beginning.
    Bootstrap,
    /// Continue after this sequence number.
    After(u64),
    /// The cursor belongs to another scope or database: start over and tell the device to reset.
    Reset,
}

fn fingerprint(server_id: &str, scope: &Scope) -> String {
    let digest = Sha256::digest(format!("{server_id}|{scope}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn encode(seq: u64, server_id: &str, scope: &Scope) -> Cursor {
    Cursor(format!("c1.{seq}.{}", fingerprint(server_id, scope)))
}

pub fn decode(cursor: Option<&Cursor>, server_id: &str, scope: &Scope) -> Result<Start, BadCursor> {
    let Some(c) = cursor.filter(|c| !c.as_str().is_empty()) else {
        return Ok(Start::Bootstrap);
    };
    let bad = || BadCursor(c.as_str().chars().take(64).collect());
    let mut parts = c.as_str().split('.');
    let (Some("c1"), Some(seq), Some(fp), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    if fp.len() != 16 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    if fp == fingerprint(server_id, scope) {
        Ok(Start::After(seq))
    } else {
        Ok(Start::Reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::GridId;

    #[test]
    fn round_trips_and_detects_other_scopes() {
        let a = Scope::Grid(GridId::from("G1"));
        let b = Scope::Grid(GridId::from("G2"));
        let c = encode(42, "srv", &a);
        assert_eq!(decode(Some(&c), "srv", &a), Ok(Start::After(42)));
        assert_eq!(decode(Some(&c), "srv", &b), Ok(Start::Reset));
        assert_eq!(decode(Some(&c), "other-db", &a), Ok(Start::Reset));
        assert_eq!(decode(None, "srv", &a), Ok(Start::Bootstrap));
        assert_eq!(
            decode(Some(&Cursor(String::new())), "srv", &a),
            Ok(Start::Bootstrap)
        );
        for junk in [
            "42",
            "c1.x.0011223344556677",
            "c1.5.zz",
            "c2.5.0011223344556677",
            "c1.5.0011223344556677.9",
        ] {
            assert!(
                decode(Some(&Cursor(junk.into())), "srv", &a).is_err(),
                "{junk}"
            );
        }
    }
}
