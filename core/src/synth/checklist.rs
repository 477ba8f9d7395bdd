//! Checklist outcomes. A rated building's archive scores are those of its latest inspection's
//! checklist, and that checklist is drawn so the star rules (`rating::stars_from_scores`: the
//! policy's weighted mean and per-category floors) earn exactly the building's drawn stars, with
//! the weighted mean inside the profile's band for them. Older checklists are drawn around the
//! building's scores and do not count for the rating (only the latest checklist does).
//!
//! How the latest checklist is drawn: target scores per category (a weighted mean inside the
//! band, categories spread around it), then each item not applicable by chance, else failing with
//! chance `(100 − target) / 100`; a draw the rules would rate differently is drawn again, up to
//! [`MAX_DRAWS`] times (about a third of the draws of a middle level are kept, so falling through
//! is rare). Then a deterministic local search from the last draw settles it (see [`climb`]).

use rand::{Rng, RngExt};

use super::context::Ctx;
use crate::domain::{Category, CategoryScores, ItemOutcome, Stars};
use crate::rating::{stars_from_scores, weighted_mean};

/// Draws of the latest checklist before the deterministic climb takes over.
const MAX_DRAWS: usize = 16;

/// Target category scores for a building of `stars`: a weighted mean (the policy's category
/// weights) drawn from the profile's band, kept off its edges, plus per-category offsets whose
/// weighted sum is zero, never leaving 0..=100.
fn targets(ctx: &Ctx<'_>, stars: Stars, rng: &mut impl Rng) -> [f64; 4] {
    let band = ctx.profile.score_bands[usize::from(stars.get() - 1)];
    let inset = ((band.hi - band.lo) / 4.0).min(0.5);
    let mean = band.lo + inset + (band.hi - band.lo - 2.0 * inset) * rng.random::<f64>();
    let reach = ctx
        .profile
        .category_score_spread
        .min(100.0 - mean)
        .min(mean);
    let weights = Category::ALL.map(|c| ctx.policy.rating.category_weights.get(c));
    let raw: [f64; 4] = std::array::from_fn(|_| 2.0 * rng.random::<f64>() - 1.0);
    let total: f64 = weights.iter().sum();
    let centre = raw.iter().zip(&weights).map(|(r, w)| r * w).sum::<f64>() / total;
    // |raw - centre| ≤ 2, so each target stays within `reach` of the mean.
    raw.map(|r| (mean + (r - centre) * reach / 2.0).clamp(0.0, 100.0))
}

/// Outcomes drawn item by item around per-category scores (catalog order): not applicable with the
/// profile's chance, else failing with chance `(100 − score) / 100`. One uniform number decides
/// each item (its low part: not applicable; the rest split into fail and pass), half the draws of
/// two separate chances.
fn draw(ctx: &Ctx<'_>, scores: &[f64; 4], rng: &mut impl Rng, out: &mut Vec<ItemOutcome>) {
    let na = ctx.profile.item_not_applicable_chance;
    let fail_below = scores.map(|s| na + (1.0 - na) * (100.0 - s) / 100.0);
    out.clear();
    for &(k, _) in &ctx.item_slots {
        let u = rng.random::<f64>();
        out.push(if u < na {
            ItemOutcome::NotApplicable
        } else if u < fail_below[k] {
            ItemOutcome::Fail
        } else {
            ItemOutcome::Pass
        });
    }
}

/// The category scores of `outcomes` (catalog order). The same arithmetic, in the same order, as
/// `rating::score_checklist`, so the archive's scores equal what the rules compute from the
/// inspection record, bit for bit.
pub(crate) fn scores(ctx: &Ctx<'_>, outcomes: &[ItemOutcome]) -> CategoryScores {
    let mut applicable = [0.0_f64; 4];
    let mut passed = [0.0_f64; 4];
    let mut seen = [false; 4];
    for (&(k, w), o) in ctx.item_slots.iter().zip(outcomes) {
        seen[k] = true;
        match o {
            ItemOutcome::Pass => {
                applicable[k] += w;
                passed[k] += w;
            }
            ItemOutcome::Fail => applicable[k] += w,
            ItemOutcome::NotApplicable => {}
        }
    }
    let score = |k: usize| {
        if !seen[k] {
            // The checklist covers every category of the catalog; a category without items
            // would be "not checked", which the rules count as 0.
            0.0
        } else if applicable[k] > 0.0 {
            100.0 * passed[k] / applicable[k]
        } else {
            100.0
        }
    };
    CategoryScores {
        safety_livability: score(0),
        management: score(1),
        honesty_credit: score(2),
        civility_hygiene: score(3),
    }
}

/// Whether the rules give `scores` exactly `stars`, with the weighted mean in the profile's band.
fn earns(ctx: &Ctx<'_>, stars: Stars, scores: &CategoryScores) -> bool {
    let band = ctx.profile.score_bands[usize::from(stars.get() - 1)];
    stars_from_scores(scores, &ctx.policy.rating) == stars
        && band.contains(weighted_mean(scores, &ctx.policy.rating))
}

