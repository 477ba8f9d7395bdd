use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A field record's client-generated id (UUID v7: time-ordered, unique without a server).
///
/// The phone assigns it at capture; the server deduplicates on it, which is what makes a retried
/// upload arrive exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl RecordId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A base grid (基础网格), e.g. `G0001`.
    GridId
);
string_id!(
    /// A community (社区).
    CommunityId
);
string_id!(
    /// A street / sub-district (街道).
    StreetId
);
string_id!(
    /// A grid worker (网格员), by account name.
    WorkerId
);
string_id!(
    /// A checklist item, micro-event kind or event category in the catalog.
    ItemId
);
string_id!(
    /// A handling department (处置部门) events are dispatched to.
    DepartmentId
);
