//! The exactly-once push decision, shared by both engines.
//!
//! An engine opens its write transaction, loads a [`Snapshot`] of what it holds about the batch
//! (the device's last sequence, which record ids exist, the buildings named), calls [`plan_push`],
//! writes the resulting [`Plan`] and commits — all before answering. Because the decision is a pure
//! function of the snapshot, both engines answer every batch identically.
//!
//! Rules:
//! - The record id is the idempotency key. A record this device already sent is `duplicate` (or
//!   `rejected` again with the stored reason); nothing is written twice.
//! - New records must continue the device's sequence exactly (`last + 1`, `last + 2`, …). A gap
//!   (records missing in between) or a reused number refuses the whole batch, so a lost batch can
//!   never be skipped over silently.
//! - Content problems reject one record; the rest proceed. Rejected records use up their sequence.
//! - A building correction applies while the building still shows the value the device saw; if
//!   an earlier accepted correction (by server order) changed it, the later one is accepted and kept
//!   as a conflict for review instead of being applied.

use std::collections::{BTreeSet, HashMap, HashSet};

use gridwalk_core::protocol::{
    DeviceId, PushRecord, RecordOutcome, RecordResult, RejectCode, SyncRecord,
};
use gridwalk_core::{Building, BuildingCode, RecordId, Sha256Hex};

use super::effects::MergeEffects;
use super::validate::{Checked, Rejection, stored_payload};
use crate::db::import_plan::Place;
use crate::db::{NewConflict, NewRecord, NewRejection, PushCtx};

/// Why a whole batch is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("record sequence numbers must increase within a batch: {prev} is followed by {next}")]
    OutOfOrder { prev: u64, next: u64 },
    #[error("sequence numbers run from 1 to {max}; got {got}")]
    OutOfRange { got: u64, max: u64 },
    #[error(
        "sequence gap: the server holds up to {last} from this device, so the next new record must be {expected}, got {got}"
    )]
    Gap { last: u64, expected: u64, got: u64 },
    #[error(
        "sequence {seq} was already used by another record from this device (server holds up to {last})"
    )]
    Replayed { seq: u64, last: u64 },
}

/// What the store holds about one batch, read inside the write transaction.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub device_last_seq: u64,
    /// Record ids of the batch already accepted, with the device that sent them.
    pub accepted: HashMap<RecordId, DeviceId>,
    /// Record ids of the batch this device already had rejected.
    pub rejected: HashMap<RecordId, Rejection>,
    /// The buildings the batch names (absent: no such building).
    pub buildings: HashMap<BuildingCode, BuildingState>,
}

/// What the planner needs to know about a building named in a batch.
#[derive(Debug, Clone)]
pub struct BuildingState {
    pub place: Place,
    pub removed: bool,
    /// The full file: engines load it (locked against concurrent writers) for the buildings in
    /// [`corrected_buildings`], and only for those.
    pub file: Option<Building>,
}