/// The latest checklist of a building of `stars`, and its scores. The scores earn `stars` unless
/// the catalog and policy make that impossible (the final rating then settles the stars).
pub(crate) fn latest(
    ctx: &Ctx<'_>,
    stars: Stars,
    rng: &mut impl Rng,
) -> (Vec<ItemOutcome>, CategoryScores) {
    let target = targets(ctx, stars, rng);
    let mut outcomes = Vec::with_capacity(ctx.item_slots.len());
    for _ in 0..MAX_DRAWS {
        draw(ctx, &target, rng, &mut outcomes);
        let s = scores(ctx, &outcomes);
        if earns(ctx, stars, &s) {
            return (outcomes, s);
        }
    }
    climb(ctx, stars, &mut outcomes);
    let s = scores(ctx, &outcomes);
    (outcomes, s)
}

/// How far `scores` are from earning `stars` inside the band, in points of the weighted mean: how
/// far the mean lies outside the part of the band below the next level's threshold, plus each
/// category's shortfall under the level's floor, weighted like the mean. Zero means it earns them.
fn distance(ctx: &Ctx<'_>, stars: Stars, scores: &CategoryScores) -> f64 {
    let rules = &ctx.policy.rating;
    let band = ctx.profile.score_bands[usize::from(stars.get() - 1)];
    let level = rules.levels.iter().find(|l| l.stars == stars);
    let next = rules.levels.iter().find(|l| l.stars > stars);
    let lo = level.map_or(band.lo, |l| band.lo.max(l.min_mean));
    // Stay a hair under the next threshold (and under the band's open end, unless it is 100).
    let open_end = if band.hi >= 100.0 {
        100.0
    } else {
        band.hi - 0.01
    };
    let hi = next.map_or(open_end, |n| open_end.min(n.min_mean - 0.01));
    let floor = level.map_or(0.0, |l| l.min_category);
    let mean = weighted_mean(scores, rules);
    let total: f64 = Category::ALL
        .iter()
        .map(|&c| rules.category_weights.get(c))
        .sum();
    let short: f64 = Category::ALL
        .iter()
        .map(|&c| rules.category_weights.get(c) * (floor - scores.get(c)).max(0.0))
        .sum::<f64>()
        / total;
    (lo - mean).max(0.0) + (mean - hi).max(0.0) + short
}

/// A deterministic local search from `outcomes`: flips the one applicable item (pass ↔ fail) that
/// brings the scores nearest to earning `stars` (see [`distance`]; ties to the first item), or,
/// when no single flip gets nearer, the nearest pair; until they earn them or nothing gets nearer.
/// Returns whether they earn them. Both directions matter: where not-applicable items leave a
/// category few and heavy items, one step can jump over a whole band or under a floor, and
/// swapping a heavy failure for a light one takes a pair. Not-applicable items stay so.
pub(crate) fn climb(ctx: &Ctx<'_>, stars: Stars, outcomes: &mut [ItemOutcome]) -> bool {
    let applicable: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i] != ItemOutcome::NotApplicable)
        .collect();
    let pairs = || {
        applicable
            .iter()
            .enumerate()
            .flat_map(|(n, &i)| applicable[n + 1..].iter().map(move |&j| [i, j]))
    };
    let mut here = distance(ctx, stars, &scores(ctx, outcomes));
    // Each step gets strictly nearer; the bound only guards against a pathological policy.
    for _ in 0..4 * outcomes.len() {
        if earns(ctx, stars, &scores(ctx, outcomes)) {
            return true;
        }
        let nearest = |moves: &mut dyn Iterator<Item = Vec<usize>>,
                       outcomes: &mut [ItemOutcome]| {
            let mut best: Option<(Vec<usize>, f64)> = None;
            for m in moves {
                flip(outcomes, &m);
                let d = distance(ctx, stars, &scores(ctx, outcomes));
                flip(outcomes, &m);
                if d < best.as_ref().map_or(here, |(_, b)| *b) {
                    best = Some((m, d));
                }
            }
            best
        };
        let step = nearest(&mut applicable.iter().map(|&i| vec![i]), outcomes)
            .or_else(|| nearest(&mut pairs().map(Vec::from), outcomes));
        let Some((m, d)) = step else {
            return false;
        };
        flip(outcomes, &m);
        here = d;
    }
    earns(ctx, stars, &scores(ctx, outcomes))
}

/// Passes failed items and fails passed ones.
fn flip(outcomes: &mut [ItemOutcome], items: &[usize]) {
    for &i in items {
        outcomes[i] = match outcomes[i] {
            ItemOutcome::Pass => ItemOutcome::Fail,
            ItemOutcome::Fail => ItemOutcome::Pass,
            ItemOutcome::NotApplicable => ItemOutcome::NotApplicable,
        };
    }
}

/// An older checklist of a rated building, drawn around its scores.
pub(crate) fn around(
    ctx: &Ctx<'_>,
    scores: &CategoryScores,
    rng: &mut impl Rng,
) -> Vec<ItemOutcome> {
    let mut out = Vec::with_capacity(ctx.item_slots.len());
    draw(ctx, &Category::ALL.map(|c| scores.get(c)), rng, &mut out);
    out
}
