//! Downgrade rules (降星摘牌) as caps on the stars. Each applicable rule fires once per triggering
//! record, so the explanation names every overdue hazard and every incident.
//!
//! - `cap.overdue_hazard` (存在隐患不按期整改): an open event of a watched kind whose notice deadline
//!   is before today (the deadline day itself is still in time), or that was marked overdue.
//! - `cap.incident.<category>` (刑事治安案件, 消防安全事故, 重大违法违规经营): an incident event of the
//!   category, at least the cap's severity, reported on a local day `r` with `today < r + window_days`
//!   (the cap lifts on `r + window_days`). Closed incidents still count: the case happened.
//! - `cap.blacklist` (黑名单): while the building is blacklisted.

use chrono::NaiveDate;

use crate::domain::{Building, Event, EventKind, EventStatus, Severity};
use crate::policy::{NoticeEventKind, Policy, add_days};

use super::{Effect, RuleFired, RuleId};

/// The caps that apply today, each as a fired rule with `Effect::Cap`.
pub(crate) fn downgrade_caps(
    building: &Building,
    events: &[&Event],
    policy: &Policy,
    today: NaiveDate,
) -> Vec<RuleFired> {
    let caps = &policy.rating.caps;
    let mut events: Vec<&Event> = events.to_vec();
    events.sort_by_key(|e| (e.reported_at, e.id));
    let mut fired = Vec::new();

    let watched = |e: &Event| match e.kind {
        EventKind::Hazard => caps.overdue_hazard.kinds.contains(&NoticeEventKind::Hazard),
        EventKind::MicroEvent { .. } => caps
            .overdue_hazard
            .kinds
            .contains(&NoticeEventKind::MicroEvent),
        EventKind::Incident => false,
    };
    for e in events.iter().filter(|e| watched(e) && e.status.is_open()) {
        let max = caps.overdue_hazard.max_stars;
        let why = match (&e.notice, e.status) {
            (Some(n), _) if n.deadline < today => format!(
                "not rectified by its deadline {} (overdue since {}), status {}",
                n.deadline,
                add_days(n.deadline, 1),
                status_word(e.status)
            ),
            (_, EventStatus::Overdue) => "marked overdue".to_owned(),
            _ => continue,
        };
        fired.push(RuleFired {
            rule: RuleId::CapOverdueHazard,
            effect: Effect::Cap { max },
            message: format!(
                "capped at {max}: {} {} ({}) {why}",
                kind_word(&e.kind),
                e.id,
                e.category
            ),
        });
    }

    for cap in &caps.incidents {
        for e in events.iter().filter(|e| {
            matches!(e.kind, EventKind::Incident)
                && e.category == cap.category
                && e.severity >= cap.min_severity
        }) {
            let reported = policy.local_date(e.reported_at);
            let lifts = add_days(reported, cap.window_days);
            if today < lifts {
                let max = cap.max_stars;
                fired.push(RuleFired {
                    rule: RuleId::CapIncident(cap.category.clone()),
                    effect: Effect::Cap { max },
                    message: format!(
                        "capped at {max}: {} incident {} (severity {}) reported {reported}, \
                         within {} days (cap lifts {lifts})",
                        cap.category,
                        e.id,
                        severity_word(e.severity),
                        cap.window_days
                    ),
                });
            }
        }
    }

    if building.blacklisted {
        let max = caps.blacklist.max_stars;
        fired.push(RuleFired {
            rule: RuleId::CapBlacklist,
            effect: Effect::Cap { max },
            message: format!("capped at {max}: the building is blacklisted (黑名单)"),
        });
    }
    fired
}

pub(crate) fn kind_word(k: &EventKind) -> String {
    match k {
        EventKind::Hazard => "hazard".to_owned(),
        EventKind::MicroEvent { kind } => format!("micro-event {kind}"),
        EventKind::Incident => "incident".to_owned(),
    }
}

pub(crate) fn status_word(s: EventStatus) -> &'static str {
    match s {
        EventStatus::Reported => "reported",
        EventStatus::Dispatched => "dispatched",
        EventStatus::Noticed => "noticed",
        EventStatus::Rectified => "rectified",
        EventStatus::Overdue => "overdue",
        EventStatus::Closed => "closed",
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}
