//! The domain model shared by the phone, the server and the wire.

mod building;
mod code;
mod division;
mod event;
mod geo_point;
mod ids;
mod inspection;
mod photo;
mod stars;
pub mod utc_time;
mod validation;

pub use building::{Building, BuildingUse, Contact, Grid};
pub use code::{BuildingCode, BuildingCodeError};
pub use division::{Community, Street};
pub use event::{
    Event, EventKind, EventStatus, Notice, NoticeRecipient, Severity, TransitionError,
};
pub use geo_point::{GeoPoint, GpsFix};
pub use ids::{CommunityId, DepartmentId, GridId, ItemId, RecordId, StreetId, WorkerId};
pub use inspection::{ChecklistResult, Inspection, ItemOutcome};
pub use photo::{PhotoRef, Sha256Hex};
pub use stars::{Category, CategoryScores, Stars};
pub use validation::{CaptureLimits, ValidationError};
