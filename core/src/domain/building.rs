use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{
    BuildingCode, CategoryScores, CommunityId, GeoPoint, GridId, Stars, StreetId, WorkerId,
};

/// A person to reach about a building. Personal data: never put it in errors or logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
}

/// What a building is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingUse {
    /// 出租屋 (residential rental)
    Residential,
    /// 商住混合 (shops below, flats above)
    MixedUse,
    /// 厂房 (workshop / factory)
    Industrial,
    /// 集体宿舍 (dormitory)
    Dormitory,
    /// 商业 (commercial)
    Commercial,
}

/// One building, one file (一楼一档), as the phone sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub code: BuildingCode,
    pub address: String,
    pub location: GeoPoint,
    pub street: StreetId,
    pub community: CommunityId,
    pub grid: GridId,
    pub floors: u16,
    pub units: u32,
    pub usage: BuildingUse,
    /// 业主
    pub owner: Contact,
    /// 实际管理人
    pub manager: Option<Contact>,
    /// 楼栋长
    pub building_head: Option<Contact>,
    /// `None` is unrated (未评级).
    pub stars: Option<Stars>,
    pub scores: Option<CategoryScores>,
    pub open_hazards: u32,
    /// 黑名单
    pub blacklisted: bool,
    #[serde(default, with = "crate::domain::utc_time::serde::option")]
    pub last_inspected_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::domain::utc_time::date_option")]
    pub next_due_on: Option<NaiveDate>,
}

/// A base grid (基础网格): one worker, a few dozen buildings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub id: GridId,
    pub name: String,
    /// Closed ring of WGS-84 points (first point not repeated).
    pub boundary: Vec<GeoPoint>,
    pub community: CommunityId,
    pub street: StreetId,
    pub worker: Option<WorkerId>,
}
