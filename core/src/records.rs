//! Which field records count. A report a supervisor sent back and the worker corrected is replaced by
//! its correction (`corrects`): the rules read the correction, never both.

use std::collections::{HashMap, HashSet};

use crate::domain::{BuildingCode, Event, EventKind, Inspection, RecordId};

/// Ids of records that a later correction replaces.
pub(crate) fn superseded<'a, I>(corrections: I) -> HashSet<RecordId>
where
    I: IntoIterator<Item = Option<&'a RecordId>>,
{
    corrections.into_iter().flatten().copied().collect()
}

/// The inspections of one building that stand (not replaced by a correction).
pub fn live_inspections<'a>(all: &'a [Inspection], building: &BuildingCode) -> Vec<&'a Inspection> {
    let gone = superseded(all.iter().map(|i| i.corrects.as_ref()));
    all.iter()
        .filter(|i| &i.building == building && !gone.contains(&i.id))
        .collect()
}

/// The events of one building that stand (not replaced by a correction).
pub fn live_events<'a>(all: &'a [Event], building: &BuildingCode) -> Vec<&'a Event> {
    let gone = superseded(all.iter().map(|e| e.corrects.as_ref()));
    all.iter()
        .filter(|e| &e.building == building && !gone.contains(&e.id))
        .collect()
}

/// Standing inspections grouped by building, in one pass (for rating or planning many buildings).
pub(crate) fn inspections_by_building(
    all: &[Inspection],
) -> HashMap<&BuildingCode, Vec<&Inspection>> {
    let gone = superseded(all.iter().map(|i| i.corrects.as_ref()));
    let mut m: HashMap<&BuildingCode, Vec<&Inspection>> = HashMap::new();
    for i in all.iter().filter(|i| !gone.contains(&i.id)) {
        m.entry(&i.building).or_default().push(i);
    }
    m
}

/// Standing events grouped by building, in one pass.
pub(crate) fn events_by_building(all: &[Event]) -> HashMap<&BuildingCode, Vec<&Event>> {
    let gone = superseded(all.iter().map(|e| e.corrects.as_ref()));
    let mut m: HashMap<&BuildingCode, Vec<&Event>> = HashMap::new();
    for e in all.iter().filter(|e| !gone.contains(&e.id)) {
        m.entry(&e.building).or_default().push(e);
    }
    m
}

/// A building's open hazards (隐患) and micro-events (微小事件): events still needing rectification.
/// Incidents are cases, not things to rectify, so they do not count.
pub fn open_hazard_count(events: &[&Event]) -> u32 {
    let n = events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Incident) && e.status.is_open())
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}
