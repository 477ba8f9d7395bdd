//! What to generate: counts, area, the day the district is "as of", how much history, the profile.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile::{ProfileError, SynthProfile};
use crate::catalog::CatalogError;
use crate::domain::{CaptureLimits, ValidationError};
use crate::policy::PolicyError;

/// A WGS-84 box (south < north, west < east) the grids tile completely.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoBounds {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl GeoBounds {
    /// A box of about 399 km² inside Bao'an's extent (lat 22.55–22.80, lon 113.75–113.98); the
    /// district itself is 397 km².
    pub const BAOAN: GeoBounds = GeoBounds {
        south: 22.57,
        west: 113.785,
        north: 22.77,
        east: 113.96,
    };

    /// Area in km² (spherical Earth, mean radius): plenty for telling a district from a yard.
    pub fn area_km2(&self) -> f64 {
        let r = 6_371.008_8_f64;
        let band = self.north.to_radians().sin() - self.south.to_radians().sin();
        r * r * (self.east - self.west).to_radians() * band
    }

    fn is_valid(&self) -> bool {
        let all_finite = [self.south, self.west, self.north, self.east]
            .iter()
            .all(|v| v.is_finite());
        all_finite
            && -90.0 <= self.south
            && self.south < self.north
            && self.north <= 90.0
            && -180.0 <= self.west
            && self.west < self.east
            && self.east <= 180.0
    }
}

/// The specification of a synthetic district. The same spec always yields the same district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictSpec {
    pub seed: u64,
    /// Streets / sub-districts (街道).
    pub streets: u32,
    /// Communities (社区), at least one per street.
    pub communities: u32,
    /// Base grids (基础网格), at least one per community; one worker each.
    pub grids: u32,
    /// Buildings (楼栋), at least one per grid.
    pub buildings: u32,
    /// The day the district is "as of": inspection dates, due dates and deadlines are relative to it,
    /// and nothing happens after its end ([`DistrictSpec::now`]).
    #[serde(default = "default_today")]
    pub today: NaiveDate,
    /// Mean number of past inspection records per building (0 = none). The current state of each
    /// building (stars, due dates, open events) does not depend on it.
    #[serde(default = "default_history")]
    pub history_per_building: f64,
    #[serde(default = "default_area")]
    pub area: GeoBounds,
    #[serde(default)]
    pub profile: SynthProfile,
}

