//! The enforcement officer's building list: filter by jurisdiction and risk, riskiest first, paged.

use std::time::SystemTime;

use gridwalk_core as core;
use gridwalk_core::store::list;

use crate::building::GeoPoint;
use crate::types::{LocalDate, instant, stars};

/// Whose buildings: a grid (网格), a community (社区), a street (街道) or the whole district (区).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Scope {
    Grid { id: String },
    Community { id: String },
    Street { id: String },
    District,
}

impl From<Scope> for list::Scope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Grid { id } => Self::Grid(core::GridId(id)),
            Scope::Community { id } => Self::Community(core::CommunityId(id)),
            Scope::Street { id } => Self::Street(core::StreetId(id)),
            Scope::District => Self::District,
        }
    }
}

/// Which buildings. Unset fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BuildingFilter {
    pub scope: Scope,
    /// At most this many stars (unrated buildings are governed by `include_unrated`).
    #[uniffi(default = None)]
    pub max_stars: Option<u8>,
    #[uniffi(default = true)]
    pub include_unrated: bool,
    /// Only buildings whose next visit was due strictly before this day.
    #[uniffi(default = None)]
    pub overdue_on: Option<LocalDate>,
    #[uniffi(default = false)]
    pub with_open_hazards: bool,
    #[uniffi(default = false)]
    pub blacklisted_only: bool,
}

impl From<BuildingFilter> for list::BuildingFilter {
    fn from(f: BuildingFilter) -> Self {
        Self {
            scope: f.scope.into(),
            max_stars: f.max_stars,
            include_unrated: f.include_unrated,
            overdue_on: f.overdue_on.map(|d| d.0),
            with_open_hazards: f.with_open_hazards,
            blacklisted_only: f.blacklisted_only,
        }
    }
}

/// One line of the list (no contacts: the list needs no personal data).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BuildingSummary {
    pub code: String,
    pub address: String,
    pub location: GeoPoint,
    pub street: String,
    pub community: String,
    pub grid: String,
    pub stars: Option<u8>,
    pub next_due_on: Option<LocalDate>,
    pub open_hazards: u32,
    pub blacklisted: bool,
    pub last_inspected_at: Option<SystemTime>,
}

impl From<list::BuildingSummary> for BuildingSummary {
    fn from(s: list::BuildingSummary) -> Self {
        Self {
            code: s.code.into(),
            address: s.address,
            location: s.location.into(),
            street: s.street.0,
            community: s.community.0,
            grid: s.grid.0,
            stars: stars(s.stars),
            next_due_on: s.next_due_on.map(Into::into),
            open_hazards: s.open_hazards,
            blacklisted: s.blacklisted,
            last_inspected_at: s.last_inspected_at.map(instant),
        }
    }
}

/// A page of the list, riskiest first. Pass `next_after` back for the next page; `None` at the end.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BuildingPage {
    pub buildings: Vec<BuildingSummary>,
    pub next_after: Option<String>,
}
