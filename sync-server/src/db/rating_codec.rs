//! How the rater's stored values (record payloads, event statuses, rating history entries) are
//! read and written, shared by both engines.

use gridwalk_core::protocol::RatingEntry;
use gridwalk_core::{Event, EventStatus};

use super::DbError;

pub(crate) fn parse_payload<T: serde::de::DeserializeOwned>(payload: &str) -> Result<T, DbError> {
    serde_json::from_str(payload).map_err(|e| DbError::Corrupt(format!("stored record: {e}")))
}

/// The event as the server knows it now: its lifecycle status from `event_states`.
pub(crate) fn with_status(mut e: Event, status: Option<&str>) -> Result<Event, DbError> {
    if let Some(s) = status {
        e.status =
            EventStatus::parse(s).ok_or_else(|| DbError::Corrupt(format!("event status '{s}'")))?;
    }
    Ok(e)
}

pub(crate) fn parse_entry(s: &str) -> Result<RatingEntry, DbError> {
    serde_json::from_str(s).map_err(|e| DbError::Corrupt(format!("rating history: {e}")))
}

pub(crate) fn entry_json(e: &RatingEntry) -> Result<String, DbError> {
    serde_json::to_string(e).map_err(|e| DbError::Corrupt(format!("rating history: {e}")))
}
