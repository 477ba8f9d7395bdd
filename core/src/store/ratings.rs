//! Rating history (星级评价记录): every rating the rules produced for a building, with its explanation.
//! The rules module owns the explanation type; the archive keeps it as JSON text.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{BuildingCode, Stars};
use crate::protocol::RatingEntry;

use super::Archive;
use super::codec::{from_json, parse_time, time_text, to_json};
use super::error::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct RatingRecord<E> {
    pub building: BuildingCode,
    pub rated_at: DateTime<Utc>,
    /// `None`: the building was left (or made) unrated.
    pub stars: Option<Stars>,
    pub explanation: E,
}

impl Archive {
    pub fn append_rating<E: Serialize + ?Sized>(
        &self,
        building: &BuildingCode,
        rated_at: DateTime<Utc>,
        stars: Option<Stars>,
        explanation: &E,
    ) -> StoreResult<()> {
        let json = to_json(explanation)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO rating_history (building_code, rated_at, stars, explanation_json) \
                 VALUES (?1, ?2, ?3, ?4)",
                (
                    building.as_str(),
                    time_text(rated_at),
                    stars.map(Stars::get),
                    &json,
                ),
            )?;
            Ok(())
        })
    }

    /// A building's ratings, oldest first. `E` is the explanation type (or `serde_json::Value`).
    pub fn rating_history<E: DeserializeOwned>(
        &self,
        building: &BuildingCode,
    ) -> StoreResult<Vec<RatingRecord<E>>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rated_at, stars, explanation_json FROM rating_history \
                 WHERE building_code = ?1 ORDER BY rated_at, id",
            )?;
            let mut rows = stmt.query([building.as_str()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let stars: Option<u8> = row.get(1)?;
                out.push(RatingRecord {
                    building: building.clone(),
                    rated_at: parse_time(&row.get::<_, String>(0)?)?,
                    stars: stars
                        .map(Stars::new)
                        .transpose()
                        .map_err(|_| StoreError::corrupt("stored stars out of range"))?,
                    explanation: from_json("rating explanation", &row.get::<_, String>(2)?)?,
                });
            }
            Ok(out)
        })
    }
}

/// Keeps a rating the server sent with a building (its explanation is the core `Rating`), once: the
/// same building may come again with the same latest rating.
pub(crate) fn record_server_rating(tx: &Transaction<'_>, entry: &RatingEntry) -> StoreResult<()> {
    let r = &entry.rating;
    tx.prepare_cached(
        "INSERT INTO rating_history (building_code, rated_at, stars, explanation_json) \
         SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM rating_history \
         WHERE building_code = ?1 AND rated_at = ?2)",
    )?
    .execute((
        r.building.as_str(),
        time_text(entry.rated_at),
        r.stars.map(Stars::get),
        to_json(r)?,
    ))?;
    Ok(())
}
