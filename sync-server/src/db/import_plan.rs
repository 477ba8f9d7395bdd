//! How an address-base import changes the archive, decided once for both engines.

use std::collections::HashMap;

use gridwalk_core::{Building, BuildingCode, CommunityId, GridId, StreetId};

use super::{ImportSummary, StoredBuilding};
use gridwalk_core::protocol::TombstoneReason;

/// Where a building sits in the district hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub grid: GridId,
    pub community: CommunityId,
    pub street: StreetId,
}

impl Place {
    pub fn of(b: &Building) -> Self {
        Self {
            grid: b.grid.clone(),
            community: b.community.clone(),
            street: b.street.clone(),
        }
    }
}

/// A building leaving a place: devices whose scope held `old` but not `new` get a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: BuildingCode,
    pub old: Place,
    /// `None` when the building was removed.
    pub new: Option<Place>,
    pub reason: TombstoneReason,
}

/// One building to write (its new state), with the exit it causes.
#[derive(Debug, Clone)]
pub struct BuildingWrite {
    pub building: Building,
    pub exit: Option<Exit>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub summary: ImportSummary,
    pub writes: Vec<BuildingWrite>,
}

/// Keeps the archive's own fields (the address base does not know them).
fn keep_archive_fields(incoming: &mut Building, existing: &Building) {
    incoming.stars = existing.stars;
    incoming.scores = existing.scores;
    incoming.open_hazards = existing.open_hazards;
    incoming.blacklisted = existing.blacklisted;
    incoming.last_inspected_at = existing.last_inspected_at;
    incoming.next_due_on = existing.next_due_on;
}

pub fn plan_import(
    existing: &HashMap<BuildingCode, StoredBuilding>,
    incoming: Vec<Building>,
    dry_run: bool,
) -> ImportPlan {
    let mut plan = ImportPlan {
        summary: ImportSummary {
            total: incoming.len() as u64,
            dry_run,
            ..ImportSummary::default()
        },
        writes: Vec::new(),
    };
    for mut b in incoming {
        match existing.get(&b.code) {
            None => {
                plan.summary.inserted += 1;
                plan.writes.push(BuildingWrite {
                    building: b,
                    exit: None,
                });
            }
            Some(old) => {
                keep_archive_fields(&mut b, &old.building);
                if b == old.building && !old.removed {
                    plan.summary.unchanged += 1;
                    continue;
                }
                plan.summary.updated += 1;
                let (from, to) = (Place::of(&old.building), Place::of(&b));
                let exit = (from != to && !old.removed).then(|| {
                    plan.summary.reassigned += 1;
                    Exit {
                        code: b.code.clone(),
                        old: from,
                        new: Some(to),
                        reason: TombstoneReason::Reassigned,
                    }
                });
                plan.writes.push(BuildingWrite { building: b, exit });
            }
        }
    }
    plan
}
