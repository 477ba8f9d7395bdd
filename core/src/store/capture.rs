//! Field capture: inspections (巡查) and events (hazards, micro-events, incidents) recorded offline.
//!
//! Every record is checked against the capture limits and the catalog before anything is written,
//! then written with its photo links and its outbox entry in ONE transaction: either the record is
//! stored and queued for sync, or nothing is. A batch is one transaction too (one fsync for the lot).
//!
//! A record may name a building that is not in the archive (new to the address base, or moved out
//! of this phone's scope): only the code's shape is checked here; the server reconciles.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::domain::{BuildingCode, Event, GridId, Inspection, PhotoRef, RecordId, ValidationError};

use super::Archive;
use super::catalog_store::current_catalog;
use super::codec::{
    date_text, from_json, kind_text, record_id_text, severity_text, status_text, time_text, to_json,
};
use super::error::{StoreError, StoreResult};
use super::outbox::{OutboxSeq, RecordKind, enqueue, enqueue_edit};

/// Longest free text a record may carry, in characters (Chinese characters count one each).
/// Policy with a shipped default, like [`crate::domain::CaptureLimits`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextLimits {
    pub max_note_chars: usize,
    pub max_finding_chars: usize,
    pub max_findings: usize,
    pub max_description_chars: usize,
    pub max_worker_id_chars: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        Self {
            max_note_chars: 2000,
            max_finding_chars: 500,
            max_findings: 100,
            max_description_chars: 2000,
            max_worker_id_chars: 64,
        }
    }
}

/// One record captured in the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum FieldRecord {
    Inspection(Inspection),
    Event(Event),
}

impl FieldRecord {
    pub fn id(&self) -> RecordId {
        match self {
            FieldRecord::Inspection(i) => i.id,
            FieldRecord::Event(e) => e.id,
        }
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            FieldRecord::Inspection(_) => RecordKind::Inspection,
            FieldRecord::Event(_) => RecordKind::Event,
        }
    }
}

impl Archive {
    /// Stores a new inspection and queues it for sync; returns its outbox sequence number.
    pub fn record_inspection(&self, inspection: &Inspection) -> StoreResult<OutboxSeq> {
        let now = self.clock.now();
        self.write(|tx| {
            let catalog = current_catalog(tx)?;
            self.check_inspection(inspection, &catalog, now)?;
            insert_inspection(tx, inspection, now)
        })
    }

    /// Stores a new event and queues it for sync; returns its outbox sequence number.
    pub fn record_event(&self, event: &Event) -> StoreResult<OutboxSeq> {
        let now = self.clock.now();
        self.write(|tx| {
            let catalog = current_catalog(tx)?;
            self.check_event(event, &catalog, now)?;
            insert_event(tx, event, now)
        })
    }

    /// Stores new records in ONE transaction: all or nothing, one commit. Returns the outbox sequence
    /// numbers in input order.
    pub fn record_batch(&self, records: &[FieldRecord]) -> StoreResult<Vec<OutboxSeq>> {
        let now = self.clock.now();
        self.write(|tx| {
            let catalog = current_catalog(tx)?;
            for r in records {
                match r {
                    FieldRecord::Inspection(i) => self.check_inspection(i, &catalog, now)?,
                    FieldRecord::Event(e) => self.check_event(e, &catalog, now)?,
                }
            }
            records
                .iter()
                .map(|r| match r {
                    FieldRecord::Inspection(i) => insert_inspection(tx, i, now),
                    FieldRecord::Event(e) => insert_event(tx, e, now),
                })
                .collect()
        })
    }

