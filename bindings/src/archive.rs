//! The on-device archive (一楼一档 on the phone) as one object: open it, load the grid, plan the day,
//! record what the worker finds, read a building's file.
//!
//! Every method blocks: SQLite with `synchronous=FULL` means a returned `record_*` call is on disk.
//! Call them from a background thread (Kotlin: `Dispatchers.IO`; Swift: a detached task); the
//! idiomatic layers in android/ and ios/ do that. The object is thread-safe: `interrupt()` may be
//! called from any thread to stop a long call, which then fails with `Interrupted`.

use std::sync::Arc;

use chrono::Days;
use gridwalk_core as core;
use gridwalk_core::store::{self, Archive, ArchiveOptions};
use gridwalk_core::{planning, rating};

use crate::GridwalkError;
use crate::building::{Building, GeoPoint, Grid};
use crate::capture::{
    Event, EventDraft, Inspection, InspectionDraft, MicroEventDraft, PhotoRef, Recorded,
};
use crate::catalog::Catalog;
use crate::district::SyntheticDistrict;
use crate::officer::{BuildingFilter, BuildingPage};
use crate::plan::{DayPlan, day_plan};
use crate::rating::StarExplanation;
use crate::types::{LocalDate, utc};

/// The sync outbox: records waiting to go, on their way, accepted, refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OutboxStatus {
    pub pending: u64,
    pub in_flight: u64,
    pub acked: u64,
    pub rejected: u64,
}

/// One building's file (一楼一档): the building, what was recorded about it, and its stars explained.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BuildingFile {
    pub building: Building,
    /// Oldest first.
    pub inspections: Vec<Inspection>,
    /// Oldest first.
    pub events: Vec<Event>,
    pub stars: StarExplanation,
}

#[derive(Debug, uniffi::Object)]
pub struct GridwalkArchive {
    // Shared: the sync client (with the phone's sync issue) holds the same archive.
    archive: Arc<Archive>,
    policy: core::Policy,
}

#[uniffi::export]
impl GridwalkArchive {
    /// Opens (creating if needed) the archive at `path`. `key`: the SQLCipher key from the Android
    /// Keystore / iOS Keychain, or `None` for an unencrypted archive. A wrong key raises
    /// `NotReadable`; a key on a build without encryption raises `InvalidInput`.
    #[uniffi::constructor(default(key = None))]
    pub fn open(path: String, key: Option<String>) -> Result<Arc<Self>, GridwalkError> {
        let archive = Archive::open(
            &path,
            ArchiveOptions {
                key,
                ..ArchiveOptions::default()
            },
        )?;
        let policy = core::Policy::default_policy()?;
        Ok(Arc::new(Self {
            archive: Arc::new(archive),
            policy,
        }))
    }

    /// This installation's id (UUID), created with the archive.
    pub fn device_id(&self) -> String {
        self.archive.device_id().to_string()
    }

    /// Today in the district's time zone (the policy's UTC offset), by the device clock.
    pub fn today(&self) -> LocalDate {
        self.policy.local_date(chrono::Utc::now()).into()
    }

    /// Stops whatever the archive is running right now (a no-op when idle).
    pub fn interrupt(&self) {
        self.archive.interrupt_handle().interrupt();
    }

    /// The catalog captures are checked against (the installed one, or the shipped default).
    pub fn catalog(&self) -> Result<Catalog, GridwalkError> {
        Ok(self.archive.catalog()?.into())
    }

    /// Loads a synthetic district's grids and buildings (demo mode); returns the number of
    /// buildings now in the archive.
    pub fn load_district(&self, district: Arc<SyntheticDistrict>) -> Result<u64, GridwalkError> {
        let d = district.inner();
        self.archive.upsert_grids(&d.grids)?;
        self.archive.upsert_buildings(&d.buildings)?;
        Ok(self.archive.building_count()?)
    }

    pub fn building_count(&self) -> Result<u64, GridwalkError> {
        Ok(self.archive.building_count()?)
    }

    /// A grid; an unknown one raises `NotFound`.
    pub fn grid(&self, id: String) -> Result<Grid, GridwalkError> {
        let id = core::GridId(id);
        match self.archive.grid(&id)? {
            Some(g) => Ok(g.into()),
            None => Err(GridwalkError::not_found(format!("grid {id}"))),
        }
    }

