//! The entry points: rate one building from its records, or many in one pass.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::catalog::Catalog;
use crate::domain::{Building, BuildingCode, Category, CategoryScores, Event, Inspection, Stars};
use crate::policy::Policy;
use crate::records;

use super::caps::downgrade_caps;
use super::scores::{score_checklist, stars_from_scores, weighted_mean};
use super::upgrade;
use super::{Effect, Rating, RatingBasis, RuleFired, RuleId};

/// Rate one building.
///
/// `inspections` and `events` may hold other buildings' records too (they are filtered by code);
/// records replaced by a correction are ignored. `previous` is the building's last stored rating,
/// if any: it tells which inspection was already counted, so re-rating the same records is stable.
/// The previous stars are the archive's (`building.stars`).
pub fn rate_building(
    building: &Building,
    inspections: &[Inspection],
    events: &[Event],
    previous: Option<&Rating>,
    catalog: &Catalog,
    policy: &Policy,
    today: NaiveDate,
) -> Rating {
    let ins = records::live_inspections(inspections, &building.code);
    let evs = records::live_events(events, &building.code);
    let ctx = Ctx {
        catalog,
        policy,
        today,
    };
    rate_records(building, &ins, &evs, previous, &ctx)
}

/// Rate many buildings from all their records, grouping the records in one pass. Ratings come back
/// in the order of `buildings`.
pub fn rate_many(
    buildings: &[Building],
    inspections: &[Inspection],
    events: &[Event],
    previous: &HashMap<BuildingCode, Rating>,
    catalog: &Catalog,
    policy: &Policy,
    today: NaiveDate,
) -> Vec<Rating> {
    let ins = records::inspections_by_building(inspections);
    let evs = records::events_by_building(events);
    let ctx = Ctx {
        catalog,
        policy,
        today,
    };
    buildings
        .iter()
        .map(|b| {
            rate_records(
                b,
                ins.get(&b.code).map_or(&[][..], Vec::as_slice),
                evs.get(&b.code).map_or(&[][..], Vec::as_slice),
                previous.get(&b.code),
                &ctx,
            )
        })
        .collect()
}

struct Ctx<'a> {
    catalog: &'a Catalog,
    policy: &'a Policy,
    today: NaiveDate,
}

fn rate_records(
    building: &Building,
    inspections: &[&Inspection],
    events: &[&Event],
    previous: Option<&Rating>,
    ctx: &Ctx<'_>,
) -> Rating {
    let policy = ctx.policy;
    let mut fired = Vec::new();

    let (scores, basis_inspection) = scores(building, inspections, ctx, &mut fired);
    let basis = match (basis_inspection, &scores) {
        (Some(i), _) => RatingBasis::Inspection {
            id: i.id,
            started_at: i.started_at,
            finished_at: i.finished_at,
        },
        (None, Some(_)) => RatingBasis::Archive,
        (None, None) => RatingBasis::None,
    };
    let mean_score = scores.map(|s| weighted_mean(&s, &policy.rating));
    let score_stars = scores.map(|s| stars_from_scores(&s, &policy.rating));
    if let (Some(s), Some(stars), Some(mean)) = (&scores, score_stars, mean_score) {
        fired.push(RuleFired {
            rule: RuleId::ScoreStars,
            effect: Effect::Scored { stars },
            message: score_message(s, mean, stars, policy),
        });
    }

    let caps = downgrade_caps(building, events, policy, ctx.today);
    let cap = caps
        .iter()
        .filter_map(|r| match r.effect {
            Effect::Cap { max } => Some(max),
            _ => None,
        })
        .min();
    let binding: Vec<String> = caps
        .iter()
        .filter(|r| Some(r.effect) == cap.map(|max| Effect::Cap { max }))
        .map(|r| r.rule.to_string())
        .collect();
    fired.extend(caps);

    let previous_stars = building.stars;
    let allowed = match score_stars {
        Some(s) => Some(cap.map_or(s, |c| s.min(c))),
        None => previous_stars.map(|p| cap.map_or(p, |c| p.min(c))),
    };

    let stars = match (previous_stars, allowed) {
        (_, None) => None,
        (None, Some(a)) => {
            fired.push(RuleFired {
                rule: RuleId::Initial,
                effect: Effect::Initial { stars: a },
                message: format!("first rating: {a}"),
            });
            Some(a)
        }
        (Some(p), Some(a)) if a < p => {
            let mut by = Vec::new();
            if score_stars == Some(a) {
                by.push("the scores".to_owned());
            }
            if cap == Some(a) {
                by.extend(binding);
            }
            let by = by.join(" and ");
            fired.push(RuleFired {
                rule: RuleId::Downgrade,
                effect: Effect::Lowered { from: p, to: a },
                message: format!("lowered {p} → {a} (降星摘牌) by {by}"),
            });
            Some(a)
        }
        (Some(p), Some(a)) if a == p => Some(p),
        (Some(p), Some(a)) => Some(upgrade_or_hold(
            building,
            p,
            a,
            basis_inspection,
            events,
            previous,
            policy,
            &mut fired,
        )),
    };

    Rating {
        building: building.code.clone(),
        rated_on: ctx.today,
        stars,
        previous_stars,
        score_stars,
        scores,
        mean_score,
        basis,
        rules_fired: fired,
        policy_version: policy.version,
        catalog_version: ctx.catalog.version,
    }
}

