//! A simulated worker's patrol day, generated up front from a seed: the day's plan (the core's own
//! `plan_day` over the buildings the phone holds), an inspection at each stop (checklist results
//! from the catalog, sometimes photos), now and then a micro-event (微小事件, with its notice) or a
//! hazard (隐患), syncs between stops — except during offline stretches (basements, urban-village
//! alleys with no signal).
//!
//! Every record is complete in the script, its id included, so a phone process killed and started
//! again replays the script and records exactly what it had not recorded yet. Each record's text
//! names the device, day and position (`sim d3 day0 #7`), which makes every record's content unique:
//! the checker relies on that to recognise one record stored under two ids.

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use gridwalk_core::domain::{
    Building, BuildingCode, ChecklistResult, Event, EventKind, EventStatus, GeoPoint, GpsFix,
    GridId, Inspection, ItemOutcome, Notice, NoticeRecipient, PhotoRef, RecordId, Severity,
    Sha256Hex, WorkerId,
};
use gridwalk_core::planning::plan_day;
use gridwalk_core::store::FieldRecord;
use gridwalk_core::{Catalog, Category, Policy};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bench::png::noise_png;

/// How a day goes: policy of the simulation, with defaults for a plain patrol day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayShape {
    /// Records per day (inspections and events together).
    pub records: usize,
    /// Chance that an inspection carries photos (1 to `max_photos`).
    pub photo_chance: f64,
    pub max_photos: usize,
    /// Photo size in pixels (a noise PNG is about 3 × width × height bytes).
    pub photo_px: (u16, u16),
    /// Chance of a micro-event / a hazard reported at a stop, besides the inspection.
    pub micro_event_chance: f64,
    pub hazard_chance: f64,
    /// Chance of a sync after a stop (when the phone has signal).
    pub sync_chance: f64,
    /// Chance that the phone loses signal at a stop, and for how many stops (inclusive range).
    pub offline_chance: f64,
    pub offline_stops: (usize, usize),
}

impl Default for DayShape {
    fn default() -> Self {
        Self {
            records: 12,
            photo_chance: 0.3,
            max_photos: 2,
            photo_px: (160, 120),
            micro_event_chance: 0.15,
            hazard_chance: 0.05,
            sync_chance: 0.5,
            offline_chance: 0.15,
            offline_stops: (2, 4),
        }
    }
}

impl DayShape {
    /// The district load's day: `records` records, no photos, one sync at the end.
    pub fn load(records: usize) -> Self {
        Self {
            records,
            photo_chance: 0.0,
            max_photos: 0,
            micro_event_chance: 0.08,
            hazard_chance: 0.02,
            sync_chance: 0.0,
            offline_chance: 0.0,
            ..Self::default()
        }
    }
}

/// A photo in a script: regenerated from its seed when the step is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoSeed {
    pub seed: u64,
    pub width: u16,
    pub height: u16,
}

impl PhotoSeed {
    pub fn bytes(&self) -> Vec<u8> {
        noise_png(self.width, self.height, self.seed)
    }

