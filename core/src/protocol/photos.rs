use serde::{Deserialize, Serialize};

use crate::domain::Sha256Hex;

/// Where an upload of one photo stands (`GET /v1/photos/{sha256}/status`, and the answer to each
/// `PUT`). A resumed upload continues at `received_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoStatus {
    pub sha256: Sha256Hex,
    /// The size the referring record declared.
    pub size_bytes: u64,
    pub received_bytes: u64,
    pub complete: bool,
}
