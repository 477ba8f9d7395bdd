//! Buildings (楼栋), grids (网格) and places, as the apps see them.

use std::time::SystemTime;

use gridwalk_core as core;

use crate::GridwalkError;
use crate::types::{LocalDate, instant};

/// Checks a 25-digit unified address code (统一地址编码) and returns it unchanged.
///
/// Only the shape is checked (exactly 25 ASCII digits); whether the building exists is a question
/// for the archive. Raises `InvalidInput` saying what is wrong.
#[uniffi::export]
pub fn validate_building_code(code: String) -> Result<String, GridwalkError> {
    Ok(core::BuildingCode::parse(&code)?.into())
}

/// A WGS-84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl From<core::GeoPoint> for GeoPoint {
    fn from(p: core::GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl TryFrom<GeoPoint> for core::GeoPoint {
    type Error = GridwalkError;
    fn try_from(p: GeoPoint) -> Result<Self, GridwalkError> {
        Ok(core::GeoPoint::new(p.lat, p.lon)?)
    }
}

/// Great-circle distance between two points, in metres.
#[uniffi::export]
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> Result<f64, GridwalkError> {
    let a = core::GeoPoint::try_from(a)?;
    let b = core::GeoPoint::try_from(b)?;
    Ok(a.distance_m(&b))
}

/// What a building is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BuildingUse {
    /// 出租屋
    Residential,
    /// 商住混合
    MixedUse,
    /// 厂房
    Industrial,
    /// 集体宿舍
    Dormitory,
    /// 商业
    Commercial,
}

impl From<core::BuildingUse> for BuildingUse {
    fn from(u: core::BuildingUse) -> Self {
        match u {
            core::BuildingUse::Residential => Self::Residential,
            core::BuildingUse::MixedUse => Self::MixedUse,
            core::BuildingUse::Industrial => Self::Industrial,
            core::BuildingUse::Dormitory => Self::Dormitory,
            core::BuildingUse::Commercial => Self::Commercial,
        }
    }
}

/// A person to reach about a building. Personal data: show it, never log it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Contact {
    pub name: String,
    pub phone: String,
}

impl From<core::Contact> for Contact {
    fn from(c: core::Contact) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
        }
    }
}

/// The four category scores (0–100) a building's stars are judged on.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct CategoryScores {
    /// 安全宜居
    pub safety_livability: f64,
    /// 管理规范
    pub management: f64,
    /// 诚实守信
    pub honesty_credit: f64,
    /// 文明卫生
    pub civility_hygiene: f64,
}

impl From<core::CategoryScores> for CategoryScores {
    fn from(s: core::CategoryScores) -> Self {
        Self {
            safety_livability: s.safety_livability,
            management: s.management,
            honesty_credit: s.honesty_credit,
            civility_hygiene: s.civility_hygiene,
        }
    }
}

/// One building, one file (一楼一档): what the phone knows about a building.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Building {
    /// The 25-digit unified address code.
    pub code: String,
    pub address: String,
    pub location: GeoPoint,
    pub street: String,
    pub community: String,
    pub grid: String,
    pub floors: u16,
    pub units: u32,
    pub usage: BuildingUse,
    /// 业主
    pub owner: Contact,
    /// 实际管理人
    pub manager: Option<Contact>,
    /// 楼栋长
    pub building_head: Option<Contact>,
    /// 1–5 stars; `None` is unrated (未评级).
    pub stars: Option<u8>,
    pub scores: Option<CategoryScores>,
    pub open_hazards: u32,
    /// 黑名单
    pub blacklisted: bool,
    pub last_inspected_at: Option<SystemTime>,
    pub next_due_on: Option<LocalDate>,
}

impl From<core::Building> for Building {
    fn from(b: core::Building) -> Self {
        Self {
            code: b.code.into(),
            address: b.address,
            location: b.location.into(),
            street: b.street.0,
            community: b.community.0,
            grid: b.grid.0,
            floors: b.floors,
            units: b.units,
            usage: b.usage.into(),
            owner: b.owner.into(),
            manager: b.manager.map(Into::into),
            building_head: b.building_head.map(Into::into),
            stars: b.stars.map(core::Stars::get),
            scores: b.scores.map(Into::into),
            open_hazards: b.open_hazards,
            blacklisted: b.blacklisted,
            last_inspected_at: b.last_inspected_at.map(instant),
            next_due_on: b.next_due_on.map(LocalDate),
        }
    }
}

/// A base grid (基础网格): one worker, a few dozen buildings.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Grid {
    pub id: String,
    pub name: String,
    /// Closed ring (first point not repeated).
    pub boundary: Vec<GeoPoint>,
    pub community: String,
    pub street: String,
    /// The grid worker's account, when one is assigned.
    pub worker: Option<String>,
}

impl From<core::Grid> for Grid {
    fn from(g: core::Grid) -> Self {
        Self {
            id: g.id.0,
            name: g.name,
            boundary: g.boundary.into_iter().map(Into::into).collect(),
            community: g.community.0,
            street: g.street.0,
            worker: g.worker.map(|w| w.0),
        }
    }
}

/// A street / sub-district (街道).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Street {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

impl From<core::Street> for Street {
    fn from(s: core::Street) -> Self {
        Self {
            id: s.id.0,
            name_zh: s.name_zh,
            name_en: s.name_en,
        }
    }
}

/// A community (社区) within a street.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Community {
    pub id: String,
    pub street: String,
    pub name_zh: String,
    pub name_en: String,
}

impl From<core::Community> for Community {
    fn from(c: core::Community) -> Self {
        Self {
            id: c.id.0,
            street: c.street.0,
            name_zh: c.name_zh,
            name_en: c.name_en,
        }
    }
}
