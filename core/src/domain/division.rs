use serde::{Deserialize, Serialize};

use super::{CommunityId, StreetId};

/// A street / sub-district (街道), the district's first administrative level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Street {
    pub id: StreetId,
    /// e.g. 新安街道
    pub name_zh: String,
    /// e.g. Xin'an Subdistrict
    pub name_en: String,
}

/// A community (社区) within a street; it groups a few dozen grids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    pub id: CommunityId,
    pub street: StreetId,
    /// e.g. 凤塘社区
    pub name_zh: String,
    /// e.g. Fengtang Community
    pub name_en: String,
}