    pub fn photo_ref(&self) -> PhotoRef {
        let bytes = self.bytes();
        PhotoRef {
            sha256: Sha256Hex::of_bytes(&bytes),
            size_bytes: bytes.len() as u64,
            width: u32::from(self.width),
            height: u32::from(self.height),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Record this (its photos first). `at` is the phone's clock when it is recorded.
    Record {
        at: DateTime<Utc>,
        record: Box<FieldRecord>,
        photos: Vec<PhotoSeed>,
    },
    /// Try to sync (the phone has signal).
    Sync,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayScript {
    pub device: u32,
    pub day: u32,
    pub steps: Vec<Step>,
}

impl DayScript {
    pub fn records(&self) -> impl Iterator<Item = &FieldRecord> {
        self.steps.iter().filter_map(|s| match s {
            Step::Record { record, .. } => Some(record.as_ref()),
            Step::Sync => None,
        })
    }
}

/// Who patrols, where and when.
#[derive(Debug, Clone)]
pub struct Patrol<'a> {
    pub device: u32,
    pub day: u32,
    pub seed: u64,
    pub worker: &'a WorkerId,
    pub grid: &'a GridId,
    /// The buildings the phone holds.
    pub buildings: &'a [Building],
    /// Open events the phone holds (they shape the plan's follow-ups).
    pub open_events: &'a [Event],
    /// The district's first day; day `d` is `first_day + d`.
    pub first_day: NaiveDate,
    /// How wrong the phone's clock is (its records carry the wrong times; the server must not care).
    pub skew: Duration,
}

/// The device's rng stream for one day: the same seed, device and day give the same day.
pub fn day_rng(seed: u64, device: u32, day: u32) -> ChaCha8Rng {
    let mix = seed
        ^ (u64::from(device) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (u64::from(day) + 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    ChaCha8Rng::seed_from_u64(mix)
}

/// Generates one day.
pub fn generate_day(
    p: &Patrol<'_>,
    shape: &DayShape,
    catalog: &Catalog,
    policy: &Policy,
) -> DayScript {
    let mut rng = day_rng(p.seed, p.device, p.day);
    let today = p
        .first_day
        .checked_add_days(Days::new(u64::from(p.day)))
        .unwrap_or(p.first_day);
    // 09:00 in Shenzhen (UTC+8) on the phone's (possibly wrong) clock.
    let mut clock = Utc.from_utc_datetime(&today.and_hms_opt(1, 0, 0).unwrap_or_default()) + p.skew;
    let stops = stops_for_the_day(p, policy, today);
    let mut steps = Vec::new();
    let mut made = 0usize;
    let mut offline_left = 0usize;
    let mut stop = 0usize;
    while made < shape.records && !stops.is_empty() {
        let building = stops[stop % stops.len()];
        stop += 1;
        clock += Duration::minutes(rng.random_range(6..=20));
        let tag = |n: usize| format!("sim d{} day{} #{}", p.device, p.day, n);

        let photos = photo_seeds(&mut rng, shape, p, made);
        let (inspection, finished) =
            inspection(&mut rng, catalog, p, building, clock, &photos, tag(made));
        clock = finished;
        steps.push(Step::Record {
            at: clock + Duration::minutes(1),
            record: Box::new(FieldRecord::Inspection(inspection)),
            photos,
        });
        made += 1;

        let event = if made < shape.records && rng.random_bool(shape.micro_event_chance) {
            micro_event(&mut rng, catalog, p, building, clock, tag(made))
        } else if made < shape.records && rng.random_bool(shape.hazard_chance) {
            hazard(&mut rng, catalog, p, building, clock, tag(made))
        } else {
            None
        };
        if let Some(e) = event {
            steps.push(Step::Record {
                at: clock + Duration::minutes(1),
                record: Box::new(FieldRecord::Event(e)),
                photos: Vec::new(),
            });
            made += 1;
        }

        if offline_left > 0 {
            offline_left -= 1;
        } else if rng.random_bool(shape.offline_chance) {
            let (lo, hi) = shape.offline_stops;
            offline_left = rng.random_range(lo.min(hi)..=hi.max(lo));
        } else if rng.random_bool(shape.sync_chance) {
            steps.push(Step::Sync);
        }
    }
    // Back at the community office with signal: the day's last sync.
    steps.push(Step::Sync);
    DayScript {
        device: p.device,
        day: p.day,
        steps,
    }
}

/// Today's plan in walking order; when fewer buildings are due than the day needs, the worker
/// goes on to the rest of the grid (in code order).
fn stops_for_the_day<'b>(p: &Patrol<'b>, policy: &Policy, today: NaiveDate) -> Vec<&'b Building> {
    let mine: Vec<&Building> = p.buildings.iter().filter(|b| &b.grid == p.grid).collect();
    if mine.is_empty() {
        return Vec::new();
    }
    let n = mine.len() as f64;
    let start = GeoPoint {
        lat: mine.iter().map(|b| b.location.lat).sum::<f64>() / n,
        lon: mine.iter().map(|b| b.location.lon).sum::<f64>() / n,
    };
    let plan = plan_day(p.grid, p.buildings, p.open_events, policy, today, start);
    let mut stops: Vec<&Building> = plan
        .stops
        .iter()
        .filter_map(|s| mine.iter().copied().find(|b| b.code == s.building.code))
        .collect();
    let mut rest: Vec<&Building> = mine
        .iter()
        .copied()
        .filter(|b| !stops.iter().any(|s| s.code == b.code))
        .collect();
    rest.sort_by(|a, b| a.code.cmp(&b.code));
    stops.extend(rest);
    stops
}

fn photo_seeds(rng: &mut impl Rng, shape: &DayShape, p: &Patrol<'_>, n: usize) -> Vec<PhotoSeed> {
    if shape.max_photos == 0 || !rng.random_bool(shape.photo_chance) {
        return Vec::new();
    }
    let count = rng.random_range(1..=shape.max_photos);
    (0..count)
        .map(|k| PhotoSeed {
            // Unique per device, day, record and position: each photo is its own file.
            seed: p.seed
                ^ (u64::from(p.device) << 40)
                ^ (u64::from(p.day) << 24)
                ^ ((n as u64) << 8)
                ^ k as u64,
            width: shape.photo_px.0,
            height: shape.photo_px.1,
        })
        .collect()
}

fn fix_near(rng: &mut impl Rng, b: &Building, at: DateTime<Utc>) -> GpsFix {
    // Within ~30 m of the door: 1e-4 degrees is about 11 m.
    GpsFix {
        point: GeoPoint {
            lat: b.location.lat + rng.random_range(-2.5e-4..2.5e-4),
            lon: b.location.lon + rng.random_range(-2.5e-4..2.5e-4),
        },
        accuracy_m: rng.random_range(4.0..30.0),
        taken_at: at,
    }
}

/// An inspection: two checklist items of each category, mostly passing. Returns it with the
/// time it finished.
fn inspection(
    rng: &mut impl Rng,
    catalog: &Catalog,
    p: &Patrol<'_>,
    b: &Building,
    started: DateTime<Utc>,
    photos: &[PhotoSeed],
    tag: String,
) -> (Inspection, DateTime<Utc>) {
    let mut results = Vec::new();
    let mut findings = Vec::new();
    for category in Category::ALL {
        let items: Vec<_> = catalog
            .checklist
            .iter()
            .filter(|i| i.category == category)
            .collect();
        let first = rng.random_range(0..items.len());
        let second = (first + rng.random_range(1..items.len().max(2))) % items.len();
        for k in [first, second] {
            let item = items[k];
            if results.iter().any(|r: &ChecklistResult| r.item == item.id) {
                continue;
            }
            let roll: f64 = rng.random();
            let outcome = if roll < 0.85 {
                ItemOutcome::Pass
            } else if roll < 0.97 {
                findings.push(format!("{}：不合格", item.label.zh_cn));
                ItemOutcome::Fail
            } else {
                ItemOutcome::NotApplicable
            };
            results.push(ChecklistResult {
                item: item.id.clone(),
                category,
                outcome,
            });
        }
    }
    let finished = started + Duration::minutes(rng.random_range(8..=15));
    let i = Inspection {
        id: RecordId::new(),
        building: b.code.clone(),
        worker: p.worker.clone(),
        started_at: started,
        finished_at: finished,
        fix: fix_near(rng, b, started),
        results,
        findings,
        photos: photos.iter().map(PhotoSeed::photo_ref).collect(),
        note: tag,
        corrects: None,
    };
    (i, finished)
}

fn notice_deadline(reported: DateTime<Utc>, days: u32) -> NaiveDate {
    let d = reported.date_naive();
    d.checked_add_days(Days::new(u64::from(days.max(1))))
        .unwrap_or(d)
}

/// A micro-event handled by notice (简易程序): a catalog kind, its category, its deadline.
fn micro_event(
    rng: &mut impl Rng,
    catalog: &Catalog,
    p: &Patrol<'_>,
    b: &Building,
    at: DateTime<Utc>,
    tag: String,
) -> Option<Event> {
    let kinds = &catalog.micro_event_kinds;
    if kinds.is_empty() {
        return None;
    }
    let kind = &kinds[rng.random_range(0..kinds.len())];
    let recipients = if rng.random_bool(0.5) {
        vec![NoticeRecipient::Owner]
    } else {
        vec![NoticeRecipient::Manager, NoticeRecipient::Tenants]
    };
    Some(Event {
        id: RecordId::new(),
        building: b.code.clone(),
        worker: p.worker.clone(),
        kind: EventKind::MicroEvent {
            kind: kind.id.clone(),
        },
        category: kind.category.clone(),
        severity: if rng.random_bool(0.7) {
            Severity::Low
        } else {
            Severity::Medium
        },
        fix: fix_near(rng, b, at),
        photos: Vec::new(),
        description: format!("{} ({tag})", kind.label.zh_cn),
        reported_at: at,
        notice: Some(Notice {
            recipients,
            deadline: notice_deadline(at, kind.deadline_days),
        }),
        status: EventStatus::Reported,
        corrects: None,
    })
}

/// A hazard (隐患) with a week to rectify.
fn hazard(
    rng: &mut impl Rng,
    catalog: &Catalog,
    p: &Patrol<'_>,
    b: &Building,
    at: DateTime<Utc>,
    tag: String,
) -> Option<Event> {
    let categories = &catalog.event_categories;
    if categories.is_empty() {
        return None;
    }
    let category = &categories[rng.random_range(0..categories.len())];
    Some(Event {
        id: RecordId::new(),
        building: b.code.clone(),
        worker: p.worker.clone(),
        kind: EventKind::Hazard,
        category: category.id.clone(),
        severity: if rng.random_bool(0.6) {
            Severity::Medium
        } else {
            Severity::High
        },
        fix: fix_near(rng, b, at),
        photos: Vec::new(),
        description: format!("{} ({tag})", category.label.zh_cn),
        reported_at: at,
        notice: Some(Notice {
            recipients: vec![NoticeRecipient::Owner],
            deadline: notice_deadline(at, 7),
        }),
        status: EventStatus::Reported,
        corrects: None,
    })
}

/// The building codes a script's records name (for tests and reports).
pub fn buildings_named(script: &DayScript) -> Vec<BuildingCode> {
    let mut codes: Vec<BuildingCode> = script
        .records()
        .map(|r| match r {
            FieldRecord::Inspection(i) => i.building.clone(),
            FieldRecord::Event(e) => e.building.clone(),
        })
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_server::fixtures::{DistrictShape, Sample};

    fn sample() -> Sample {
        Sample::generate(DistrictShape::one_grid(20), 3).expect("district")
    }

    fn day(sample: &Sample, device: u32, d: u32, skew: Duration, shape: &DayShape) -> DayScript {
        let grid = &sample.grids()[0];
        let worker = grid.worker.clone().expect("worker");
        let p = Patrol {
            device,
            day: d,
            seed: 42,
            worker: &worker,
            grid: &grid.id,
            buildings: sample.buildings(),
            open_events: &[],
            first_day: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            skew,
        };
        generate_day(
            &p,
            shape,
            &Catalog::default_catalog().expect("catalog"),
            &Policy::default_policy().expect("policy"),
        )
    }

    fn without_ids(s: &DayScript) -> Vec<serde_json::Value> {
        s.records()
            .map(|r| {
                let mut v = serde_json::to_value(r).expect("json");
                v["record"]["id"] = serde_json::Value::Null;
                v
            })
            .collect()
    }

    #[test]
    fn sim_day_is_deterministic_from_the_seed_and_records_are_unique() {
        let s = sample();
        let shape = DayShape::default();
        let a = day(&s, 3, 1, Duration::zero(), &shape);
        let b = day(&s, 3, 1, Duration::zero(), &shape);
        assert_eq!(without_ids(&a), without_ids(&b), "same seed, same day");
        assert_ne!(
            without_ids(&a),
            without_ids(&day(&s, 4, 1, Duration::zero(), &shape))
        );
        assert_eq!(a.records().count(), shape.records);
        assert_eq!(
            a.steps.last(),
            Some(&Step::Sync),
            "the day ends with a sync"
        );
        let mut texts: Vec<String> = a
            .records()
            .map(|r| match r {
                FieldRecord::Inspection(i) => i.note.clone(),
                FieldRecord::Event(e) => e.description.clone(),
            })
            .collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), shape.records, "every record's text is its own");
        assert!(
            buildings_named(&a)
                .iter()
                .all(|c| s.buildings().iter().any(|b| &b.code == c))
        );
    }

