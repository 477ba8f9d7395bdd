//! What the `archive` and `planning` groups share: the synthetic Bao'an they measure (quick: a 10%
//! district), generated once per group, and an archive file loaded with it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gridwalk_core::store::{Archive, ArchiveOptions, FixedClock, StoreResult};
use gridwalk_core::synth::{self, District, DistrictSpec};
use gridwalk_core::{Catalog, Policy};

use super::{BenchError, Context};

/// The seed every group uses, so their figures describe the same district.
pub const SEED: u64 = 20_250_701;
/// Quick runs measure this fraction of Bao'an (communities, grids and buildings scaled).
pub const QUICK_SCALE: f64 = 0.1;

/// A generated district with the catalog and policy it was generated under.
#[derive(Debug)]
pub struct Setup {
    pub spec: DistrictSpec,
    pub catalog: Catalog,
    pub policy: Policy,
    pub district: District,
}

impl Setup {
    /// Bao'an at full size, or at [`QUICK_SCALE`] when quick.
    pub fn spec(quick: bool) -> DistrictSpec {
        if quick {
            DistrictSpec::baoan(SEED).scaled(QUICK_SCALE)
        } else {
            DistrictSpec::baoan(SEED)
        }
    }

    /// Generates [`Setup::spec`].
    pub fn generate(group: &'static str, quick: bool) -> Result<Self, BenchError> {
        Self::generate_spec(group, Self::spec(quick))
    }

    pub fn generate_spec(group: &'static str, spec: DistrictSpec) -> Result<Self, BenchError> {
        let err = |e: &dyn std::fmt::Display| BenchError::failed(group, e);
        let catalog = Catalog::default_catalog().map_err(|e| err(&e))?;
        let policy = Policy::default_policy().map_err(|e| err(&e))?;
        let district = synth::generate(&spec, &catalog, &policy).map_err(|e| err(&e))?;
        Ok(Self {
            spec,
            catalog,
            policy,
            district,
        })
    }

    /// Archive options whose clock stands at the end of the district's "today", so every generated
    /// record is in the archive's past.
    pub fn archive_options(&self) -> ArchiveOptions {
        ArchiveOptions {
            clock: Arc::new(FixedClock::new(self.spec.now())),
            ..ArchiveOptions::default()
        }
    }

    /// Creates the archive at `path` and loads every grid and building (one transaction each, as a
    /// first sync does). Returns the archive and the milliseconds the two loads took.
    pub fn load_archive(&self, path: &Path) -> StoreResult<(Archive, LoadTimes)> {
        let archive = Archive::open(path, self.archive_options())?;
        let start = Instant::now();
        archive.upsert_grids(&self.district.grids)?;
        let grids_ms = Context::ms_since(start);
        let start = Instant::now();
        archive.upsert_buildings(&self.district.buildings)?;
        let buildings_ms = Context::ms_since(start);
        Ok((
            archive,
            LoadTimes {
                grids_ms,
                buildings_ms,
            },
        ))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LoadTimes {
    pub grids_ms: f64,
    pub buildings_ms: f64,
}
