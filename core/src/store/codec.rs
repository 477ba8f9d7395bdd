//! How domain values become column values and back. Times are fixed-width RFC 3339 UTC text with
//! nanoseconds (text order = time order); dates are `YYYY-MM-DD`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::utc_time::{self, Fraction};
use crate::domain::{BuildingCode, BuildingUse, EventKind, EventStatus, RecordId, Severity};

use super::error::{StoreError, StoreResult};

pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    utc_time::format(&t, Fraction::Nanos)
}

pub(crate) fn parse_time(s: &str) -> StoreResult<DateTime<Utc>> {
    utc_time::parse_rfc3339(s).map_err(|_| StoreError::corrupt("a stored time is not RFC 3339"))
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    utc_time::format_date(d)
}

pub(crate) fn parse_date(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::corrupt("a stored date is not YYYY-MM-DD"))
}

pub(crate) fn parse_code(s: &str) -> StoreResult<BuildingCode> {
    BuildingCode::parse(s).map_err(|_| StoreError::corrupt("a stored building code is malformed"))
}

pub(crate) fn record_id_text(id: RecordId) -> String {
    id.0.to_string()
}

pub(crate) fn parse_record_id(s: &str) -> StoreResult<RecordId> {
    uuid::Uuid::parse_str(s)
        .map(RecordId)
        .map_err(|_| StoreError::corrupt("a stored record id is not a UUID"))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(v)?)
}

/// Stored JSON that no longer parses is damage, not a caller error.
pub(crate) fn from_json<T: DeserializeOwned>(what: &'static str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("stored {what}: {e}")))
}

pub(crate) fn usage_text(u: BuildingUse) -> &'static str {
    match u {
        BuildingUse::Residential => "residential",
        BuildingUse::MixedUse => "mixed_use",
        BuildingUse::Industrial => "industrial",
        BuildingUse::Dormitory => "dormitory",
        BuildingUse::Commercial => "commercial",
    }
}

pub(crate) fn parse_usage(s: &str) -> StoreResult<BuildingUse> {
    Ok(match s {
        "residential" => BuildingUse::Residential,
        "mixed_use" => BuildingUse::MixedUse,
        "industrial" => BuildingUse::Industrial,
        "dormitory" => BuildingUse::Dormitory,
        "commercial" => BuildingUse::Commercial,
        _ => return Err(StoreError::corrupt("a stored building use is unknown")),
    })
}

pub(crate) fn status_text(s: EventStatus) -> &'static str {
    match s {
        EventStatus::Reported => "reported",
        EventStatus::Dispatched => "dispatched",
        EventStatus::Noticed => "noticed",
        EventStatus::Rectified => "rectified",
        EventStatus::Overdue => "overdue",
        EventStatus::Closed => "closed",
    }
}

pub(crate) fn kind_text(k: &EventKind) -> &'static str {
    match k {
        EventKind::Hazard => "hazard",
        EventKind::MicroEvent { .. } => "micro_event",
        EventKind::Incident => "incident",
    }
}

pub(crate) fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// SQLite integers are i64; u64 sizes above i64::MAX cannot occur for real files.
pub(crate) fn u64_to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn sql_to_u32(v: i64, what: &'static str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::corrupt(format!("stored {what} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_codec_time_text_is_fixed_width_and_round_trips() {
        let a = DateTime::parse_from_rfc3339("2024-05-01T08:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let b = a + chrono::Duration::nanoseconds(1);
        assert_eq!(time_text(a), "2024-05-01T08:00:00.000000000Z");
        assert_eq!(time_text(a).len(), time_text(b).len());
        assert!(time_text(a) < time_text(b));
        assert_eq!(parse_time(&time_text(b)).expect("parses"), b);
        assert!(matches!(
            parse_time("yesterday"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
