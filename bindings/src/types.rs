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

// A malformed day from Swift (where it is a plain String) is the caller's `InvalidInput`: uniffi
// raises an argument's lift error as the function's own error when it downcasts to it.
uniffi::custom_type!(LocalDate, String, {
    lower: |d| d.iso(),
    try_lift: |s| Ok(LocalDate::parse_iso(&s)?),
});

impl LocalDate {
    pub fn iso(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }

    pub fn parse_iso(s: &str) -> Result<Self, crate::GridwalkError> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| crate::GridwalkError::invalid(format!("'{s}' is not a yyyy-mm-dd day")))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GridwalkError;

    #[test]
    fn local_date_lifts_iso_days_and_refuses_others_as_invalid_input() {
        let lift = |s: &str| {
            <LocalDate as uniffi::Lift<crate::UniFfiTag>>::try_lift(uniffi::RustBuffer::from_vec(
                s.as_bytes().to_vec(),
            ))
        };
        let day = lift("2025-07-01").expect("an ISO day lifts");
        assert_eq!(day.iso(), "2025-07-01");
        let err = lift("2025-13-45").expect_err("month 13 is refused");
        // The downcast is what makes uniffi raise it as the called function's GridwalkError.
        assert_eq!(
            err.downcast::<GridwalkError>().expect("a GridwalkError"),
            GridwalkError::InvalidInput {
                detail: "'2025-13-45' is not a yyyy-mm-dd day".into()
            }
        );
    }
}
