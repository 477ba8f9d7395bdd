//! Events about a building: hazards (隐患) with a notice deadline, micro-events (微小事件) of the
//! catalog's kinds pushed as notices, and incidents (the causes of a downgrade).

use chrono::NaiveDate;
use rand::{Rng, RngExt};

use super::context::{Ctx, at_work, chance, days_after, pick};
use super::rng::record_id;
use crate::domain::{
    BuildingCode, Event, EventKind, EventStatus, GeoPoint, ItemId, Notice, NoticeRecipient,
    Severity, WorkerId,
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

pub(crate) fn draw_kind(ctx: &Ctx<'_>, rng: &mut impl Rng) -> Kind {
    let m = ctx.profile.open_event_mix;
    match pick(rng, &[m.micro_event, m.hazard, m.incident]) {
        0 => Kind::MicroEvent,
        1 => Kind::Hazard,
        _ => Kind::Incident,
    }
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

pub(crate) fn draw_event(
    ctx: &Ctx<'_>,
    subject: &Subject<'_>,
    kind: Kind,
    reported_on: NaiveDate,
    phase: Phase,
    rng: &mut impl Rng,
) -> Event {
    let reported_at = at_work(reported_on, rng);
    let (event_kind, category, severity, description, notice): (
        EventKind,
        ItemId,
        Severity,
        String,
        Option<Notice>,
    ) = match kind {
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
                Some(Notice {
                    recipients: recipients(subject, tenants),
                    deadline: days_after(reported_on, k.deadline_days),
                }),
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
                Some(Notice {
                    recipients: recipients(subject, false),
                    deadline: days_after(reported_on, ctx.profile.hazard_deadline_days),
                }),
            )
        }
        Kind::Incident => {
            let c = ctx.incident_categories[rng.random_range(0..ctx.incident_categories.len())];
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
