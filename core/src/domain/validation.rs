use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{BuildingCodeError, GpsFix};

/// Limits applied to what a worker captures. Configurable by the host app (and later by the server's
/// policy); the defaults are what a phone in a Shenzhen stairwell can honestly deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureLimits {
    /// GPS fixes with a worse accuracy radius are refused (ODK users report 3,000 m fixes accepted).
    pub max_gps_accuracy_m: f64,
    /// How far past the device's "now" a timestamp may lie before it is refused as a clock error.
    pub max_future_skew_s: i64,
    /// Photos whose long edge exceeds this are refused; the app resizes before recording.
    pub max_photo_long_edge_px: u32,
    /// Photos larger than this are refused.
    pub max_photo_bytes: u64,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        Self {
            max_gps_accuracy_m: 100.0,
            max_future_skew_s: 10 * 60,
            max_photo_long_edge_px: 2560,
            max_photo_bytes: 4 * 1024 * 1024,
        }
    }
}

impl CaptureLimits {
    pub fn check_fix(&self, fix: &GpsFix, now: DateTime<Utc>) -> Result<(), ValidationError> {
        fix.point.validate()?;
        if !fix.accuracy_m.is_finite() || fix.accuracy_m < 0.0 {
            return Err(ValidationError::InvalidAccuracy(fix.accuracy_m));
        }
        if fix.accuracy_m > self.max_gps_accuracy_m {
            return Err(ValidationError::GpsTooInaccurate {
                accuracy_m: fix.accuracy_m,
                limit_m: self.max_gps_accuracy_m,
            });
        }
        self.check_time("gps fix", fix.taken_at, now)
    }

    pub fn check_time(
        &self,
        what: &'static str,
        t: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        if t > now + Duration::seconds(self.max_future_skew_s) {
            return Err(ValidationError::TimeInFuture { what, at: t, now });
        }
        Ok(())
    }
}

/// Why a captured record was refused. Messages name the problem, never personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    BuildingCode(#[from] BuildingCodeError),
    #[error("latitude {0} is outside WGS-84 range [-90, 90]")]
    LatitudeOutOfRange(f64),
    #[error("longitude {0} is outside WGS-84 range [-180, 180]")]
    LongitudeOutOfRange(f64),
    #[error("GPS accuracy {0} is not a valid radius")]
    InvalidAccuracy(f64),
    #[error("GPS fix accuracy {accuracy_m} m is worse than the {limit_m} m limit")]
    GpsTooInaccurate { accuracy_m: f64, limit_m: f64 },
    #[error("{what} time {at} is in the future (device time {now})")]
    TimeInFuture {
        what: &'static str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("finished before it started")]
    FinishedBeforeStarted,
    #[error("unknown checklist item '{0}' (not in catalog)")]
    UnknownChecklistItem(String),
    #[error("checklist item '{0}' appears more than once")]
    DuplicateChecklistItem(String),
    #[error("unknown micro-event kind '{0}' (not in catalog)")]
    UnknownMicroEventKind(String),
    #[error("unknown event category '{0}' (not in catalog)")]
    UnknownEventCategory(String),
    #[error("stars must be 1 to 5, got {0}")]
    StarsOutOfRange(u8),
    #[error("category score must be within 0..=100, got {0}")]
    ScoreOutOfRange(f64),
    #[error("a micro-event needs a notice with at least one recipient")]
    MicroEventWithoutNotice,
    #[error("rectification deadline {deadline} is before the report date {reported}")]
    DeadlineBeforeReport {
        deadline: chrono::NaiveDate,
        reported: chrono::NaiveDate,
    },
    #[error("'{0}' is not a SHA-256 hex digest")]
    BadSha256(String),
    #[error("text field '{field}' is longer than {max} characters")]
    TextTooLong { field: &'static str, max: usize },
}
