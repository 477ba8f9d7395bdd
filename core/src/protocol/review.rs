//! Supervisor review (审核) and worker assessment (自动考核): the wire types of the office side.
//!
//! The review queue lists synced inspections and events with their proof-of-presence check
//! (电子监察) and the link between a sent-back report and its resubmission. Query types refuse
//! unknown parameters; answer types tolerate unknown fields.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{DeviceId, ReviewDecision, ReviewOutcome};
use crate::assessment::{Assessment, Period};
use crate::domain::{BuildingCode, GridId, RecordId, WorkerId};

/// Which field records are reviewed. Building corrections are not: a losing correction is a
/// conflict (`GET /v1/review/conflicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    Inspection,
    Event,
}

impl ReviewKind {
    pub const ALL: [ReviewKind; 2] = [ReviewKind::Inspection, ReviewKind::Event];

    /// The same words as a pushed record's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewKind::Inspection => "inspection",
            ReviewKind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a report stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// No decision yet.
    Pending,
    /// Approved (final).
    Approved,
    /// 退回: sent back with a comment; the worker's correction has not arrived yet.
    SentBack,
    /// A correction naming this report (`corrects`) has arrived; it replaces this one, which is
    /// closed, and is reviewed in its own right.
    Resubmitted,
}

impl ReviewState {
    pub const ALL: [ReviewState; 4] = [
        ReviewState::Pending,
        ReviewState::Approved,
        ReviewState::SentBack,
        ReviewState::Resubmitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::SentBack => "sent_back",
            ReviewState::Resubmitted => "resubmitted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// `GET /v1/review/queue?kind=&grid=&worker=&off_site=&state=&after=&limit=`: reports about
/// buildings in the caller's scope, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewQueueQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ReviewKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_site: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ReviewState>,
    /// `next_after` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One report in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub record: RecordId,
    pub kind: ReviewKind,
    pub building: BuildingCode,
    /// The building's grid now.
    pub grid: GridId,
    pub worker: WorkerId,
    pub device: DeviceId,
    /// The server's sequence number of the record: the queue's order and paging key.
    pub seq: u64,
    pub received_at: DateTime<Utc>,
    /// Proof of presence failed: the fix was too far from the building (see `supervision`).
    pub off_site: bool,
    /// Distance of the fix from the building, metres (`None` when it cannot be computed).
    pub distance_m: Option<f64>,
    /// The accuracy the phone reported, metres (`None` when not a finite number).
    pub accuracy_m: Option<f64>,
    /// The presence radius the check was judged with.
    pub radius_m: f64,
    /// The report this one corrects (a resubmission after a send-back).
    pub corrects: Option<RecordId>,
    /// The first report of the chain this one belongs to (itself when it corrects nothing).
    pub original: RecordId,
    /// The resubmission that replaced this report, if one arrived.
    pub corrected_by: Option<RecordId>,
    pub state: ReviewState,
    /// The latest decision on this report.
    pub decision: Option<ReviewOutcome>,
}

/// A page of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewQueuePage {
    pub items: Vec<ReviewItem>,
    pub has_more: bool,
    /// Send as `after` for the next page (set when `has_more`).
    #[serde(default)]
    pub next_after: Option<u64>,
}

/// `POST /v1/review/{record}`: a supervisor's decision. A send-back needs a comment (the worker
/// reads it on the phone); an approval may carry one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: String,
}

/// `GET /v1/assessment/workers/{worker}?from=&to=` and `/v1/assessment/grids/{grid}?from=&to=`:
/// local days, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A worker's assessment on their grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerAssessment {
    pub grid: GridId,
    pub assessment: Assessment,
}

/// A grid's assessment: its assigned worker first, then everyone else who inspected or reported
/// in the grid during the period (their visits are what "covered by others" counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridAssessment {
    pub grid: GridId,
    pub period: Period,
    pub assigned_worker: Option<WorkerId>,
    pub workers: Vec<Assessment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_requests_refuse_unknown_fields() {
        for k in ReviewKind::ALL {
            assert_eq!(ReviewKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).expect("serializes"),
                serde_json::json!(k.as_str())
            );
        }
        for s in ReviewState::ALL {
            assert_eq!(ReviewState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("serializes"),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(ReviewKind::parse("building_correction"), None);

        let r: ReviewRequest =
            serde_json::from_str(r#"{"decision":"sent_back","comment":"photo missing"}"#)
                .expect("parses");
        assert_eq!(r.decision, ReviewDecision::SentBack);
        let r: ReviewRequest = serde_json::from_str(r#"{"decision":"approved"}"#).expect("parses");
        assert_eq!(r.comment, "");
        assert!(serde_json::from_str::<ReviewRequest>(r#"{"decision":"maybe"}"#).is_err());
        assert!(
            serde_json::from_str::<ReviewRequest>(r#"{"decision":"approved","force":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ReviewQueueQuery>(r#"{"sort":"new"}"#).is_err());
    }
}