/// Why a district cannot be generated from a spec.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    #[error("a district needs at least one {0}")]
    Zero(&'static str),
    #[error("{parents} {parent} need at least {parents} {child} (one each), got {children}")]
    FewerChildrenThanParents {
        parent: &'static str,
        parents: u32,
        child: &'static str,
        children: u32,
    },
    #[error("{level} number {number} does not fit the {digits}-digit field of the building code")]
    CodeSpaceExceeded {
        level: &'static str,
        number: u32,
        digits: u32,
    },
    #[error("area {0:?} is not a WGS-84 box with south < north and west < east")]
    BadArea(GeoBounds),
    #[error("{grids} grids in {area_km2:.3} km² are smaller than a hectare on average")]
    AreaTooSmall { grids: u32, area_km2: f64 },
    #[error("today {0} is outside the supported years 2000 to 2200")]
    TodayOutOfRange(NaiveDate),
    #[error("history_per_building must be a finite number in 0..={max}, got {value}")]
    BadHistory { value: f64, max: f64 },
    #[error("synthetic profile: {0}")]
    Profile(#[from] ProfileError),
    #[error("GPS accuracy up to {accuracy_m} m would break the capture limit of {limit_m} m")]
    GpsBeyondCaptureLimit { accuracy_m: f64, limit_m: f64 },
    #[error("the catalog has no {what} '{id}', which the synthetic profile uses")]
    NotInCatalog { what: &'static str, id: String },
    #[error("the catalog has no {0}")]
    CatalogEmpty(&'static str),
    #[error("catalog: {0}")]
    Catalog(String),
    #[error("rules policy: {0}")]
    Policy(String),
    #[error("generated an invalid record: {0}")]
    Invalid(#[from] ValidationError),
}

impl From<CatalogError> for SynthError {
    fn from(e: CatalogError) -> Self {
        // CatalogError is not Clone (it wraps serde_json::Error); keep its message.
        SynthError::Catalog(e.to_string())
    }
}

impl From<PolicyError> for SynthError {
    fn from(e: PolicyError) -> Self {
        // PolicyError is not Clone either (it wraps serde_json::Error).
        SynthError::Policy(e.to_string())
    }
}

fn default_history() -> f64 {
    0.1
}

fn default_area() -> GeoBounds {
    GeoBounds::BAOAN
}

/// The default "as of" day of the shipped specs; callers wanting a live demo set `today` themselves.
fn default_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default()
}

impl DistrictSpec {
    /// Most past inspections a building may have; bounds memory.
    pub const MAX_HISTORY_PER_BUILDING: f64 = 100.0;

    /// Bao'an at full size: its 10 streets, 124 communities, 4,833 grids and 175,700 buildings
    /// (~3.13 M units), with a small history (0.1 past inspections per building).
    pub fn baoan(seed: u64) -> Self {
        Self {
            seed,
            streets: 10,
            communities: 124,
            grids: 4_833,
            buildings: 175_700,
            today: default_today(),
            history_per_building: default_history(),
            area: default_area(),
            profile: SynthProfile::default(),
        }
    }

    /// A district small enough to read by eye: 2 streets, 4 communities, 12 grids, 430 buildings,
    /// each with one past inspection on average.
    pub fn small(seed: u64) -> Self {
        Self {
            streets: 2,
            communities: 4,
            grids: 12,
            buildings: 430,
            history_per_building: 1.0,
            ..Self::baoan(seed)
        }
    }

    /// The same district with communities, grids and buildings scaled by `fraction` (streets kept),
    /// each level kept at least as large as the one above. A non-positive fraction gives a spec
    /// that fails validation.
    pub fn scaled(self, fraction: f64) -> Self {
        let scale = |n: u32| (f64::from(n) * fraction).round() as u32;
        let communities = scale(self.communities).max(self.streets);
        let grids = scale(self.grids).max(communities);
        let buildings = scale(self.buildings).max(grids);
        let empty = !(fraction.is_finite() && fraction > 0.0);
        Self {
            communities: if empty { 0 } else { communities },
            grids: if empty { 0 } else { grids },
            buildings: if empty { 0 } else { buildings },
            ..self
        }
    }

    /// The end of `today` (23:59:59 UTC): no generated record is later.
    pub fn now(&self) -> DateTime<Utc> {
        let end = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
        self.today.and_time(end).and_utc()
    }

    /// Everything that can be checked before generating. Code-space limits that depend on how
    /// counts are shared out are checked by the generator before it draws any building.
    pub fn validate(&self) -> Result<(), SynthError> {
        for (what, n) in [
            ("street", self.streets),
            ("community", self.communities),
            ("grid", self.grids),
            ("building", self.buildings),
        ] {
            if n == 0 {
                return Err(SynthError::Zero(what));
            }
        }
        for (parent, parents, child, children) in [
            ("streets", self.streets, "communities", self.communities),
            ("communities", self.communities, "grids", self.grids),
            ("grids", self.grids, "buildings", self.buildings),
        ] {
            if children < parents {
                return Err(SynthError::FewerChildrenThanParents {
                    parent,
                    parents,
                    child,
                    children,
                });
            }
        }
        if self.streets > super::code::MAX_STREETS {
            return Err(SynthError::CodeSpaceExceeded {
                level: "street",
                number: self.streets,
                digits: super::code::STREET_DIGITS,
            });
        }
        if !self.area.is_valid() {
            return Err(SynthError::BadArea(self.area));
        }
        // Grids must stay far larger than the 1 cm coordinate rounding and the edge margins.
        let area_km2 = self.area.area_km2();
        if area_km2 / f64::from(self.grids) < 0.01 {
            return Err(SynthError::AreaTooSmall {
                grids: self.grids,
                area_km2,
            });
        }
        let years = 2000..=2200;
        if !years.contains(&chrono::Datelike::year(&self.today)) {
            return Err(SynthError::TodayOutOfRange(self.today));
        }
        let h = self.history_per_building;
        if !(h.is_finite() && (0.0..=Self::MAX_HISTORY_PER_BUILDING).contains(&h)) {
            return Err(SynthError::BadHistory {
                value: h,
                max: Self::MAX_HISTORY_PER_BUILDING,
            });
        }
        self.profile.validate()?;
        let limit_m = CaptureLimits::default().max_gps_accuracy_m;
        if self.profile.gps_accuracy_max_m > limit_m {
            return Err(SynthError::GpsBeyondCaptureLimit {
                accuracy_m: self.profile.gps_accuracy_max_m,
                limit_m,
            });
        }
        Ok(())
    }
}
