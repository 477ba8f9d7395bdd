//! A building's star explanation (星级说明): the rating the rules give today, with every rule that
//! fired and its inputs in words. Provisional on the phone; the server's rating is authoritative.

use std::time::SystemTime;

use gridwalk_core::rating;

use crate::building::CategoryScores;
use crate::types::{LocalDate, instant, stars};

/// Where the scores came from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RatingBasis {
    /// The checklist of this inspection.
    Inspection {
        id: String,
        started_at: SystemTime,
        finished_at: SystemTime,
    },
    /// The scores stored in the building's archive.
    Archive,
    /// Nothing to score.
    NoBasis,
}

/// What a rule did to the stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Effect {
    /// The scores alone earn these stars.
    Scored { stars: u8 },
    /// The stars may not exceed `max`.
    Cap { max: u8 },
    /// First rating of an unrated building.
    Initial { stars: u8 },
    /// 降星摘牌
    Lowered { from: u8, to: u8 },
    /// 升星挂牌 (one step)
    Raised { from: u8, to: u8 },
    /// Stays at `at` although `earned` would be allowed: the upgrade is not verified yet.
    Held { at: u8, earned: u8 },
    /// Information only.
    Note,
}

impl From<rating::Effect> for Effect {
    fn from(e: rating::Effect) -> Self {
        match e {
            rating::Effect::Scored { stars } => Self::Scored { stars: stars.get() },
            rating::Effect::Cap { max } => Self::Cap { max: max.get() },
            rating::Effect::Initial { stars } => Self::Initial { stars: stars.get() },
            rating::Effect::Lowered { from, to } => Self::Lowered {
                from: from.get(),
                to: to.get(),
            },
            rating::Effect::Raised { from, to } => Self::Raised {
                from: from.get(),
                to: to.get(),
            },
            rating::Effect::Held { at, earned } => Self::Held {
                at: at.get(),
                earned: earned.get(),
            },
            rating::Effect::Note => Self::Note,
        }
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RuleFired {
    /// Stable dotted id, e.g. `cap.overdue_hazard`, `change.downgrade`.
    pub rule: String,
    pub effect: Effect,
    /// The rule and its inputs, in words.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StarExplanation {
    pub building: String,
    pub rated_on: LocalDate,
    /// The stars the rules give; `None` while unrated.
    pub stars: Option<u8>,
    /// The archive's stars before this rating.
    pub previous_stars: Option<u8>,
    /// What the scores alone earn, before caps and the upgrade rule.
    pub score_stars: Option<u8>,
    pub scores: Option<CategoryScores>,
    pub mean_score: Option<f64>,
    pub basis: RatingBasis,
    pub rules_fired: Vec<RuleFired>,
    pub policy_version: u32,
    pub catalog_version: u32,
}

impl From<rating::Rating> for StarExplanation {
    fn from(r: rating::Rating) -> Self {
        Self {
            building: r.building.into(),
            rated_on: r.rated_on.into(),
            stars: stars(r.stars),
            previous_stars: stars(r.previous_stars),
            score_stars: stars(r.score_stars),
            scores: r.scores.map(Into::into),
            mean_score: r.mean_score,
            basis: match r.basis {
                rating::RatingBasis::Inspection {
                    id,
                    started_at,
                    finished_at,
                } => RatingBasis::Inspection {
                    id: id.to_string(),
                    started_at: instant(started_at),
                    finished_at: instant(finished_at),
                },
                rating::RatingBasis::Archive => RatingBasis::Archive,
                rating::RatingBasis::None => RatingBasis::NoBasis,
            },
            rules_fired: r
                .rules_fired
                .into_iter()
                .map(|f| RuleFired {
                    rule: f.rule.as_string(),
                    effect: f.effect.into(),
                    message: f.message,
                })
                .collect(),
            policy_version: r.policy_version,
            catalog_version: r.catalog_version,
        }
    }
}
