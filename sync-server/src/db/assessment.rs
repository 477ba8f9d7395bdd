//! What the assessment of a grid reads from storage (see `crate::assessment`).

use gridwalk_core::{Building, Event, Grid, Inspection};

use super::DbError;

/// Everything the assessment of a grid reads.
#[derive(Debug, Clone)]
pub struct GridRecords {
    pub grid: Grid,
    /// The grid's buildings now (removed ones left out).
    pub buildings: Vec<Building>,
    /// Every inspection and event about those buildings, in server order.
    pub inspections: Vec<Inspection>,
    pub events: Vec<Event>,
}

/// Parses a stored inspection or event payload for the assessment.
pub fn push_payload(
    kind: &str,
    payload: &str,
    inspections: &mut Vec<Inspection>,
    events: &mut Vec<Event>,
) -> Result<(), DbError> {
    let bad = |e: serde_json::Error| DbError::Corrupt(format!("stored {kind}: {e}"));
    match kind {
        "inspection" => inspections.push(serde_json::from_str(payload).map_err(bad)?),
        "event" => events.push(serde_json::from_str(payload).map_err(bad)?),
        other => return Err(DbError::Corrupt(format!("record kind '{other}'"))),
    }
    Ok(())
}
