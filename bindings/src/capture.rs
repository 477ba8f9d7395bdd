//! Field capture as the apps see it: inspections (巡查), events (hazards 隐患, micro-events 微小事件,
//! incidents), GPS fixes and photos. Drafts go in (the record id is assigned here, UUID v7); stored
//! records come back out.

use std::time::SystemTime;

use gridwalk_core as core;

use crate::GridwalkError;
use crate::building::GeoPoint;
use crate::catalog::Category;
use crate::types::{LocalDate, instant, utc};

/// A GPS fix as the phone reported it: where, how sure (68 % radius, metres), and when.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub taken_at: SystemTime,
}

impl From<core::GpsFix> for GpsFix {
    fn from(f: core::GpsFix) -> Self {
        Self {
            lat: f.point.lat,
            lon: f.point.lon,
            accuracy_m: f.accuracy_m,
            taken_at: instant(f.taken_at),
        }
    }
}

impl TryFrom<GpsFix> for core::GpsFix {
    type Error = GridwalkError;
    fn try_from(f: GpsFix) -> Result<Self, GridwalkError> {
        Ok(core::GpsFix {
            point: core::GeoPoint::try_from(GeoPoint {
                lat: f.lat,
                lon: f.lon,
            })?,
            accuracy_m: f.accuracy_m,
            taken_at: utc(f.taken_at),
        })
    }
}

/// A photo stored in the archive, named by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct PhotoRef {
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    pub size_bytes: u64,
    pub width: u32,
    pub height: u32,
}

impl From<core::PhotoRef> for PhotoRef {
    fn from(p: core::PhotoRef) -> Self {
        Self {
            sha256: p.sha256.into(),
            size_bytes: p.size_bytes,
            width: p.width,
            height: p.height,
        }
    }
}

impl TryFrom<PhotoRef> for core::PhotoRef {
    type Error = GridwalkError;
    fn try_from(p: PhotoRef) -> Result<Self, GridwalkError> {
        Ok(core::PhotoRef {
            sha256: core::Sha256Hex::parse(&p.sha256)?,
            size_bytes: p.size_bytes,
            width: p.width,
            height: p.height,
        })
    }
}

fn photos_in(photos: Vec<PhotoRef>) -> Result<Vec<core::PhotoRef>, GridwalkError> {
    photos.into_iter().map(TryInto::try_into).collect()
}

/// The outcome of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemOutcome {
    Pass,
    Fail,
    NotApplicable,
}

impl From<core::ItemOutcome> for ItemOutcome {
    fn from(o: core::ItemOutcome) -> Self {
        match o {
            core::ItemOutcome::Pass => Self::Pass,
            core::ItemOutcome::Fail => Self::Fail,
            core::ItemOutcome::NotApplicable => Self::NotApplicable,
        }
    }
}

impl From<ItemOutcome> for core::ItemOutcome {
    fn from(o: ItemOutcome) -> Self {
        match o {
            ItemOutcome::Pass => Self::Pass,
            ItemOutcome::Fail => Self::Fail,
            ItemOutcome::NotApplicable => Self::NotApplicable,
        }
    }
}

/// One checklist item's result; `item` and `category` as in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistResult {
    pub item: String,
    pub category: Category,
    pub outcome: ItemOutcome,
}

impl From<core::ChecklistResult> for ChecklistResult {
    fn from(r: core::ChecklistResult) -> Self {
        Self {
            item: r.item.0,
            category: r.category.into(),
            outcome: r.outcome.into(),
        }
    }
}

impl From<ChecklistResult> for core::ChecklistResult {
    fn from(r: ChecklistResult) -> Self {
        Self {
            item: core::ItemId(r.item),
            category: r.category.into(),
            outcome: r.outcome.into(),
        }
    }
}