    /// Replaces a stored inspection with an edited version and queues the new version (a new outbox
    /// entry; a version never handed to a push is replaced by it, versions that may be on the server
    /// are left as they are).
    pub fn update_inspection(&self, inspection: &Inspection) -> StoreResult<OutboxSeq> {
        let now = self.clock.now();
        self.write(|tx| {
            let catalog = current_catalog(tx)?;
            self.check_inspection(inspection, &catalog, now)?;
            check_photos(tx, &inspection.photos)?;
            let id = record_id_text(inspection.id);
            let json = to_json(inspection)?;
            let changed = tx.execute(
                "UPDATE inspections SET building_code = ?2, worker = ?3, started_at = ?4, \
                 finished_at = ?5, corrects = ?6, updated_at = ?7, record_json = ?8 WHERE id = ?1",
                (
                    &id,
                    inspection.building.as_str(),
                    inspection.worker.as_str(),
                    time_text(inspection.started_at),
                    time_text(inspection.finished_at),
                    inspection.corrects.map(record_id_text),
                    time_text(now),
                    &json,
                ),
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownRecord(inspection.id));
            }
            tx.execute(
                "DELETE FROM inspection_photos WHERE inspection_id = ?1",
                [&id],
            )?;
            link_photos(tx, LinkTable::Inspection, &id, &inspection.photos)?;
            enqueue_edit(tx, inspection.id, RecordKind::Inspection, &json, now)
        })
    }

    /// Replaces a stored event with an edited version (its status may only move along the event
    /// lifecycle) and queues the new version.
    pub fn update_event(&self, event: &Event) -> StoreResult<OutboxSeq> {
        let now = self.clock.now();
        self.write(|tx| {
            let catalog = current_catalog(tx)?;
            self.check_event(event, &catalog, now)?;
            check_photos(tx, &event.photos)?;
            let id = record_id_text(event.id);
            let old: Option<String> = tx
                .query_row("SELECT record_json FROM events WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()?;
            let old: Event = match old {
                None => return Err(StoreError::UnknownRecord(event.id)),
                Some(json) => from_json("event", &json)?,
            };
            if old.status != event.status {
                old.status.move_to(event.status)?;
            }
            let json = to_json(event)?;
            tx.execute(
                "UPDATE events SET building_code = ?2, worker = ?3, kind = ?4, category = ?5, \
                 severity = ?6, status = ?7, reported_at = ?8, deadline = ?9, corrects = ?10, \
                 updated_at = ?11, record_json = ?12 WHERE id = ?1",
                rusqlite::params![
                    &id,
                    event.building.as_str(),
                    event.worker.as_str(),
                    kind_text(&event.kind),
                    event.category.as_str(),
                    severity_text(event.severity),
                    status_text(event.status),
                    time_text(event.reported_at),
                    event.notice.as_ref().map(|n| date_text(n.deadline)),
                    event.corrects.map(record_id_text),
                    time_text(now),
                    &json,
                ],
            )?;
            tx.execute("DELETE FROM event_photos WHERE event_id = ?1", [&id])?;
            link_photos(tx, LinkTable::Event, &id, &event.photos)?;
            enqueue_edit(tx, event.id, RecordKind::Event, &json, now)
        })
    }

    pub fn inspection(&self, id: RecordId) -> StoreResult<Option<Inspection>> {
        self.read(|conn| {
            let mut v = query_json(
                conn,
                "inspection",
                "SELECT record_json FROM inspections WHERE id = ?1",
                [record_id_text(id)],
            )?;
            Ok(v.pop())
        })
    }

    pub fn event(&self, id: RecordId) -> StoreResult<Option<Event>> {
        self.read(|conn| {
            let mut v = query_json(
                conn,
                "event",
                "SELECT record_json FROM events WHERE id = ?1",
                [record_id_text(id)],
            )?;
            Ok(v.pop())
        })
    }

    /// A building's inspections, most recent first.
    pub fn inspections_for_building(&self, code: &BuildingCode) -> StoreResult<Vec<Inspection>> {
        self.read(|conn| {
            query_json(
                conn,
                "inspection",
                "SELECT record_json FROM inspections WHERE building_code = ?1 \
                 ORDER BY started_at DESC, id DESC",
                [code.as_str()],
            )
        })
    }

    /// A building's events, most recent first.
    pub fn events_for_building(&self, code: &BuildingCode) -> StoreResult<Vec<Event>> {
        self.read(|conn| {
            query_json(
                conn,
                "event",
                "SELECT record_json FROM events WHERE building_code = ?1 \
                 ORDER BY reported_at DESC, id DESC",
                [code.as_str()],
            )
        })
    }

    /// Events still needing something done (not rectified or closed) on the buildings of a grid,
    /// earliest deadline first (no deadline last), then oldest report first. The grid is taken from
    /// the archive's buildings, so events about buildings no longer in the archive are not listed.
    pub fn open_events_for_grid(&self, grid: &GridId) -> StoreResult<Vec<Event>> {
        self.read(|conn| {
            query_json(
                conn,
                "event",
                "SELECT e.record_json FROM buildings AS b \
                 JOIN events AS e ON e.building_code = b.code \
                 WHERE b.grid = ?1 AND e.status NOT IN ('rectified', 'closed') \
                 ORDER BY e.deadline IS NULL, e.deadline, e.reported_at, e.id",
                [grid.as_str()],
            )
        })
    }

    fn check_inspection(
        &self,
        i: &Inspection,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        self.limits.check_fix(&i.fix, now)?;
        self.limits
            .check_time("inspection start", i.started_at, now)?;
        self.limits
            .check_time("inspection finish", i.finished_at, now)?;
        if i.finished_at < i.started_at {
            return Err(ValidationError::FinishedBeforeStarted);
        }
        catalog.check_inspection(i)?;
        let t = &self.text_limits;
        check_len("worker", i.worker.as_str(), t.max_worker_id_chars)?;
        check_len("note", &i.note, t.max_note_chars)?;
        if i.findings.len() > t.max_findings {
            return Err(ValidationError::TextTooLong {
                field: "findings (count)",
                max: t.max_findings,
            });
        }
        for f in &i.findings {
            check_len("finding", f, t.max_finding_chars)?;
        }
        Ok(())
    }

    fn check_event(
        &self,
        e: &Event,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        self.limits.check_fix(&e.fix, now)?;
        self.limits.check_time("event report", e.reported_at, now)?;
        catalog.check_event(e)?;
        let t = &self.text_limits;
        check_len("worker", e.worker.as_str(), t.max_worker_id_chars)?;
        check_len("description", &e.description, t.max_description_chars)?;
        Ok(())
    }
}

fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), ValidationError> {
    // Byte length bounds the char count from above: skip counting for the common short string.
    if s.len() > max && s.chars().count() > max {
        return Err(ValidationError::TextTooLong { field, max });
    }
    Ok(())
}

fn insert_inspection(
    tx: &Transaction<'_>,
    i: &Inspection,
    now: DateTime<Utc>,
) -> StoreResult<OutboxSeq> {
    check_photos(tx, &i.photos)?;
    let id = record_id_text(i.id);
    let json = to_json(i)?;
    let now_text = time_text(now);
    let mut stmt = tx.prepare_cached(
        "INSERT INTO inspections (id, building_code, worker, started_at, finished_at, corrects, \
         recorded_at, updated_at, record_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) \
         ON CONFLICT (id) DO NOTHING",
    )?;
    let inserted = stmt.execute((
        &id,
        i.building.as_str(),
        i.worker.as_str(),
        time_text(i.started_at),
        time_text(i.finished_at),
        i.corrects.map(record_id_text),
        &now_text,
        &json,
    ))?;
    if inserted == 0 {
        return Err(StoreError::DuplicateRecord(i.id));
    }
    link_photos(tx, LinkTable::Inspection, &id, &i.photos)?;
    enqueue(tx, i.id, RecordKind::Inspection, &json, now)
}

fn insert_event(tx: &Transaction<'_>, e: &Event, now: DateTime<Utc>) -> StoreResult<OutboxSeq> {
    check_photos(tx, &e.photos)?;
    let id = record_id_text(e.id);
    let json = to_json(e)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (id, building_code, worker, kind, category, severity, status, \
         reported_at, deadline, corrects, recorded_at, updated_at, record_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12) \
         ON CONFLICT (id) DO NOTHING",
    )?;
    let inserted = stmt.execute(rusqlite::params![
        &id,
        e.building.as_str(),
        e.worker.as_str(),
        kind_text(&e.kind),
        e.category.as_str(),
        severity_text(e.severity),
        status_text(e.status),
        time_text(e.reported_at),
        e.notice.as_ref().map(|n| date_text(n.deadline)),
        e.corrects.map(record_id_text),
        time_text(now),
        &json,
    ])?;
    if inserted == 0 {
        return Err(StoreError::DuplicateRecord(e.id));
    }
    link_photos(tx, LinkTable::Event, &id, &e.photos)?;
    enqueue(tx, e.id, RecordKind::Event, &json, now)
}

/// Every referenced photo must be in the archive, with the size and dimensions the record claims.
fn check_photos(tx: &Transaction<'_>, photos: &[PhotoRef]) -> StoreResult<()> {
    let mut stmt =
        tx.prepare_cached("SELECT size_bytes, width, height FROM photos WHERE sha256 = ?1")?;
    for p in photos {
        let row: Option<(i64, i64, i64)> = stmt
            .query_row([p.sha256.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        match row {
            None => return Err(StoreError::MissingPhoto(p.sha256.clone())),
            Some((size, w, h))
                if u64::try_from(size).ok() != Some(p.size_bytes)
                    || i64::from(p.width) != w
                    || i64::from(p.height) != h =>
            {
                return Err(StoreError::PhotoMismatch(p.sha256.clone()));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum LinkTable {
    Inspection,
    Event,
}

fn link_photos(
    tx: &Transaction<'_>,
    table: LinkTable,
    record_id: &str,
    photos: &[PhotoRef],
) -> StoreResult<()> {
    let sql = match table {
        LinkTable::Inspection => {
            "INSERT INTO inspection_photos (inspection_id, position, photo_sha256) VALUES (?1, ?2, ?3)"
        }
        LinkTable::Event => {
            "INSERT INTO event_photos (event_id, position, photo_sha256) VALUES (?1, ?2, ?3)"
        }
    };
    let mut stmt = tx.prepare_cached(sql)?;
    for (position, p) in photos.iter().enumerate() {
        stmt.execute((record_id, position as i64, p.sha256.as_str()))?;
    }
    Ok(())
}

fn query_json<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    what: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_json(what, &row.get::<_, String>(0)?)?);
    }
    Ok(out)
}