    #[test]
    fn sim_day_records_pass_the_catalog_and_follow_the_phone_clock() {
        let s = sample();
        let catalog = Catalog::default_catalog().expect("catalog");
        let shape = DayShape {
            records: 40,
            micro_event_chance: 0.5,
            hazard_chance: 0.5,
            ..DayShape::default()
        };
        let skew = Duration::days(-6);
        let script = day(&s, 0, 0, skew, &shape);
        let mut events = 0;
        for step in &script.steps {
            let Step::Record { at, record, photos } = step else {
                continue;
            };
            match record.as_ref() {
                FieldRecord::Inspection(i) => {
                    catalog.check_inspection(i).expect("valid checklist");
                    assert!(i.finished_at <= *at && i.started_at < i.finished_at);
                    assert_eq!(i.photos.len(), photos.len());
                    // Six days behind: the phone thinks it is late February.
                    assert_eq!(i.started_at.date_naive().to_string(), "2026-02-24");
                }
                FieldRecord::Event(e) => {
                    catalog.check_event(e).expect("valid event");
                    events += 1;
                }
            }
        }
        assert!(events > 5, "{events} events");
        let with_photos = script
            .steps
            .iter()
            .find_map(|s| match s {
                Step::Record { photos, record, .. } if !photos.is_empty() => {
                    match record.as_ref() {
                        FieldRecord::Inspection(i) => {
                            Some((photos[0].clone(), i.photos[0].clone()))
                        }
                        FieldRecord::Event(_) => None,
                    }
                }
                _ => None,
            })
            .expect("some inspection has a photo");
        assert_eq!(
            with_photos.0.photo_ref(),
            with_photos.1,
            "photo regenerates from its seed"
        );
    }

    #[test]
    fn sim_load_day_has_no_photos_and_one_sync() {
        let s = sample();
        let script = day(&s, 1, 0, Duration::zero(), &DayShape::load(50));
        assert_eq!(script.records().count(), 50);
        assert_eq!(script.steps.iter().filter(|s| **s == Step::Sync).count(), 1);
        assert!(script.steps.iter().all(|s| match s {
            Step::Record { photos, .. } => photos.is_empty(),
            Step::Sync => true,
        }));
    }
}
