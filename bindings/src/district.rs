//! The synthetic district (合成辖区): the core's seeded generator, for demo builds of the apps and
//! for the foreign tests. The same spec always gives the same district.

use std::sync::Arc;

use gridwalk_core as core;
use gridwalk_core::synth;

use crate::GridwalkError;
use crate::building::{Building, Community, Grid, Street};
use crate::types::LocalDate;

/// What to generate. Area and the statistical profile are the core's Bao'an defaults.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DistrictSpec {
    pub seed: u64,
    /// Streets / sub-districts (街道).
    pub streets: u32,
    /// Communities (社区), at least one per street.
    pub communities: u32,
    /// Base grids (网格), at least one per community.
    pub grids: u32,
    /// Buildings (楼栋), at least one per grid.
    pub buildings: u32,
    /// The day the district is "as of": due dates and deadlines are relative to it.
    pub today: LocalDate,
    /// Mean number of past inspections per building.
    pub history_per_building: f64,
}

impl From<synth::DistrictSpec> for DistrictSpec {
    fn from(s: synth::DistrictSpec) -> Self {
        Self {
            seed: s.seed,
            streets: s.streets,
            communities: s.communities,
            grids: s.grids,
            buildings: s.buildings,
            today: s.today.into(),
            history_per_building: s.history_per_building,
        }
    }
}

impl From<DistrictSpec> for synth::DistrictSpec {
    fn from(s: DistrictSpec) -> Self {
        Self {
            seed: s.seed,
            streets: s.streets,
            communities: s.communities,
            grids: s.grids,
            buildings: s.buildings,
            today: s.today.0,
            history_per_building: s.history_per_building,
            ..synth::DistrictSpec::small(s.seed)
        }
    }
}

/// A district small enough to read by eye: 2 streets, 4 communities, 12 grids, 430 buildings.
#[uniffi::export]
pub fn small_district_spec(seed: u64) -> DistrictSpec {
    synth::DistrictSpec::small(seed).into()
}

/// A generated district, held on the Rust side; the app reads the parts it shows.
#[derive(Debug, uniffi::Object)]
pub struct SyntheticDistrict {
    district: synth::District,
}

#[uniffi::export]
impl SyntheticDistrict {
    /// Generates the district `spec` describes; an impossible spec raises `InvalidInput`.
    #[uniffi::constructor]
    pub fn new(spec: DistrictSpec) -> Result<Arc<Self>, GridwalkError> {
        let district = synth::generate_default(&spec.into())?;
        Ok(Arc::new(Self { district }))
    }

    pub fn streets(&self) -> Vec<Street> {
        self.district
            .streets
            .iter()
            .cloned()
            .map(Into::into)
            .collect()
    }

    pub fn communities(&self) -> Vec<Community> {
        self.district
            .communities
            .iter()
            .cloned()
            .map(Into::into)
            .collect()
    }

    pub fn grids(&self) -> Vec<Grid> {
        self.district
            .grids
            .iter()
            .cloned()
            .map(Into::into)
            .collect()
    }

    /// Every building, ordered by code.
    pub fn buildings(&self) -> Vec<Building> {
        self.district
            .buildings
            .iter()
            .cloned()
            .map(Into::into)
            .collect()
    }

    /// The buildings of one grid, ordered by code; an unknown grid raises `NotFound`.
    pub fn buildings_in_grid(&self, grid: String) -> Result<Vec<Building>, GridwalkError> {
        let id = core::GridId(grid);
        if !self.district.grids.iter().any(|g| g.id == id) {
            return Err(GridwalkError::not_found(format!("grid {id}")));
        }
        Ok(self
            .district
            .buildings
            .iter()
            .filter(|b| b.grid == id)
            .cloned()
            .map(Into::into)
            .collect())
    }

    /// Events (hazards, micro-events, incidents), open and closed, in the generated history.
    pub fn event_count(&self) -> u64 {
        self.district.events.len() as u64
    }

    /// Past inspections in the generated history.
    pub fn inspection_count(&self) -> u64 {
        self.district.inspections.len() as u64
    }
}

impl SyntheticDistrict {
    pub(crate) fn inner(&self) -> &synth::District {
        &self.district
    }
}