/// The buildings a batch corrects: their files must be in the snapshot.
pub fn corrected_buildings(records: &[PushRecord]) -> Vec<&BuildingCode> {
    let mut codes: Vec<&BuildingCode> = records
        .iter()
        .filter_map(|r| match &r.record {
            SyncRecord::BuildingCorrection(c) => Some(&c.building),
            _ => None,
        })
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// Every building a batch names, once.
pub fn named_buildings(records: &[PushRecord]) -> Vec<&BuildingCode> {
    let mut codes: Vec<&BuildingCode> = records.iter().map(|r| r.record.building()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// What to write.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub results: Vec<RecordResult>,
    pub device_last_seq: u64,
    pub records: Vec<NewRecord>,
    pub rejections: Vec<NewRejection>,
    /// Buildings changed by corrections, in their new state.
    pub building_updates: Vec<Building>,
    pub conflicts: Vec<NewConflict>,
    /// Photos referred to by the batch's records the store holds after this push (accepted now
    /// or before): the engine answers which of them it lacks.
    pub photos: BTreeSet<Sha256Hex>,
    /// Follow-up work of the accepted records, written in the same transaction.
    pub effects: MergeEffects,
}

/// The largest device sequence number (stored as a signed 64-bit integer by both engines).
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// Checks sequence numbers increase within the batch (before any database work).
pub fn check_batch_order(records: &[PushRecord]) -> Result<(), SequenceError> {
    let mut prev: Option<u64> = None;
    for r in records {
        if r.seq == 0 || r.seq > MAX_SEQ {
            return Err(SequenceError::OutOfRange {
                got: r.seq,
                max: MAX_SEQ,
            });
        }
        if let Some(p) = prev
            && r.seq <= p
        {
            return Err(SequenceError::OutOfOrder {
                prev: p,
                next: r.seq,
            });
        }
        prev = Some(r.seq);
    }
    Ok(())
}

pub fn plan_push(
    ctx: &PushCtx,
    records: &[PushRecord],
    checks: &[Checked],
    mut snap: Snapshot,
) -> Result<Plan, SequenceError> {
    check_batch_order(records)?;
    let last = snap.device_last_seq;
    let mut next = last + 1;
    let mut plan = Plan::default();
    let mut seen_in_batch: HashSet<RecordId> = HashSet::new();
    let mut changed: Vec<BuildingCode> = Vec::new();

    for (i, pr) in records.iter().enumerate() {
        let id = pr.record.id();
        let known = snap.rejected.contains_key(&id)
            || snap.accepted.get(&id) == Some(&ctx.device)
            || seen_in_batch.contains(&id);
        if known && pr.seq == next {
            // A known record resent under a fresh number still uses that number up, so the
            // device's stream never stalls on it.
            next += 1;
        }
        let outcome = if let Some(r) = snap.rejected.get(&id) {
            RecordOutcome::Rejected {
                code: r.code,
                message: r.message.clone(),
            }
        } else if known {
            plan.photos
                .extend(pr.record.photos().iter().map(|p| p.sha256.clone()));
            RecordOutcome::Duplicate
        } else {
            if pr.seq <= last {
                return Err(SequenceError::Replayed { seq: pr.seq, last });
            }
            if pr.seq != next {
                return Err(SequenceError::Gap {
                    last,
                    expected: next,
                    got: pr.seq,
                });
            }
            next += 1;
            seen_in_batch.insert(id);
            // A record without its check (not from the handler) is prepared here.
            let (check, payload) = match checks.get(i) {
                Some(Checked::Refused(r)) => (Some(r.clone()), None),
                Some(Checked::Passed { payload }) => (None, Some(payload)),
                None => (None, None),
            };
            match decide(ctx, &pr.record, check, &snap) {
                Decision::Reject(r) => {
                    plan.rejections.push(NewRejection {
                        id,
                        device_seq: pr.seq,
                        code: r.code,
                        message: r.message.clone(),
                    });
                    RecordOutcome::Rejected {
                        code: r.code,
                        message: r.message,
                    }
                }
                Decision::Accept => {
                    let conflict = apply_correction(&pr.record, &mut snap, &mut plan, &mut changed);
                    let payload = payload.map_or_else(|| stored_payload(&pr.record), Clone::clone);
                    plan.records.push(record_row(ctx, pr, payload, conflict));
                    plan.effects.note(&pr.record);
                    plan.photos
                        .extend(pr.record.photos().iter().map(|p| p.sha256.clone()));
                    RecordOutcome::Accepted { conflict }
                }
            }
        };
        plan.results.push(RecordResult {
            seq: pr.seq,
            id,
            outcome,
        });
    }
    plan.device_last_seq = next - 1;
    for code in changed {
        if let Some(file) = snap.buildings.get(&code).and_then(|b| b.file.clone()) {
            plan.building_updates.push(file);
        }
    }
    Ok(plan)
}

enum Decision {
    Accept,
    Reject(Rejection),
}

fn decide(ctx: &PushCtx, rec: &SyncRecord, check: Option<Rejection>, snap: &Snapshot) -> Decision {
    let id = rec.id();
    if snap.accepted.contains_key(&id) {
        return Decision::Reject(Rejection::new(
            RejectCode::RecordIdTaken,
            format!("record id {id} was already used by another device"),
        ));
    }
    if let Some(r) = check {
        return Decision::Reject(r);
    }
    // Unknown and out-of-scope buildings get the same answer: a worker learns nothing about other
    // grids, not even which codes exist.
    let code = rec.building();
    match snap.buildings.get(code) {
        Some(b)
            if ctx
                .scope
                .contains_place(&b.place.grid, &b.place.community, &b.place.street) =>
        {
            if b.removed {
                Decision::Reject(Rejection::new(
                    RejectCode::BuildingRemoved,
                    format!("building {code} has been removed from the address base"),
                ))
            } else {
                Decision::Accept
            }
        }
        _ => Decision::Reject(Rejection::new(
            RejectCode::OutOfScope,
            format!("building {code} is not in your scope"),
        )),
    }
}

/// Applies an accepted correction to the in-transaction building, or records its conflict.
/// Returns whether the record is a conflict.
fn apply_correction(
    rec: &SyncRecord,
    snap: &mut Snapshot,
    plan: &mut Plan,
    changed: &mut Vec<BuildingCode>,
) -> bool {
    let SyncRecord::BuildingCorrection(c) = rec else {
        return false;
    };
    let Some(b) = snap
        .buildings
        .get_mut(&c.building)
        .and_then(|s| s.file.as_mut())
    else {
        // The engine did not load the file (it must, see `corrected_buildings`): keep the value
        // for review rather than apply it blind or drop it.
        plan.conflicts.push(NewConflict {
            record: c.id,
            building: c.building.clone(),
            field: c.change.field(),
            seen: c.change.seen_value(),
            proposed: c.change.proposed_value(),
            current: serde_json::Value::Null,
        });
        return true;
    };
    if c.change.seen_matches(b) {
        if !c.change.already_applied(b) {
            c.change.apply_to(b);
            if !changed.contains(&c.building) {
                changed.push(c.building.clone());
            }
        }
        false
    } else if c.change.already_applied(b) {
        // Someone else made the same correction first: agreement, not a conflict.
        false
    } else {
        plan.conflicts.push(NewConflict {
            record: c.id,
            building: c.building.clone(),
            field: c.change.field(),
            seen: c.change.seen_value(),
            proposed: c.change.proposed_value(),
            current: c.change.field().value_in(b),
        });
        true
    }
}

/// The row an accepted record is stored as.
pub fn record_row(ctx: &PushCtx, pr: &PushRecord, payload: String, conflict: bool) -> NewRecord {
    NewRecord {
        id: pr.record.id(),
        device: ctx.device.clone(),
        device_seq: pr.seq,
        username: ctx.username.clone(),
        kind: pr.record.kind_str(),
        building: pr.record.building().clone(),
        payload,
        photos: pr.record.photos().to_vec(),
        conflict,
    }
}
