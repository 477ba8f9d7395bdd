//! The sync protocol: every type that crosses the wire between a phone and the sync server, defined
//! once and used by both sides.
//!
//! Plain serde types, no HTTP or async dependencies. Request types (what a client sends) refuse
//! unknown fields so a typo is an error, not silently dropped data; response types accept unknown
//! fields so an older client keeps working against a newer server that adds one.

mod audit;
mod auth;
mod change_de;
mod correction;
mod error;
mod events;
mod lists;
mod photos;
mod pull;
mod push;
mod review;

pub use audit::{AuditEntry, AuditPage, AuditQuery};
pub use auth::{DeviceId, DeviceIdError, LoginRequest, LoginResponse, Role, Scope, UserInfo};
pub use correction::{BuildingCorrection, BuildingField, FieldChange};
pub use error::{ApiError, ErrorCode};
pub use events::{
    DepartmentEvent, DepartmentQueuePage, EventStatusUpdate, NoticeAddressee, NoticeMessage,
    NoticeState, NoticeView,
};
pub use lists::{
    ListContacts, ListFormat, ListKind, ListPage, ListQuery, ListRow, RatingEntry, RatingHistory,
};
pub use photos::PhotoStatus;
pub use pull::{
    Change, ConflictView, Cursor, NEXT_PAGE_HEADER, PullQuery, PullResponse, ReviewDecision,
    ReviewOutcome, TombstoneReason,
};
pub use push::{
    PushRecord, PushRequest, PushResponse, RecordOutcome, RecordResult, RejectCode, SyncRecord,
};
pub use review::{
    AssessmentQuery, GridAssessment, ReviewItem, ReviewKind, ReviewQueuePage, ReviewQueueQuery,
    ReviewRequest, ReviewState, WorkerAssessment,
};

/// Version of this protocol; part of every URL (`/v1/…`).
pub const PROTOCOL_VERSION: u32 = 1;