/// An inspection about to be recorded.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InspectionDraft {
    pub building: String,
    pub worker: String,
    pub started_at: SystemTime,
    pub finished_at: SystemTime,
    pub fix: GpsFix,
    pub results: Vec<ChecklistResult>,
    pub findings: Vec<String>,
    /// Photos already added to the archive (`add_photo`).
    pub photos: Vec<PhotoRef>,
    pub note: String,
    /// The id of a sent-back report this inspection corrects (its resubmission, 整改后重新提交).
    #[uniffi(default = None)]
    pub corrects: Option<String>,
}

impl InspectionDraft {
    pub(crate) fn into_core(self) -> Result<core::Inspection, GridwalkError> {
        Ok(core::Inspection {
            id: core::RecordId::new(),
            building: core::BuildingCode::parse(&self.building)?,
            worker: core::WorkerId(self.worker),
            started_at: utc(self.started_at),
            finished_at: utc(self.finished_at),
            fix: self.fix.try_into()?,
            results: self.results.into_iter().map(Into::into).collect(),
            findings: self.findings,
            photos: photos_in(self.photos)?,
            note: self.note,
            corrects: self
                .corrects
                .as_deref()
                .map(crate::types::record_id)
                .transpose()?,
        })
    }
}

/// A stored inspection.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Inspection {
    /// UUID v7, assigned when it was recorded.
    pub id: String,
    pub building: String,
    pub worker: String,
    pub started_at: SystemTime,
    pub finished_at: SystemTime,
    pub fix: GpsFix,
    pub results: Vec<ChecklistResult>,
    pub findings: Vec<String>,
    pub photos: Vec<PhotoRef>,
    pub note: String,
    /// The record this one corrects, if it is a correction.
    pub corrects: Option<String>,
}

impl From<core::Inspection> for Inspection {
    fn from(i: core::Inspection) -> Self {
        Self {
            id: i.id.to_string(),
            building: i.building.into(),
            worker: i.worker.0,
            started_at: instant(i.started_at),
            finished_at: instant(i.finished_at),
            fix: i.fix.into(),
            results: i.results.into_iter().map(Into::into).collect(),
            findings: i.findings,
            photos: i.photos.into_iter().map(Into::into).collect(),
            note: i.note,
            corrects: i.corrects.map(|c| c.to_string()),
        }
    }
}

/// What kind of event: a hazard (隐患), one of the catalog's micro-events (微小事件), an incident.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum EventKind {
    Hazard,
    MicroEvent { kind: String },
    Incident,
}

impl From<core::EventKind> for EventKind {
    fn from(k: core::EventKind) -> Self {
        match k {
            core::EventKind::Hazard => Self::Hazard,
            core::EventKind::MicroEvent { kind } => Self::MicroEvent { kind: kind.0 },
            core::EventKind::Incident => Self::Incident,
        }
    }
}

impl From<EventKind> for core::EventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::Hazard => Self::Hazard,
            EventKind::MicroEvent { kind } => Self::MicroEvent {
                kind: core::ItemId(kind),
            },
            EventKind::Incident => Self::Incident,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl From<core::Severity> for Severity {
    fn from(s: core::Severity) -> Self {
        match s {
            core::Severity::Low => Self::Low,
            core::Severity::Medium => Self::Medium,
            core::Severity::High => Self::High,
            core::Severity::Critical => Self::Critical,
        }
    }
}

impl From<Severity> for core::Severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Low => Self::Low,
            Severity::Medium => Self::Medium,
            Severity::High => Self::High,
            Severity::Critical => Self::Critical,
        }
    }
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EventStatus {
    Reported,
    Dispatched,
    Noticed,
    Rectified,
    Overdue,
    Closed,
}

impl From<core::EventStatus> for EventStatus {
    fn from(s: core::EventStatus) -> Self {
        match s {
            core::EventStatus::Reported => Self::Reported,
            core::EventStatus::Dispatched => Self::Dispatched,
            core::EventStatus::Noticed => Self::Noticed,
            core::EventStatus::Rectified => Self::Rectified,
            core::EventStatus::Overdue => Self::Overdue,
            core::EventStatus::Closed => Self::Closed,
        }
    }
}

/// Who a notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NoticeRecipient {
    Owner,
    Manager,
    Tenants,
}

