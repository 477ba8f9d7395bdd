//! Natural foreign types at the boundary.
//!
//! - Instants are `std::time::SystemTime`: uniffi's timestamp (Kotlin `java.time.Instant`, Swift
//!   `Date`, Python `datetime.datetime` in UTC).
//! - Calendar days (due dates, notice deadlines) are [`LocalDate`]: an ISO-8601 `yyyy-mm-dd` string
//!   on the wire, which `uniffi.toml` maps to `java.time.LocalDate` in Kotlin and `datetime.date`
//!   in Python; Swift has no date-only type and sees the ISO string.
//! - Record ids (UUID v7) and building codes are strings, checked when they come back in.

use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};

/// A calendar day without a time zone (e.g. a building's next due date, a notice's deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate(pub NaiveDate);

uniffi::custom_type!(LocalDate, String, {
    lower: |d| d.0.format("%Y-%m-%d").to_string(),
    try_lift: |s| Ok(LocalDate(NaiveDate::parse_from_str(&s, "%Y-%m-%d")?)),
});

impl From<NaiveDate> for LocalDate {
    fn from(d: NaiveDate) -> Self {
        Self(d)
    }
}

pub(crate) fn instant(t: DateTime<Utc>) -> SystemTime {
    t.into()
}

pub(crate) fn utc(t: SystemTime) -> DateTime<Utc> {
    t.into()
}

pub(crate) fn stars(s: Option<gridwalk_core::Stars>) -> Option<u8> {
    s.map(gridwalk_core::Stars::get)
}

pub(crate) fn record_id(s: &str) -> Result<gridwalk_core::RecordId, crate::GridwalkError> {
    s.parse()
        .map(gridwalk_core::RecordId)
        .map_err(|_| crate::GridwalkError::invalid(format!("'{s}' is not a record id (a UUID)")))
}
