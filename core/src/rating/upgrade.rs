//! Upgrade (升星挂牌): one step per verified re-inspection.
//!
//! Why one step: a building climbs back by earning trust visit after visit, not by one good day; a
//! building that rectified everything at 1★ and now scores 5★ needs four verified re-inspections to
//! get there (1★ buildings are visited weekly, so that is about a month). Downgrades, in contrast,
//! apply at once.
//!
//! With previous stars `P` and allowed stars `A > P`, the new stars are `P + 1` when the basis
//! inspection (the latest one with a checklist) is a verified re-inspection:
//! - it is **new evidence**: it finished after the basis of the previous rating (so re-running the
//!   rules on the same records never climbs twice);
//! - it **comes after the last rectification**: it started after every rectified hazard or
//!   micro-event of the building was reported (an inspection cannot verify the fixing of something
//!   not yet found);
//! - no hazard or micro-event is **still open** (policy `block_while_open_events`);
//! - its GPS fix was **on site** (policy `require_on_site`, see `supervision`).
//!
//! Otherwise the stars stay at `P` and the rating says which condition failed.

use crate::domain::{Building, Event, EventKind, Inspection};
use crate::policy::Policy;
use crate::supervision::check_presence;

use super::caps::{kind_word, status_word};
use super::{Rating, RatingBasis};

/// `Ok(())` when the basis inspection verifies an upgrade, else the reasons it does not.
pub(crate) fn verify(
    building: &Building,
    basis: Option<&Inspection>,
    events: &[&Event],
    previous: Option<&Rating>,
    policy: &Policy,
) -> Result<(), Vec<String>> {
    let Some(insp) = basis else {
        return Err(vec![
            "the scores come from the archive, not from a re-inspection".to_owned(),
        ]);
    };
    let mut reasons = Vec::new();
    if let Some(RatingBasis::Inspection {
        id, finished_at, ..
    }) = previous.map(|r| &r.basis)
    {
        if *id == insp.id || insp.finished_at <= *finished_at {
            reasons.push(format!(
                "no re-inspection since the last rating (its basis, inspection {id} of {}, was already counted)",
                policy.local_date(*finished_at)
            ));
        }
    }
    let notice_kind = |e: &&&Event| !matches!(e.kind, EventKind::Incident);
    if policy.rating.upgrade.block_while_open_events {
        for e in events
            .iter()
            .filter(notice_kind)
            .filter(|e| e.status.is_open())
        {
            reasons.push(format!(
                "{} {} is still open ({})",
                kind_word(&e.kind),
                e.id,
                status_word(e.status)
            ));
        }
    }
    for e in events
        .iter()
        .filter(notice_kind)
        .filter(|e| !e.status.is_open() && e.reported_at >= insp.started_at)
    {
        reasons.push(format!(
            "inspection {} started {} before {} {} was reported {}, so it cannot verify its rectification",
            insp.id,
            insp.started_at.format("%Y-%m-%d %H:%M UTC"),
            kind_word(&e.kind),
            e.id,
            e.reported_at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if policy.rating.upgrade.require_on_site {
        let presence = check_presence(&insp.fix, &building.location, &policy.supervision);
        if presence.off_site {
            reasons.push(format!("inspection {} was {presence}", insp.id));
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}