impl From<core::NoticeRecipient> for NoticeRecipient {
    fn from(r: core::NoticeRecipient) -> Self {
        match r {
            core::NoticeRecipient::Owner => Self::Owner,
            core::NoticeRecipient::Manager => Self::Manager,
            core::NoticeRecipient::Tenants => Self::Tenants,
        }
    }
}

impl From<NoticeRecipient> for core::NoticeRecipient {
    fn from(r: NoticeRecipient) -> Self {
        match r {
            NoticeRecipient::Owner => Self::Owner,
            NoticeRecipient::Manager => Self::Manager,
            NoticeRecipient::Tenants => Self::Tenants,
        }
    }
}

/// A notice to rectify by a deadline.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Notice {
    pub recipients: Vec<NoticeRecipient>,
    pub deadline: LocalDate,
}

impl From<core::Notice> for Notice {
    fn from(n: core::Notice) -> Self {
        Self {
            recipients: n.recipients.into_iter().map(Into::into).collect(),
            deadline: n.deadline.into(),
        }
    }
}

impl From<Notice> for core::Notice {
    fn from(n: Notice) -> Self {
        Self {
            recipients: n.recipients.into_iter().map(Into::into).collect(),
            deadline: n.deadline.0,
        }
    }
}

/// An event about to be reported. It is stored as `Reported`; dispatch happens on the server.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EventDraft {
    pub building: String,
    pub worker: String,
    pub kind: EventKind,
    /// Event category from the catalog (decides the department).
    pub category: String,
    pub severity: Severity,
    pub fix: GpsFix,
    pub photos: Vec<PhotoRef>,
    pub description: String,
    pub reported_at: SystemTime,
    /// Required for a micro-event.
    pub notice: Option<Notice>,
}

impl EventDraft {
    pub(crate) fn into_core(self) -> Result<core::Event, GridwalkError> {
        Ok(core::Event {
            id: core::RecordId::new(),
            building: core::BuildingCode::parse(&self.building)?,
            worker: core::WorkerId(self.worker),
            kind: self.kind.into(),
            category: core::ItemId(self.category),
            severity: self.severity.into(),
            fix: self.fix.try_into()?,
            photos: photos_in(self.photos)?,
            description: self.description,
            reported_at: utc(self.reported_at),
            notice: self.notice.map(Into::into),
            status: core::EventStatus::Reported,
            corrects: None,
        })
    }
}

/// A micro-event (微小事件) by the simplified procedure: the category and the notice deadline come
/// from the catalog's kind (deadline = the local day of the report + the kind's `deadline_days`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MicroEventDraft {
    pub building: String,
    pub worker: String,
    /// A micro-event kind id from the catalog, e.g. `me_corridor_clutter`.
    pub kind: String,
    pub fix: GpsFix,
    pub photos: Vec<PhotoRef>,
    pub description: String,
    pub reported_at: SystemTime,
    /// Who gets the notice (at least one).
    pub recipients: Vec<NoticeRecipient>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Event {
    pub id: String,
    pub building: String,
    pub worker: String,
    pub kind: EventKind,
    pub category: String,
    pub severity: Severity,
    pub fix: GpsFix,
    pub photos: Vec<PhotoRef>,
    pub description: String,
    pub reported_at: SystemTime,
    pub notice: Option<Notice>,
    pub status: EventStatus,
    pub corrects: Option<String>,
}

impl From<core::Event> for Event {
    fn from(e: core::Event) -> Self {
        Self {
            id: e.id.to_string(),
            building: e.building.into(),
            worker: e.worker.0,
            kind: e.kind.into(),
            category: e.category.0,
            severity: e.severity.into(),
            fix: e.fix.into(),
            photos: e.photos.into_iter().map(Into::into).collect(),
            description: e.description,
            reported_at: instant(e.reported_at),
            notice: e.notice.map(Into::into),
            status: e.status.into(),
            corrects: e.corrects.map(|c| c.to_string()),
        }
    }
}

/// A record just stored: its id and its place in the sync outbox.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Recorded {
    pub id: String,
    pub outbox_seq: i64,
}