    /// The buildings of a grid, ordered by code.
    pub fn buildings_in_grid(&self, grid: String) -> Result<Vec<Building>, GridwalkError> {
        let grid = core::GridId(grid);
        Ok(self
            .archive
            .buildings_in_grid(&grid)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One building; a malformed code raises `InvalidInput`, an unknown one `NotFound`.
    pub fn building(&self, code: String) -> Result<Building, GridwalkError> {
        Ok(self
            .core_building(&core::BuildingCode::parse(&code)?)?
            .into())
    }

    /// A building's file with its stars explained as of `day`.
    pub fn building_file(
        &self,
        code: String,
        day: LocalDate,
    ) -> Result<BuildingFile, GridwalkError> {
        let code = core::BuildingCode::parse(&code)?;
        let building = self.core_building(&code)?;
        let inspections = self.archive.inspections_for_building(&code)?;
        let events = self.archive.events_for_building(&code)?;
        let stars = self.rate(&building, &inspections, &events, day)?;
        Ok(BuildingFile {
            building: building.into(),
            inspections: inspections.into_iter().map(Into::into).collect(),
            events: events.into_iter().map(Into::into).collect(),
            stars,
        })
    }

    /// The stars the rules give a building as of `day`, with every rule that fired (provisional:
    /// the server's rating is authoritative).
    pub fn star_explanation(
        &self,
        code: String,
        day: LocalDate,
    ) -> Result<StarExplanation, GridwalkError> {
        let code = core::BuildingCode::parse(&code)?;
        let building = self.core_building(&code)?;
        let inspections = self.archive.inspections_for_building(&code)?;
        let events = self.archive.events_for_building(&code)?;
        self.rate(&building, &inspections, &events, day)
    }

    /// The plan for `day` in `grid`, starting where the worker stands: the due buildings, most
    /// urgent first, capped per day, in walking order. Inspections recorded on this phone count as
    /// visits at once, so a building inspected today leaves the plan before it is synced.
    pub fn plan_day(
        &self,
        grid: String,
        day: LocalDate,
        start: GeoPoint,
    ) -> Result<DayPlan, GridwalkError> {
        let grid = core::GridId(grid);
        let start = core::GeoPoint::try_from(start)?;
        if self.archive.grid(&grid)?.is_none() {
            return Err(GridwalkError::not_found(format!("grid {grid}")));
        }
        let mut buildings = self.archive.buildings_in_grid(&grid)?;
        let mut events = Vec::new();
        for b in &mut buildings {
            let visits = self.archive.inspections_for_building(&b.code)?;
            b.last_inspected_at = b
                .last_inspected_at
                .into_iter()
                .chain(visits.iter().map(|i| i.finished_at))
                .max();
            events.extend(self.archive.events_for_building(&b.code)?);
        }
        let plan = planning::plan_day(&grid, &buildings, &events, &self.policy, day.0, start);
        Ok(day_plan(plan, &buildings))
    }

    /// The officer's list: buildings matching `filter`, riskiest first, at most `limit` (1–1000)
    /// after the cursor `after` from the previous page.
    #[uniffi::method(default(after = None))]
    pub fn building_list(
        &self,
        filter: BuildingFilter,
        limit: u32,
        after: Option<String>,
    ) -> Result<BuildingPage, GridwalkError> {
        let (rows, next) = self
            .archive
            .building_list(&filter.into(), &store::Page { limit, after })?;
        Ok(BuildingPage {
            buildings: rows.into_iter().map(Into::into).collect(),
            next_after: next.and_then(|p| p.after),
        })
    }

    /// Stores a photo (JPEG/PNG… bytes, already resized by the app) and returns its reference for
    /// a record. The same bytes twice give the same reference.
    pub fn add_photo(&self, bytes: Vec<u8>) -> Result<PhotoRef, GridwalkError> {
        Ok(self.archive.add_photo(&bytes)?.into())
    }

    /// Stores a photo from a file (the camera's output path).
    pub fn add_photo_file(&self, path: String) -> Result<PhotoRef, GridwalkError> {
        Ok(self.archive.add_photo_file(&path)?.into())
    }

    /// Records an inspection and queues it for sync; on return it is on disk.
    pub fn record_inspection(&self, draft: InspectionDraft) -> Result<Recorded, GridwalkError> {
        let inspection = draft.into_core()?;
        let outbox_seq = self.archive.record_inspection(&inspection)?;
        Ok(Recorded {
            id: inspection.id.to_string(),
            outbox_seq,
        })
    }

    /// Records an event (hazard, micro-event, incident) and queues it for sync.
    pub fn record_event(&self, draft: EventDraft) -> Result<Recorded, GridwalkError> {
        self.store_event(draft.into_core()?)
    }

    /// Records a micro-event by the simplified procedure: category and notice deadline from the
    /// catalog's kind. An unknown kind or no recipient raises `InvalidInput`.
    pub fn record_micro_event(&self, draft: MicroEventDraft) -> Result<Recorded, GridwalkError> {
        let catalog = self.archive.catalog()?;
        let kind = core::ItemId(draft.kind);
        let Some(k) = catalog.micro_event_kind(&kind) else {
            return Err(core::ValidationError::UnknownMicroEventKind(kind.0).into());
        };
        let reported_on = self.policy.local_date(utc(draft.reported_at));
        let deadline = reported_on
            .checked_add_days(Days::new(u64::from(k.deadline_days)))
            .ok_or_else(|| GridwalkError::invalid("notice deadline out of range"))?;
        let event = EventDraft {
            building: draft.building,
            worker: draft.worker,
            kind: crate::capture::EventKind::MicroEvent { kind: kind.0 },
            category: k.category.0.clone(),
            severity: crate::capture::Severity::Low,
            fix: draft.fix,
            photos: draft.photos,
            description: draft.description,
            reported_at: draft.reported_at,
            notice: Some(crate::capture::Notice {
                recipients: draft.recipients,
                deadline: deadline.into(),
            }),
        };
        self.store_event(event.into_core()?)
    }

    /// An inspection recorded on (or synced to) this phone; an unknown id raises `NotFound`.
    pub fn inspection(&self, id: String) -> Result<Inspection, GridwalkError> {
        let rid = crate::types::record_id(&id)?;
        match self.archive.inspection(rid)? {
            Some(i) => Ok(i.into()),
            None => Err(GridwalkError::not_found(format!("inspection {id}"))),
        }
    }

    /// An event; an unknown id raises `NotFound`.
    pub fn event(&self, id: String) -> Result<Event, GridwalkError> {
        let rid = crate::types::record_id(&id)?;
        match self.archive.event(rid)? {
            Some(e) => Ok(e.into()),
            None => Err(GridwalkError::not_found(format!("event {id}"))),
        }
    }

    /// How many records wait for sync, are on their way, were accepted, were refused.
    pub fn outbox_status(&self) -> Result<OutboxStatus, GridwalkError> {
        let c = self.archive.outbox_counts()?;
        Ok(OutboxStatus {
            pending: c.pending,
            in_flight: c.in_flight,
            acked: c.acked,
            rejected: c.rejected,
        })
    }
}

impl GridwalkArchive {
    pub(crate) fn core(&self) -> &Archive {
        &self.archive
    }

    /// The core archive, shared with the sync client.
    #[cfg(feature = "sync")]
    pub(crate) fn shared(&self) -> Arc<Archive> {
        self.archive.clone()
    }

    fn core_building(&self, code: &core::BuildingCode) -> Result<core::Building, GridwalkError> {
        self.archive
            .building(code)?
            .ok_or_else(|| GridwalkError::not_found(format!("building {code}")))
    }

    fn store_event(&self, event: core::Event) -> Result<Recorded, GridwalkError> {
        let outbox_seq = self.archive.record_event(&event)?;
        Ok(Recorded {
            id: event.id.to_string(),
            outbox_seq,
        })
    }

    fn rate(
        &self,
        building: &core::Building,
        inspections: &[core::Inspection],
        events: &[core::Event],
        day: LocalDate,
    ) -> Result<StarExplanation, GridwalkError> {
        let previous = self
            .archive
            .rating_history::<rating::Rating>(&building.code)?
            .pop()
            .map(|r| r.explanation);
        let catalog = self.archive.catalog()?;
        Ok(rating::rate_building(
            building,
            inspections,
            events,
            previous.as_ref(),
            &catalog,
            &self.policy,
            day.0,
        )
        .into())
    }
}
