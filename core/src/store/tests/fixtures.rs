//! Hand-built fixtures: small districts, valid records, tiny PNG headers.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tempfile::TempDir;

use crate::domain::{
    Building, BuildingCode, BuildingUse, Category, ChecklistResult, CommunityId, Contact, Event,
    EventKind, EventStatus, GeoPoint, GpsFix, Grid, GridId, Inspection, ItemId, ItemOutcome,
    Notice, NoticeRecipient, RecordId, Severity, Stars, StreetId, WorkerId,
};
use crate::protocol::{PushResponse, RecordOutcome, RecordResult};
use crate::store::{Archive, ArchiveOptions, FixedClock, PushItem};

pub(crate) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("fixture time")
        .with_timezone(&Utc)
}

pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("fixture date")
}

pub(crate) const NOW: &str = "2025-03-01T02:00:00Z";

pub(crate) struct Fixture {
    pub dir: TempDir,
    pub clock: Arc<FixedClock>,
    pub archive: Archive,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(FixedClock::new(t(NOW)));
        let archive = open_at(&dir, &clock);
        Self {
            dir,
            clock,
            archive,
        }
    }

    pub fn reopen(self) -> Self {
        let Fixture {
            dir,
            clock,
            archive,
        } = self;
        drop(archive);
        let archive = open_at(&dir, &clock);
        Self {
            dir,
            clock,
            archive,
        }
    }

    /// (inspections, events, inspection photo links, event photo links, outbox rows)
    pub fn capture_counts(&self) -> [i64; 5] {
        self.archive
            .read(|c| {
                let mut out = [0; 5];
                for (i, table) in [
                    "inspections",
                    "events",
                    "inspection_photos",
                    "event_photos",
                    "outbox",
                ]
                .iter()
                .enumerate()
                {
                    out[i] =
                        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                }
                Ok(out)
            })
            .expect("counts")
    }
}

pub(crate) fn open_at(dir: &TempDir, clock: &Arc<FixedClock>) -> Archive {
    Archive::open(
        dir.path().join("archive.db"),
        ArchiveOptions {
            clock: clock.clone(),
            ..ArchiveOptions::default()
        },
    )
    .expect("archive opens")
}

pub(crate) fn code(n: u32) -> BuildingCode {
    BuildingCode::parse(&format!("44030600100100{n:011}")).expect("fixture code")
}

pub(crate) fn grid(id: &str, community: &str, street: &str) -> Grid {
    Grid {
        id: GridId::from(id),
        name: format!("Grid {id}"),
        boundary: vec![
            GeoPoint {
                lat: 22.55,
                lon: 113.88,
            },
            GeoPoint {
                lat: 22.56,
                lon: 113.88,
            },
            GeoPoint {
                lat: 22.56,
                lon: 113.89,
            },
        ],
        community: CommunityId::from(community),
        street: StreetId::from(street),
        worker: Some(WorkerId::from("worker-01")),
    }
}

pub(crate) fn building(n: u32, g: &Grid) -> Building {
    Building {
        code: code(n),
        address: format!("Lane {n}, Xixiang"),
        location: GeoPoint {
            lat: 22.555,
            lon: 113.885,
        },
        street: g.street.clone(),
        community: g.community.clone(),
        grid: g.id.clone(),
        floors: 7,
        units: 42,
        usage: BuildingUse::Residential,
        owner: Contact {
            name: "Owner Name".into(),
            phone: "13800000000".into(),
        },
        manager: None,
        building_head: Some(Contact {
            name: "Head Name".into(),
            phone: "13900000000".into(),
        }),
        stars: Some(Stars::new(3).expect("3")),
        scores: None,
        open_hazards: 0,
        blacklisted: false,
        last_inspected_at: None,
        next_due_on: Some(day("2025-03-10")),
    }
}

pub(crate) fn fix(at: DateTime<Utc>) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            lat: 22.5551,
            lon: 113.8852,
        },
        accuracy_m: 12.0,
        taken_at: at,
    }
}

pub(crate) fn inspection(building: u32) -> Inspection {
    let started = t("2025-03-01T01:30:00Z");
    Inspection {
        id: RecordId::new(),
        building: code(building),
        worker: WorkerId::from("worker-01"),
        started_at: started,
        finished_at: started + Duration::minutes(12),
        fix: fix(started + Duration::minutes(1)),
        results: vec![
            ChecklistResult {
                item: ItemId::from("sl_extinguishers"),
                category: Category::SafetyLivability,
                outcome: ItemOutcome::Pass,
            },
            ChecklistResult {
                item: ItemId::from("mg_register"),
                category: Category::Management,
                outcome: ItemOutcome::Fail,
            },
        ],
        findings: vec!["Register missing two tenants".into()],
        photos: vec![],
        note: "楼道畅通".into(),
        corrects: None,
    }
}

pub(crate) fn hazard(building: u32) -> Event {
    let at = t("2025-03-01T01:45:00Z");
    Event {
        id: RecordId::new(),
        building: code(building),
        worker: WorkerId::from("worker-01"),
        kind: EventKind::Hazard,
        category: ItemId::from(first_event_category().as_str()),
        severity: Severity::High,
        fix: fix(at),
        photos: vec![],
        description: "E-bike charging in the stairwell".into(),
        reported_at: at,
        notice: Some(Notice {
            recipients: vec![NoticeRecipient::Owner],
            deadline: day("2025-03-08"),
        }),
        status: EventStatus::Reported,
        corrects: None,
    }
}

pub(crate) fn micro_event(building: u32) -> Event {
    let catalog = crate::Catalog::default_catalog().expect("catalog");
    let kind = &catalog.micro_event_kinds[0];
    Event {
        kind: EventKind::MicroEvent {
            kind: kind.id.clone(),
        },
        category: kind.category.clone(),
        severity: Severity::Low,
        ..hazard(building)
    }
}

fn first_event_category() -> String {
    crate::Catalog::default_catalog()
        .expect("catalog")
        .event_categories[0]
        .id
        .0
        .clone()
}

/// A PNG signature and IHDR chunk (all `imagesize` reads), then `salt` so equal sizes can differ.
pub(crate) fn png(width: u32, height: u32, salt: &[u8]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&13u32.to_be_bytes());
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&[8, 2, 0, 0, 0]);
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(salt);
    v
}

/// A small district: streets S1 and S2; communities C1 (S1), C2 (S1), C3 (S2); grids G1, G2 in C1,
/// G3 in C2, G4 in C3.
pub(crate) fn district_grids() -> Vec<Grid> {
    vec![
        grid("G1", "C1", "S1"),
        grid("G2", "C1", "S1"),
        grid("G3", "C2", "S1"),
        grid("G4", "C3", "S2"),
    ]
}

/// The server's answer to a claimed batch, one outcome per entry.
pub(crate) fn answer(
    items: &[PushItem],
    outcome: impl Fn(&PushItem) -> RecordOutcome,
) -> PushResponse {
    PushResponse {
        results: items
            .iter()
            .map(|i| RecordResult {
                seq: i.push_seq,
                id: i.record_id,
                outcome: outcome(i),
            })
            .collect(),
        missing_photos: vec![],
        device_last_seq: items.iter().map(|i| i.push_seq).max().unwrap_or(0),
    }
}

pub(crate) fn accepted(_: &PushItem) -> RecordOutcome {
    RecordOutcome::Accepted { conflict: false }
}
