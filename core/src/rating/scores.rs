//! Checklist results → category scores → stars from the scores alone.
//!
//! A category's score is `100 × Σ weight(Pass) / Σ weight(Pass or Fail)`, with each item's weight
//! taken from the catalog; NotApplicable items leave the denominator. A category whose checked items
//! are all NotApplicable scores 100: nothing in it applies to this building, so nothing in it is
//! wrong (a building without piped gas is not worse for it). A category with no results at all was
//! not checked; the rating decides what that means (see `rate`). Results for items the current
//! catalog does not have are ignored and named in the explanation.

use crate::catalog::Catalog;
use crate::domain::{Category, CategoryScores, ChecklistResult, ItemId, ItemOutcome, Stars};
use crate::policy::RatingPolicy;

/// Scores of one inspection's checklist, per category; `None` where the category was not checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistScores {
    scores: [Option<f64>; 4],
    /// Result items the catalog does not know (left out of every score).
    pub unknown_items: Vec<ItemId>,
}

impl ChecklistScores {
    pub fn get(&self, c: Category) -> Option<f64> {
        self.scores[index(c)]
    }

    /// True when at least one category was checked.
    pub fn any(&self) -> bool {
        self.scores.iter().any(Option::is_some)
    }
}

fn index(c: Category) -> usize {
    match c {
        Category::SafetyLivability => 0,
        Category::Management => 1,
        Category::HonestyCredit => 2,
        Category::CivilityHygiene => 3,
    }
}

/// Score checklist results with the catalog's item weights.
pub fn score_checklist(results: &[ChecklistResult], catalog: &Catalog) -> ChecklistScores {
    let mut applicable = [0.0_f64; 4];
    let mut passed = [0.0_f64; 4];
    let mut seen = [false; 4];
    let mut unknown_items = Vec::new();
    for r in results {
        let Some(item) = catalog.checklist_item(&r.item) else {
            unknown_items.push(r.item.clone());
            continue;
        };
        // The catalog's category is authoritative; the copy on the result is for grouping only.
        let k = index(item.category);
        seen[k] = true;
        match r.outcome {
            ItemOutcome::Pass => {
                applicable[k] += item.weight;
                passed[k] += item.weight;
            }
            ItemOutcome::Fail => applicable[k] += item.weight,
            ItemOutcome::NotApplicable => {}
        }
    }
    let mut scores = [None; 4];
    for k in 0..4 {
        if seen[k] {
            scores[k] = Some(if applicable[k] > 0.0 {
                100.0 * passed[k] / applicable[k]
            } else {
                100.0
            });
        }
    }
    ChecklistScores {
        scores,
        unknown_items,
    }
}

/// The weighted mean of the four category scores, with the policy's category weights.
pub fn weighted_mean(scores: &CategoryScores, policy: &RatingPolicy) -> f64 {
    let w = &policy.category_weights;
    let (sum, weights) = Category::ALL.iter().fold((0.0, 0.0), |(s, ws), &c| {
        (s + w.get(c) * scores.get(c), ws + w.get(c))
    });
    if weights > 0.0 { sum / weights } else { 0.0 }
}

/// Stars the scores alone earn: the highest level whose mean threshold and category floor are both
/// met; below the lowest level, 1★.
pub fn stars_from_scores(scores: &CategoryScores, policy: &RatingPolicy) -> Stars {
    let mean = weighted_mean(scores, policy);
    let lowest = Category::ALL
        .iter()
        .map(|&c| scores.get(c))
        .fold(f64::INFINITY, f64::min);
    policy
        .levels
        .iter()
        .rev()
        .find(|l| mean >= l.min_mean && lowest >= l.min_category)
        .map_or(Stars::MIN, |l| l.stars)
}
