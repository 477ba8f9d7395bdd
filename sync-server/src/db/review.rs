//! Rows and pure helpers of supervisor review, shared by both engines.
//!
//! The review queue is backed by `review_items`: one immutable row per synced inspection or event,
//! written the first time the queue (or a decision) looks past the indexer's watermark
//! (`review_index_state.indexed_seq`, a server sequence number). It holds
//! the proof-of-presence judgement (`gridwalk_core::supervision`, against the building's location
//! and the policy of that moment) and the resubmission link; decisions stay in `review_outcomes`
//! (the rows the phones pull) and are joined in when read, so nothing is stored twice.

use chrono::{DateTime, Utc};
use gridwalk_core::policy::SupervisionPolicy;
use gridwalk_core::protocol::{
    ReviewDecision, ReviewItem, ReviewKind, ReviewOutcome, ReviewState, Scope,
};
use gridwalk_core::supervision::check_presence;
use gridwalk_core::{GeoPoint, GpsFix, GridId, RecordId, WorkerId};

use super::DbError;
use crate::review::rules::ReviewRefusal;

/// Server sequence numbers covered per indexing transaction: keeps the SQLite writer free for
/// pushes in between, and bounds each step whatever the table statistics say.
pub const INDEX_SPAN: i64 = 2_000;

/// One indexing step: how many reports it indexed, and whether committed changes remain beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStep {
    pub indexed: usize,
    pub more: bool,
}

/// The sequence range `(from, upto]` the next step covers, given the first unindexed report's
/// number (`next`, if any up to `last`) and the last committed change number: it starts just
/// before that report (ranges holding only building changes are skipped in one step) and never
/// ends past `last`, so no number below the new watermark can still be uncommitted. `None`:
/// nothing to index, the watermark moves to `last`.
pub fn index_range(next: Option<i64>, last: i64) -> Option<(i64, i64)> {
    let from = next?.saturating_sub(1);
    Some((from, from.saturating_add(INDEX_SPAN).min(last)))
}

/// SQL (both engines) for the first unindexed report: parameters watermark, last.
pub const NEXT_REPORT_SQL: &str = "SELECT min(server_seq) FROM records \
     WHERE server_seq > {w} AND server_seq <= {l} AND kind IN ('inspection', 'event')";

/// One page request of the review queue.
#[derive(Debug, Clone)]
pub struct ReviewQueueParams {
    pub scope: Scope,
    pub kind: Option<ReviewKind>,
    pub grid: Option<GridId>,
    pub worker: Option<WorkerId>,
    pub off_site: Option<bool>,
    pub state: Option<ReviewState>,
    /// Items with a server sequence strictly after this one.
    pub after_seq: u64,
    pub limit: u32,
}

/// A decision to record.
#[derive(Debug, Clone)]
pub struct DecideParams {
    pub record: RecordId,
    /// The reviewer's scope: the report's building must lie in it.
    pub scope: Scope,
    pub decision: ReviewDecision,
    /// Already trimmed and length-checked.
    pub comment: String,
    pub reviewer: WorkerId,
    pub at: DateTime<Utc>,
    /// Records merged since the last indexing are indexed first, in the same transaction.
    pub policy: SupervisionPolicy,
}

/// What became of a decision.
#[derive(Debug, Clone)]
pub enum DecideResult {
    /// No record with this id.
    UnknownRecord,
    /// The record's building is outside the reviewer's scope.
    OutOfScope,
    /// A building correction: settled as a conflict, not reviewed.
    NotReviewable,
    Refused(ReviewRefusal),
    /// The item after the decision; `recorded` is false when the same decision was already the
    /// latest (a retry), so nothing new reached the phone.
    Decided {
        item: Box<ReviewItem>,
        recorded: bool,
    },
}

/// The building's place with a review item, for the scope check.
#[derive(Debug, Clone)]
pub struct PlacedItem {
    pub item: ReviewItem,
    pub community: String,
    pub street: String,
}

/// The presence judgement stored with an item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    pub off_site: bool,
    pub distance_m: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub radius_m: f64,
}

