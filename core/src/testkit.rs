//! Builders for the rules' unit tests: real domain values, filled in with plausible defaults.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::catalog::Catalog;
use crate::domain::{
    Building, BuildingCode, BuildingUse, ChecklistResult, CommunityId, Contact, Event, EventKind,
    EventStatus, GeoPoint, GpsFix, GridId, Inspection, ItemId, ItemOutcome, Notice,
    NoticeRecipient, RecordId, Severity, Stars, StreetId, WorkerId,
};
use crate::policy::Policy;

pub(crate) fn catalog() -> Catalog {
    Catalog::default_catalog().expect("shipped catalog")
}

pub(crate) fn policy() -> Policy {
    Policy::default_policy().expect("shipped policy")
}

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// 10:00 in Shenzhen (02:00 UTC) on that day, so the local and UTC days agree.
pub(crate) fn morning(d: NaiveDate) -> DateTime<Utc> {
    at(d, 2, 0)
}

pub(crate) fn at(d: NaiveDate, hour_utc: u32, minute: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(hour_utc, minute, 0).expect("valid time"))
}

pub(crate) fn code(n: u32) -> BuildingCode {
    BuildingCode::parse(&format!("44030600100100{n:011}")).expect("25 digits")
}

/// Building `n` of grid G0001 at `location`.
pub(crate) fn building_at(n: u32, stars: Option<u8>, location: GeoPoint) -> Building {
    Building {
        code: code(n),
        address: format!("宝安区新安街道{n}号"),
        location,
        street: StreetId::from("xinan"),
        community: CommunityId::from("C001"),
        grid: GridId::from("G0001"),
        floors: 7,
        units: 28,
        usage: BuildingUse::Residential,
        owner: Contact {
            name: "业主".into(),
            phone: "13800000000".into(),
        },
        manager: None,
        building_head: None,
        stars: stars.map(|s| Stars::new(s).expect("1..=5")),
        scores: None,
        open_hazards: 0,
        blacklisted: false,
        last_inspected_at: None,
        next_due_on: None,
    }
}

pub(crate) const SITE: GeoPoint = GeoPoint {
    lat: 22.5550,
    lon: 113.8830,
};

pub(crate) fn building(n: u32, stars: Option<u8>) -> Building {
    building_at(n, stars, SITE)
}

pub(crate) fn worker() -> WorkerId {
    WorkerId::from("wk-0001")
}

/// An inspection of `b` started at `started` (finished 20 minutes later), fixed 5 m accurate at the
/// building, with the given outcomes.
pub(crate) fn inspection(
    b: &Building,
    started: DateTime<Utc>,
    results: &[(&str, ItemOutcome)],
    catalog: &Catalog,
) -> Inspection {
    Inspection {
        id: RecordId::new(),
        building: b.code.clone(),
        worker: worker(),
        started_at: started,
        finished_at: started + chrono::Duration::minutes(20),
        fix: GpsFix {
            point: b.location,
            accuracy_m: 5.0,
            taken_at: started,
        },
        results: results
            .iter()
            .map(|(id, outcome)| {
                let item = catalog
                    .checklist_item(&ItemId::from(*id))
                    .expect("item in catalog");
                ChecklistResult {
                    item: item.id.clone(),
                    category: item.category,
                    outcome: *outcome,
                }
            })
            .collect(),
        findings: vec![],
        photos: vec![],
        note: String::new(),
        corrects: None,
    }
}

/// Every catalog item passes.
pub(crate) fn all_pass(catalog: &Catalog) -> Vec<(&str, ItemOutcome)> {
    catalog
        .checklist
        .iter()
        .map(|i| (i.id.as_str(), ItemOutcome::Pass))
        .collect()
}

pub(crate) fn hazard(
    b: &Building,
    reported: DateTime<Utc>,
    deadline: Option<NaiveDate>,
    status: EventStatus,
) -> Event {
    event(
        b,
        EventKind::Hazard,
        "fire_hazard",
        Severity::Medium,
        reported,
        deadline,
        status,
    )
}

pub(crate) fn incident(
    b: &Building,
    category: &str,
    severity: Severity,
    reported: DateTime<Utc>,
) -> Event {
    event(
        b,
        EventKind::Incident,
        category,
        severity,
        reported,
        None,
        EventStatus::Dispatched,
    )
}

pub(crate) fn event(
    b: &Building,
    kind: EventKind,
    category: &str,
    severity: Severity,
    reported: DateTime<Utc>,
    deadline: Option<NaiveDate>,
    status: EventStatus,
) -> Event {
    Event {
        id: RecordId::new(),
        building: b.code.clone(),
        worker: worker(),
        kind,
        category: ItemId::from(category),
        severity,
        fix: GpsFix {
            point: b.location,
            accuracy_m: 5.0,
            taken_at: reported,
        },
        photos: vec![],
        description: String::new(),
        reported_at: reported,
        notice: deadline.map(|deadline| Notice {
            recipients: vec![NoticeRecipient::Owner],
            deadline,
        }),
        status,
        corrects: None,
    }
}
