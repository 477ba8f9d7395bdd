//! Events about a building: hazards (隐患) with a notice deadline, micro-events (微小事件) of the
//! catalog's kinds pushed as notices, and incidents (the causes of a downgrade).

use chrono::NaiveDate;
use rand::{Rng, RngExt};

use super::context::{Ctx, at_work, chance, days_after, pick};
use super::rng::record_id;
use crate::catalog::EventCategory;
use crate::domain::{
    BuildingCode, Event, EventKind, EventStatus, GeoPoint, Notice, NoticeRecipient, Severity,
    Stars, WorkerId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    MicroEvent,
    Hazard,
    Incident,
}

/// The building an event is about, and who reported it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub code: &'a BuildingCode,
    pub location: GeoPoint,
    pub has_manager: bool,
    pub worker: &'a WorkerId,
}

/// Whether the event still needs something done as of today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    Closed,
}

/// The kind of an open event on a building of `stars`, by the profile's mix; incidents only where
/// some incident category leaves the stars alone (see `Ctx::incidents_for`). `None` when the mix
/// leaves nothing to draw.
pub(crate) fn draw_kind(ctx: &Ctx<'_>, stars: Option<Stars>, rng: &mut impl Rng) -> Option<Kind> {
    let m = ctx.profile.open_event_mix;
    let incident = if ctx.incidents_for(stars).is_empty() {
        0.0
    } else {
        m.incident
    };
    let weights = [m.micro_event, m.hazard, incident];
    if weights.iter().sum::<f64>() <= 0.0 {
        return None;
    }
    Some(match pick(rng, &weights) {
        0 => Kind::MicroEvent,
        1 => Kind::Hazard,
        _ => Kind::Incident,
    })
}

fn recipients(subject: &Subject<'_>, tenants: bool) -> Vec<NoticeRecipient> {
    let mut r = vec![NoticeRecipient::Owner];
    if subject.has_manager {
        r.push(NoticeRecipient::Manager);
    }
    if tenants {
        r.push(NoticeRecipient::Tenants);
    }
    r
}

/// An event of `kind` about `subject`. `reported_on` picks the day of the report from the notice
/// deadline's length in days (`None`: no notice), so an open event can be kept within its deadline.
/// Incidents are filed under `incident_categories`, which must not be empty.
pub(crate) fn draw_event<R: Rng>(
    ctx: &Ctx<'_>,
    subject: &Subject<'_>,
    kind: Kind,
    incident_categories: &[&EventCategory],
    phase: Phase,
    rng: &mut R,
    reported_on: impl FnOnce(Option<u32>, &mut R) -> NaiveDate,
) -> Event {
    // The notice as recipients and deadline days: its deadline waits for the day of the report.
    let (event_kind, category, severity, description, notice) = match kind {
        Kind::MicroEvent => {
            let k = &ctx.micro_event_kinds[rng.random_range(0..ctx.micro_event_kinds.len())];
            let severity = if chance(rng, 0.7) {
                Severity::Low
            } else {
                Severity::Medium
            };
            let tenants = chance(rng, 0.5);
            (
                EventKind::MicroEvent { kind: k.id.clone() },
                k.category.clone(),
                severity,
                k.label.zh_cn.clone(),
                Some((recipients(subject, tenants), k.deadline_days)),
            )
        }
        Kind::Hazard => {
            let c = ctx.hazard_categories[rng.random_range(0..ctx.hazard_categories.len())];
            let severity =
                [Severity::Medium, Severity::High, Severity::Critical][pick(rng, &[0.5, 0.4, 0.1])];
            (
                EventKind::Hazard,
                c.id.clone(),
                severity,
                format!("{}隐患", c.label.zh_cn),
                Some((recipients(subject, false), ctx.profile.hazard_deadline_days)),
            )
        }
        Kind::Incident => {
            let c = incident_categories[rng.random_range(0..incident_categories.len())];
            let severity = if chance(rng, 0.6) {
                Severity::High
            } else {
                Severity::Critical
            };
            (
                EventKind::Incident,
                c.id.clone(),
                severity,
                c.label.zh_cn.clone(),
                None,
            )
        }
    };
    let reported_on = reported_on(notice.as_ref().map(|(_, days)| *days), rng);
    let reported_at = at_work(reported_on, rng);
    let notice = notice.map(|(recipients, days)| Notice {
        recipients,
        deadline: days_after(reported_on, days),
    });
    let status = match (phase, &notice) {
        (Phase::Closed, Some(_)) if chance(rng, 0.3) => EventStatus::Rectified,
        (Phase::Closed, _) => EventStatus::Closed,
        (Phase::Open, _) if reported_on == ctx.today() => EventStatus::Reported,
        (Phase::Open, Some(n)) if n.deadline < ctx.today() => EventStatus::Overdue,
        (Phase::Open, Some(_)) => EventStatus::Noticed,
        (Phase::Open, None) => EventStatus::Dispatched,
    };
    let fix = ctx.fix_near(subject.location, reported_at, rng);
    Event {
        id: record_id(rng, reported_at),
        building: subject.code.clone(),
        worker: subject.worker.clone(),
        kind: event_kind,
        category,
        severity,
        fix,
        photos: Vec::new(),
        description,
        reported_at,
        notice,
        status,
        corrects: None,
    }
}