/// Judges a record's fix (the `fix` of its payload, as JSON) against its building's location
/// (JSON), with the core's presence rule. Unreadable input shows no presence: off site.
pub fn judge_presence(
    fix_json: Option<&str>,
    location_json: Option<&str>,
    policy: &SupervisionPolicy,
) -> Judged {
    let fix = fix_json.and_then(|s| serde_json::from_str::<GpsFix>(s).ok());
    let site = location_json.and_then(|s| serde_json::from_str::<GeoPoint>(s).ok());
    let finite = |v: f64| v.is_finite().then_some(v);
    match (fix, site) {
        (Some(fix), Some(site)) => {
            let p = check_presence(&fix, &site, policy);
            Judged {
                off_site: p.off_site,
                distance_m: finite(p.distance_m),
                accuracy_m: finite(p.accuracy_m),
                radius_m: p.radius_m,
            }
        }
        (fix, _) => Judged {
            off_site: true,
            distance_m: None,
            accuracy_m: fix.and_then(|f| finite(f.accuracy_m)),
            radius_m: policy.presence_radius_m,
        },
    }
}

/// The state a report is in, from its latest decision and whether a correction replaced it.
pub fn state_of(decision: Option<ReviewDecision>, corrected: bool) -> ReviewState {
    match (corrected, decision) {
        (true, _) => ReviewState::Resubmitted,
        (false, None) => ReviewState::Pending,
        (false, Some(ReviewDecision::Approved)) => ReviewState::Approved,
        (false, Some(ReviewDecision::SentBack)) => ReviewState::SentBack,
    }
}

/// SQL (both engines) for "a correction names `i`": `i` is the review item alias.
pub const CORRECTED_SQL: &str =
    "EXISTS (SELECT 1 FROM review_items c WHERE c.corrects = i.record_id)";

/// The WHERE fragment selecting items in `state`; `o` is the latest outcome's alias. Only fixed
/// text: no input reaches the SQL.
pub fn state_sql(state: ReviewState) -> String {
    match state {
        ReviewState::Resubmitted => CORRECTED_SQL.to_owned(),
        ReviewState::Pending => format!("NOT {CORRECTED_SQL} AND o.seq IS NULL"),
        ReviewState::Approved => format!("NOT {CORRECTED_SQL} AND o.decision = 'approved'"),
        ReviewState::SentBack => format!("NOT {CORRECTED_SQL} AND o.decision = 'sent_back'"),
    }
}

/// The columns of a review item (aliases: `i` item, `b` building, `o` latest outcome), in the
/// order [`ItemColumns`] reads them.
pub const ITEM_SELECT: &str = "i.record_id, i.kind, i.building_code, b.grid, i.username, \
     i.device_id, i.server_seq, i.received_at, i.off_site, i.distance_m, i.accuracy_m, \
     i.radius_m, i.corrects, i.original, \
     (SELECT c.record_id FROM review_items c WHERE c.corrects = i.record_id \
      ORDER BY c.server_seq LIMIT 1), \
     o.decision, o.comment, o.reviewer, o.reviewed_at, b.community, b.street";

/// The joins under [`ITEM_SELECT`].
pub const ITEM_FROM: &str = "review_items i \
     JOIN buildings b ON b.code = i.building_code \
     LEFT JOIN review_outcomes o ON o.seq = \
         (SELECT max(x.seq) FROM review_outcomes x WHERE x.record_id = i.record_id)";

/// One row of [`ITEM_SELECT`], read by either engine.
#[derive(Debug, Clone)]
pub struct ItemColumns {
    pub record: String,
    pub kind: String,
    pub building: String,
    pub grid: String,
    pub worker: String,
    pub device: String,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
    pub off_site: bool,
    pub distance_m: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub radius_m: f64,
    pub corrects: Option<String>,
    pub original: String,
    pub corrected_by: Option<String>,
    pub decision: Option<String>,
    pub comment: Option<String>,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub community: String,
    pub street: String,
}

