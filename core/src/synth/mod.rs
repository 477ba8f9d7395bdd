//! The synthetic district (合成辖区): one seeded generator of a plausible Bao'an that tests,
//! benchmarks and the server's demo all use.
//!
//! ```
//! use gridwalk_core::synth::{self, DistrictSpec};
//! let district = synth::generate_default(&DistrictSpec::small(7)).expect("valid spec");
//! assert_eq!(district.grids.len(), 12);
//! ```
//!
//! - [`spec`]: what to generate ([`DistrictSpec`]) and why it cannot be ([`SynthError`]).
//! - [`profile`]: every share, band and rate drawn from ([`SynthProfile`]), shipped as a default.
//! - [`code`]: the layout of the synthetic 25-digit building codes ([`CodeParts`]).
//! - `layout`: streets, communities and grids as a nested tiling of the district's box.
//! - `buildings`: each grid's buildings and their current state (stars, due dates, open events);
//!   due dates come from `planning` itself (regular schedule, see `buildings::inspection_state`).
//! - `checklist`: the latest checklist of each rated building, drawn so the star rules earn its
//!   drawn stars; its scores are the building's archive scores.
//! - `history`: past inspections and closed events, as many as `history_per_building` asks for.
//! - `settle`: the last step; each building's stars and scores are set by `rating` itself from its
//!   generated records, so the archive is consistent with the rules by construction.
//!
//! Deterministic: the same spec (and catalog and policy) gives the same district, byte for byte, on a given
//! platform (rand's integer and float sampling is portable; the few `sin`/`cos` calls go through the
//! platform's libm, and coordinates are rounded to 1e-7°, so other platforms agree in practice).
//! Every stage and grid draws from its own ChaCha8 stream (`rng`), so the history option never
//! changes the buildings, and each grid's buildings depend only on the seed and the layout.

mod buildings;
mod checklist;
pub mod code;
mod context;
mod events;
mod history;
mod layout;
mod names;
pub mod profile;
mod rng;
mod settle;
pub mod spec;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::domain::{Building, Community, Event, Grid, Inspection, Street};
use crate::policy::Policy;

pub use code::{BAOAN_DIVISION, CodeParts};
pub use names::BAOAN_STREETS;
pub use profile::{
    EventMix, FloorBand, PerStars, ProfileError, ScoreBand, SizeSpread, SynthProfile, UsageShape,
};
pub use spec::{DistrictSpec, GeoBounds, SynthError};

/// A generated district. Buildings are ordered by code (street, community, grid, sequence), grids
/// by id; events and inspections grid by grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct District {
    pub streets: Vec<Street>,
    pub communities: Vec<Community>,
    pub grids: Vec<Grid>,
    pub buildings: Vec<Building>,
    pub events: Vec<Event>,
    pub inspections: Vec<Inspection>,
}

/// Generates the district `spec` describes, with event kinds and checklist items from `catalog`
/// and inspection intervals and due dates from `policy` (the planner's own rules).
///
/// The result is a consistent archive: each building's stars and scores are what
/// [`rating::rate_building`](crate::rating::rate_building) gives its generated records as of
/// `spec.today`, with or without its stored stars as the previous ones.
pub fn generate(
    spec: &DistrictSpec,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<District, SynthError> {
    spec.validate()?;
    policy.validate()?;
    let ctx = context::Ctx::new(spec, catalog, policy)?;
    let layout = layout::plan(spec, &mut rng::stream(spec.seed, rng::Purpose::Layout, 0))?;
    let mut buildings = Vec::with_capacity(spec.buildings as usize);
    let mut events = Vec::new();
    let mut inspections = Vec::new();
    for (g, planned) in layout.grids.iter().enumerate() {
        let start = buildings.len();
        let (events_start, inspections_start) = (events.len(), inspections.len());
        let mut rng = rng::stream(spec.seed, rng::Purpose::Buildings, g as u64);
        let latest_checklists = buildings::generate(
            &ctx,
            &layout,
            planned,
            &mut rng,
            &mut buildings,
            &mut events,
        )?;
        let mut rng = rng::stream(spec.seed, rng::Purpose::History, g as u64);
        history::generate(
            &ctx,
            planned,
            &buildings[start..],
            &latest_checklists,
            &mut rng,
            &mut inspections,
            &mut events,
        );
        // A grid's records are all about its own buildings.
        settle::settle(
            &ctx,
            &mut buildings[start..],
            &inspections[inspections_start..],
            &events[events_start..],
        );
    }
    Ok(District {
        streets: layout.streets,
        communities: layout.communities,
        grids: layout.grids.into_iter().map(|p| p.grid).collect(),
        buildings,
        events,
        inspections,
    })
}

/// [`generate`] with the shipped catalog and policy ([`Catalog::default_catalog`],
/// [`Policy::default_policy`]).
pub fn generate_default(spec: &DistrictSpec) -> Result<District, SynthError> {
    generate(
        spec,
        &Catalog::default_catalog()?,
        &Policy::default_policy()?,
    )
}
