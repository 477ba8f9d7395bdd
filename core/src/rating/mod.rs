//! Star rating rules (星级评价): checklist → category scores → stars, the downgrade caps (降星摘牌),
//! the one-step upgrade (升星挂牌), and an explanation of every rating.
//!
//! One implementation for the phone (offline, provisional) and the server (authoritative).
//!
//! How a rating is reached, in order:
//! 1. **Scores** come from the building's latest standing inspection that has checklist results
//!    ([`score_checklist`]); a category that inspection did not check takes the archive's score for
//!    it, or 0 when the archive has none (stars are earned, not presumed). Without any such
//!    inspection, the archive's stored scores are used; without those, there is no basis.
//! 2. **Stars from the scores** ([`stars_from_scores`]): the highest policy level whose mean and
//!    per-category floor are met.
//! 3. **Caps** (downgrade rules): overdue hazards, incidents within their window, the blacklist. The
//!    lowest applicable cap wins.
//! 4. **Change from the previous stars** `P`: a lower result applies at once (降星 is immediate); a
//!    higher one moves up **one step only**, and only when a re-inspection verifies it (see
//!    `upgrade`). An unrated building takes its first rating directly.

mod caps;
mod rate;
mod scores;
#[cfg(test)]
mod tests;
mod upgrade;

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, CategoryScores, ItemId, RecordId, Stars};

pub use rate::{rate_building, rate_many};
pub use scores::{ChecklistScores, score_checklist, stars_from_scores, weighted_mean};

/// A building's rating with the reasons for it. Stored in the rating history and sent to phones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub building: BuildingCode,
    pub rated_on: NaiveDate,
    /// The new stars; `None` while the building is unrated and nothing rates it.
    pub stars: Option<Stars>,
    /// The stars before this rating (the archive's).
    pub previous_stars: Option<Stars>,
    /// What the scores alone earn, before caps and the upgrade rule.
    pub score_stars: Option<Stars>,
    pub scores: Option<CategoryScores>,
    pub mean_score: Option<f64>,
    pub basis: RatingBasis,
    pub rules_fired: Vec<RuleFired>,
    pub policy_version: u32,
    pub catalog_version: u32,
}

impl Rating {
    /// Whether a rule with this id fired.
    pub fn fired(&self, rule: &RuleId) -> bool {
        self.rules_fired.iter().any(|r| &r.rule == rule)
    }
}

/// Where the scores came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum RatingBasis {
    /// The checklist of this inspection.
    Inspection {
        id: RecordId,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    },
    /// The scores stored in the building's archive (no inspection with a checklist).
    Archive,
    /// Nothing to score.
    None,
}

/// One rule that fired, with its inputs spelled out in `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFired {
    pub rule: RuleId,
    pub effect: Effect,
    pub message: String,
}

/// What a rule did to the stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// The scores alone earn these stars.
    Scored { stars: Stars },
    /// The stars may not exceed `max`.
    Cap { max: Stars },
    /// First rating of an unrated building.
    Initial { stars: Stars },
    /// 降星摘牌
    Lowered { from: Stars, to: Stars },
    /// 升星挂牌 (one step)
    Raised { from: Stars, to: Stars },
    /// Stays at `at` although `earned` would be allowed: the upgrade is not verified.
    Held { at: Stars, earned: Stars },
    /// Information only.
    Note,
}

/// Stable rule identifiers, serialized as dotted strings (`"cap.overdue_hazard"`). Ids this version
/// does not know (from a newer server) are kept verbatim as [`RuleId::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RuleId {
    /// `score.stars`: what the scores earn.
    ScoreStars,
    /// `score.from_archive`: no inspection with a checklist; the archive's scores were used.
    ScoreFromArchive,
    /// `score.no_basis`: nothing to score.
    ScoreNoBasis,
    /// `score.category_not_checked`: the inspection had no results in a category.
    ScoreCategoryNotChecked,
    /// `score.unknown_items`: results for items not in the catalog were ignored.
    ScoreUnknownItems,
    /// `cap.overdue_hazard`: a hazard or micro-event notice not rectified by its deadline.
    CapOverdueHazard,
    /// `cap.incident.<category>`: an incident of that catalog category within its window.
    CapIncident(ItemId),
    /// `cap.blacklist`
    CapBlacklist,
    /// `change.initial`
    Initial,
    /// `change.downgrade`
    Downgrade,
    /// `change.upgrade`
    Upgrade,
    /// `hold.upgrade`: a higher rating is allowed but not verified yet.
    UpgradeHeld,
    Other(String),
}

impl RuleId {
    pub fn as_string(&self) -> String {
        match self {
            RuleId::ScoreStars => "score.stars".into(),
            RuleId::ScoreFromArchive => "score.from_archive".into(),
            RuleId::ScoreNoBasis => "score.no_basis".into(),
            RuleId::ScoreCategoryNotChecked => "score.category_not_checked".into(),
            RuleId::ScoreUnknownItems => "score.unknown_items".into(),
            RuleId::CapOverdueHazard => "cap.overdue_hazard".into(),
            RuleId::CapIncident(c) => format!("cap.incident.{c}"),
            RuleId::CapBlacklist => "cap.blacklist".into(),
            RuleId::Initial => "change.initial".into(),
            RuleId::Downgrade => "change.downgrade".into(),
            RuleId::Upgrade => "change.upgrade".into(),
            RuleId::UpgradeHeld => "hold.upgrade".into(),
            RuleId::Other(s) => s.clone(),
        }
    }
}

impl From<String> for RuleId {
    fn from(s: String) -> Self {
        match s.as_str() {
            "score.stars" => RuleId::ScoreStars,
            "score.from_archive" => RuleId::ScoreFromArchive,
            "score.no_basis" => RuleId::ScoreNoBasis,
            "score.category_not_checked" => RuleId::ScoreCategoryNotChecked,
            "score.unknown_items" => RuleId::ScoreUnknownItems,
            "cap.overdue_hazard" => RuleId::CapOverdueHazard,
            "cap.blacklist" => RuleId::CapBlacklist,
            "change.initial" => RuleId::Initial,
            "change.downgrade" => RuleId::Downgrade,
            "change.upgrade" => RuleId::Upgrade,
            "hold.upgrade" => RuleId::UpgradeHeld,
            other => match other.strip_prefix("cap.incident.") {
                Some(c) if !c.is_empty() => RuleId::CapIncident(ItemId::from(c)),
                _ => RuleId::Other(s),
            },
        }
    }
}

impl From<RuleId> for String {
    fn from(r: RuleId) -> String {
        r.as_string()
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}