impl ItemColumns {
    pub fn into_placed(self) -> Result<PlacedItem, DbError> {
        use super::codec::{parse_code, parse_device, parse_record_id, seq_u};
        let kind = ReviewKind::parse(&self.kind)
            .ok_or_else(|| DbError::Corrupt(format!("review kind '{}'", self.kind)))?;
        let record = parse_record_id(&self.record)?;
        let decision = match (self.decision, self.reviewer, self.reviewed_at) {
            (Some(d), Some(reviewer), Some(at)) => Some(ReviewOutcome {
                record,
                decision: ReviewDecision::parse(&d)
                    .ok_or_else(|| DbError::Corrupt(format!("review decision '{d}'")))?,
                comment: self.comment.unwrap_or_default(),
                reviewer: WorkerId(reviewer),
                reviewed_at: at,
            }),
            _ => None,
        };
        let corrected_by = self
            .corrected_by
            .as_deref()
            .map(parse_record_id)
            .transpose()?;
        let state = state_of(
            decision.as_ref().map(|d| d.decision),
            corrected_by.is_some(),
        );
        Ok(PlacedItem {
            item: ReviewItem {
                record,
                kind,
                building: parse_code(&self.building)?,
                grid: GridId(self.grid),
                worker: WorkerId(self.worker),
                device: parse_device(&self.device)?,
                seq: seq_u(self.seq),
                received_at: self.received_at,
                off_site: self.off_site,
                distance_m: self.distance_m,
                accuracy_m: self.accuracy_m,
                radius_m: self.radius_m,
                corrects: self.corrects.as_deref().map(parse_record_id).transpose()?,
                original: parse_record_id(&self.original)?,
                corrected_by,
                state,
                decision,
            },
            community: self.community,
            street: self.street,
        })
    }
}

impl PlacedItem {
    pub fn in_scope(&self, scope: &Scope) -> bool {
        scope.contains_place(
            &self.item.grid,
            &gridwalk_core::CommunityId(self.community.clone()),
            &gridwalk_core::StreetId(self.street.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SupervisionPolicy {
        SupervisionPolicy {
            presence_radius_m: 50.0,
            max_accuracy_credit_m: 50.0,
        }
    }

    #[test]
    fn presence_is_the_core_rule_and_unreadable_input_is_off_site() {
        let fix = r#"{"point":{"lat":22.5560,"lon":113.8830},"accuracy_m":20.0,"taken_at":"2026-06-01T02:00:00Z"}"#;
        let site = r#"{"lat":22.5550,"lon":113.8830}"#;
        let j = judge_presence(Some(fix), Some(site), &policy());
        // ~111 m, 20 m credited: 91 m > 50 m.
        assert!(j.off_site);
        let d = j.distance_m.expect("distance");
        assert!((d - 111.19).abs() < 0.1, "{d}");
        assert_eq!((j.accuracy_m, j.radius_m), (Some(20.0), 50.0));

        let near = r#"{"lat":22.5556,"lon":113.8830}"#; // ~44 m from the fix
        assert!(!judge_presence(Some(fix), Some(near), &policy()).off_site);

        let j = judge_presence(Some(fix), None, &policy());
        assert_eq!(
            j,
            Judged {
                off_site: true,
                distance_m: None,
                accuracy_m: Some(20.0),
                radius_m: 50.0
            }
        );
        assert!(judge_presence(Some("{}"), Some(site), &policy()).off_site);
    }

    #[test]
    fn index_ranges_skip_to_the_next_report_and_stop_at_the_last_committed_change() {
        assert_eq!(index_range(None, 500), None);
        assert_eq!(index_range(Some(101), 500), Some((100, 500)));
        assert_eq!(
            index_range(Some(101), 90_000),
            Some((100, 100 + INDEX_SPAN))
        );
    }

    #[test]
    fn states_follow_decision_and_correction() {
        assert_eq!(state_of(None, false), ReviewState::Pending);
        assert_eq!(
            state_of(Some(ReviewDecision::SentBack), false),
            ReviewState::SentBack
        );
        assert_eq!(
            state_of(Some(ReviewDecision::Approved), false),
            ReviewState::Approved
        );
        assert_eq!(
            state_of(Some(ReviewDecision::SentBack), true),
            ReviewState::Resubmitted
        );
        assert_eq!(state_of(None, true), ReviewState::Resubmitted);
    }
}