#[allow(clippy::too_many_arguments)] // private; each argument is one input the rule names
fn upgrade_or_hold(
    building: &Building,
    p: Stars,
    allowed: Stars,
    basis: Option<&Inspection>,
    events: &[&Event],
    previous: Option<&Rating>,
    policy: &Policy,
    fired: &mut Vec<RuleFired>,
) -> Stars {
    match upgrade::verify(building, basis, events, previous, policy) {
        Ok(()) => {
            let to = p.up();
            let (id, day) = basis
                .map(|i| {
                    (
                        i.id.to_string(),
                        policy.local_date(i.started_at).to_string(),
                    )
                })
                .unwrap_or_default();
            fired.push(RuleFired {
                rule: RuleId::Upgrade,
                effect: Effect::Raised { from: p, to },
                message: format!(
                    "raised {p} → {to} (升星挂牌): re-inspection {id} on {day} meets the {allowed} \
                     standard; one step per verified re-inspection"
                ),
            });
            to
        }
        Err(reasons) => {
            fired.push(RuleFired {
                rule: RuleId::UpgradeHeld,
                effect: Effect::Held {
                    at: p,
                    earned: allowed,
                },
                message: format!(
                    "stays {p} although {allowed} is allowed: {}",
                    reasons.join("; ")
                ),
            });
            p
        }
    }
}

/// The scores and the inspection they came from (if any), recording how they were found.
fn scores<'a>(
    building: &Building,
    inspections: &[&'a Inspection],
    ctx: &Ctx<'_>,
    fired: &mut Vec<RuleFired>,
) -> (Option<CategoryScores>, Option<&'a Inspection>) {
    let archive = building.scores.filter(|s| s.validate().is_ok());
    let mut newest_first: Vec<&Inspection> = inspections.to_vec();
    newest_first.sort_by_key(|i| std::cmp::Reverse((i.finished_at, i.id)));
    let scored = newest_first.into_iter().find_map(|i| {
        let sheet = score_checklist(&i.results, ctx.catalog);
        sheet.any().then_some((i, sheet))
    });

    let Some((insp, sheet)) = scored else {
        if let Some(s) = archive {
            fired.push(RuleFired {
                rule: RuleId::ScoreFromArchive,
                effect: Effect::Note,
                message: "no inspection with checklist results; the archive's scores are used"
                    .to_owned(),
            });
            return (Some(s), None);
        }
        fired.push(RuleFired {
            rule: RuleId::ScoreNoBasis,
            effect: Effect::Note,
            message: "no inspection with checklist results and no archived scores".to_owned(),
        });
        return (None, None);
    };

    if !sheet.unknown_items.is_empty() {
        let names: Vec<&str> = sheet.unknown_items.iter().map(|i| i.as_str()).collect();
        fired.push(RuleFired {
            rule: RuleId::ScoreUnknownItems,
            effect: Effect::Note,
            message: format!(
                "inspection {}: ignored items not in catalog v{}: {}",
                insp.id,
                ctx.catalog.version,
                names.join(", ")
            ),
        });
    }
    let mut scores = CategoryScores {
        safety_livability: 0.0,
        management: 0.0,
        honesty_credit: 0.0,
        civility_hygiene: 0.0,
    };
    for c in Category::ALL {
        let v = match (sheet.get(c), archive) {
            (Some(v), _) => v,
            (None, Some(a)) => {
                let v = a.get(c);
                fired.push(RuleFired {
                    rule: RuleId::ScoreCategoryNotChecked,
                    effect: Effect::Note,
                    message: format!(
                        "inspection {} did not check {}; the archive's {v:.1} is used",
                        insp.id,
                        c.as_str()
                    ),
                });
                v
            }
            (None, None) => {
                fired.push(RuleFired {
                    rule: RuleId::ScoreCategoryNotChecked,
                    effect: Effect::Note,
                    message: format!(
                        "inspection {} did not check {} and the archive has no score: it counts 0",
                        insp.id,
                        c.as_str()
                    ),
                });
                0.0
            }
        };
        scores.set(c, v);
    }
    (Some(scores), Some(insp))
}

fn score_message(s: &CategoryScores, mean: f64, stars: Stars, policy: &Policy) -> String {
    let parts: Vec<String> = Category::ALL
        .iter()
        .map(|&c| format!("{} {:.1}", c.as_str(), s.get(c)))
        .collect();
    let next = policy
        .rating
        .levels
        .iter()
        .find(|l| l.stars > stars)
        .map_or_else(
            || "the top level".to_owned(),
            |l| {
                format!(
                    "{} needs a mean of {:.1} and every category at least {:.1}",
                    l.stars, l.min_mean, l.min_category
                )
            },
        );
    format!(
        "{}; weighted mean {mean:.1} → {stars} ({next})",
        parts.join(", ")
    )
}
