//! The last step: every building's stars and scores are what the star rules (`rating`) give its
//! generated records, rated from scratch as of the spec's day. The records were drawn to earn the
//! drawn stars, so this changes nothing in practice; it makes the archive consistent by
//! construction, so a server re-rating the same records with the same rules finds the same stars.

use std::collections::HashMap;

use super::context::Ctx;
use crate::domain::{Building, Event, Inspection};
use crate::planning;
use crate::rating;

/// Rates `buildings` from `inspections` and `events` (theirs, and possibly others') and stores the
/// result. The rating starts from no stars, so it is the rules' verdict on the records alone (no
/// one-step upgrade from the drawn stars); stored back, it is a fixed point: rating the building
/// again with those stars as its previous ones gives them again. A building whose stars change has
/// its due date recomputed (the interval follows the stars).
pub(crate) fn settle(
    ctx: &Ctx<'_>,
    buildings: &mut [Building],
    inspections: &[Inspection],
    events: &[Event],
) {
    let drawn: Vec<_> = buildings.iter_mut().map(|b| b.stars.take()).collect();
    let ratings = rating::rate_many(
        buildings,
        inspections,
        events,
        &HashMap::new(),
        ctx.catalog,
        ctx.policy,
        ctx.today(),
    );
    for ((b, r), drawn) in buildings.iter_mut().zip(ratings).zip(drawn) {
        b.stars = r.stars;
        b.scores = r.scores;
        if b.stars != drawn {
            b.next_due_on = Some(planning::next_due(b, &[], ctx.policy, ctx.today()));
        }
    }
}
