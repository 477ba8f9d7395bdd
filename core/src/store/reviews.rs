//! Supervisors' decisions on the worker's synced reports (审核), as delivered by pulls. A report
//! sent back (退回) shows with the supervisor's comment until the worker records its correction: a
//! new inspection or event whose `corrects` names the sent-back record.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, RecordId, WorkerId};
use crate::protocol::ReviewDecision;

use super::Archive;
use super::codec::{parse_code, parse_record_id, parse_time};
use super::error::{StoreError, StoreResult};
use super::outbox::RecordKind;

/// A review of one of the worker's reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    pub record_id: RecordId,
    /// `None` when the report is no longer on the phone.
    pub kind: Option<RecordKind>,
    pub building: Option<BuildingCode>,
    pub decision: ReviewDecision,
    pub comment: String,
    pub reviewer: WorkerId,
    pub reviewed_at: DateTime<Utc>,
    /// The correction recorded on the phone for a sent-back report (the newest one).
    pub corrected_by: Option<RecordId>,
}

const REVIEW_SELECT: &str = "SELECT v.record_id, v.decision, v.comment, v.reviewer, v.reviewed_at, \
     CASE WHEN i.id IS NOT NULL THEN 'inspection' WHEN e.id IS NOT NULL THEN 'event' END, \
     coalesce(i.building_code, e.building_code), \
     (SELECT c.id FROM (SELECT id, recorded_at FROM inspections WHERE corrects = v.record_id \
                        UNION ALL SELECT id, recorded_at FROM events WHERE corrects = v.record_id) c \
      ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) \
     FROM review_outcomes v \
     LEFT JOIN inspections i ON i.id = v.record_id \
     LEFT JOIN events e ON e.id = v.record_id";

impl Archive {
    /// Every review received, newest first.
    pub fn reviews(&self) -> StoreResult<Vec<ReviewView>> {
        self.read(|conn| {
            query_reviews(
                conn,
                &format!("{REVIEW_SELECT} ORDER BY v.reviewed_at DESC, v.record_id"),
                [],
            )
        })
    }

    /// Reports sent back that the worker has not corrected yet: the to-do list of the review loop.
    pub fn sent_back_uncorrected(&self) -> StoreResult<Vec<ReviewView>> {
        Ok(self
            .reviews()?
            .into_iter()
            .filter(|r| r.decision == ReviewDecision::SentBack && r.corrected_by.is_none())
            .collect())
    }

    pub fn review_of(&self, record: RecordId) -> StoreResult<Option<ReviewView>> {
        self.read(|conn| {
            query_reviews(
                conn,
                &format!("{REVIEW_SELECT} WHERE v.record_id = ?1"),
                [super::codec::record_id_text(record)],
            )
            .map(|mut v| v.pop())
        })
    }
}

fn query_reviews(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<ReviewView>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let decision: String = r.get(1)?;
        out.push(ReviewView {
            record_id: parse_record_id(&r.get::<_, String>(0)?)?,
            decision: ReviewDecision::parse(&decision)
                .ok_or_else(|| StoreError::corrupt("a stored review decision is unknown"))?,
            comment: r.get(2)?,
            reviewer: WorkerId(r.get(3)?),
            reviewed_at: parse_time(&r.get::<_, String>(4)?)?,
            kind: r
                .get::<_, Option<String>>(5)?
                .map(|k| RecordKind::parse(&k))
                .transpose()?,
            building: r
                .get::<_, Option<String>>(6)?
                .map(|c| parse_code(&c))
                .transpose()?,
            corrected_by: r
                .get::<_, Option<String>>(7)?
                .map(|id| parse_record_id(&id))
                .transpose()?,
        });
    }
    Ok(out)
}
