//! Supervisors' decisions on the worker's synced reports (审核), as the phone received them.

use std::sync::Arc;
use std::time::SystemTime;

use gridwalk_core::protocol::ReviewDecision as CoreDecision;
use gridwalk_core::store::ReviewView;

use crate::GridwalkError;
use crate::archive::GridwalkArchive;
use crate::types::instant;

/// Approved (通过) or sent back (退回) with a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReviewDecision {
    Approved,
    SentBack,
}

impl From<CoreDecision> for ReviewDecision {
    fn from(d: CoreDecision) -> Self {
        match d {
            CoreDecision::Approved => ReviewDecision::Approved,
            CoreDecision::SentBack => ReviewDecision::SentBack,
        }
    }
}

/// A supervisor's decision on one of this phone's reports.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Review {
    pub record_id: String,
    /// `"inspection"` or `"event"`; `None` when the report is no longer on the phone.
    pub kind: Option<String>,
    pub building: Option<String>,
    pub decision: ReviewDecision,
    pub comment: String,
    pub reviewer: String,
    pub reviewed_at: SystemTime,
    /// The correction recorded on the phone for a sent-back report (the newest), if any.
    pub corrected_by: Option<String>,
}

impl From<ReviewView> for Review {
    fn from(v: ReviewView) -> Self {
        Self {
            record_id: v.record_id.to_string(),
            kind: v.kind.map(|k| k.as_str().to_owned()),
            building: v.building.map(Into::into),
            decision: v.decision.into(),
            comment: v.comment,
            reviewer: v.reviewer.0,
            reviewed_at: instant(v.reviewed_at),
            corrected_by: v.corrected_by.map(|c| c.to_string()),
        }
    }
}

#[uniffi::export]
impl GridwalkArchive {
    /// Every review received, newest first.
    pub fn reviews(self: Arc<Self>) -> Result<Vec<Review>, GridwalkError> {
        Ok(self.core().reviews()?.into_iter().map(Into::into).collect())
    }

    /// Reports sent back that still wait for their correction: the worker's review to-do list.
    pub fn sent_back_uncorrected(self: Arc<Self>) -> Result<Vec<Review>, GridwalkError> {
        Ok(self
            .core()
            .sent_back_uncorrected()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
