//! Catalog versions in the archive. Every installed version is kept (records captured under an older
//! catalog stay interpretable); the current catalog is the highest version, or the shipped default
//! when none was installed.

use rusqlite::{Connection, OptionalExtension};

use crate::catalog::Catalog;

use super::Archive;
use super::codec::{time_text, to_json};
use super::error::StoreResult;

impl Archive {
    /// Stores a catalog version (replacing a stored copy of the same version).
    pub fn install_catalog(&self, catalog: &Catalog) -> StoreResult<()> {
        let json = to_json(catalog)?;
        // Round-trip through the checked parser: a catalog with dangling references is refused here,
        // not discovered when the next record is validated.
        Catalog::from_json(&json)?;
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO catalog (version, catalog_json, installed_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (version) DO UPDATE SET catalog_json = excluded.catalog_json, \
                 installed_at = excluded.installed_at",
                (catalog.version, &json, &now),
            )?;
            Ok(())
        })
    }

    /// The catalog captures are validated against.
    pub fn catalog(&self) -> StoreResult<Catalog> {
        self.read(current_catalog)
    }
}

pub(crate) fn current_catalog(conn: &Connection) -> StoreResult<Catalog> {
    let json: Option<String> = conn
        .query_row(
            "SELECT catalog_json FROM catalog ORDER BY version DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match json {
        Some(json) => Catalog::from_json(&json)?,
        None => Catalog::default_catalog()?,
    })
}
