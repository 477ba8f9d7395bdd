//! Group `synth`: how long the one synthetic-district generator takes at Bao'an's full size
//! (175,700 buildings; quick: a 10% district), and how big the district is as a JSON document.

use std::time::Instant;

use gridwalk_core::synth::{self, DistrictSpec};
use gridwalk_core::{Catalog, Policy};

use super::{BenchError, Context};

const GROUP: &str = "synth";
const SEED: u64 = 20_250_701;

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    let spec = if ctx.quick() {
        DistrictSpec::baoan(SEED).scaled(0.1)
    } else {
        DistrictSpec::baoan(SEED)
    };
    let catalog = Catalog::default_catalog().map_err(|e| BenchError::failed(GROUP, e))?;
    let policy = Policy::default_policy().map_err(|e| BenchError::failed(GROUP, e))?;

    let start = Instant::now();
    let district =
        synth::generate(&spec, &catalog, &policy).map_err(|e| BenchError::failed(GROUP, e))?;
    let ms = Context::ms_since(start);
    let buildings = district.buildings.len() as f64;
    ctx.emit("synth.generate_district_ms", ms, "ms")?;
    ctx.emit("synth.buildings_per_s", buildings / (ms / 1e3), "1/s")?;
    ctx.emit("synth.buildings", buildings, "count")?;
    ctx.emit("synth.grids", district.grids.len() as f64, "count")?;
    let units: u64 = district.buildings.iter().map(|b| u64::from(b.units)).sum();
    ctx.emit("synth.units", units as f64, "count")?;
    ctx.emit("synth.events", district.events.len() as f64, "count")?;
    ctx.emit(
        "synth.inspections",
        district.inspections.len() as f64,
        "count",
    )?;

    let start = Instant::now();
    let json = serde_json::to_vec(&district).map_err(|e| BenchError::failed(GROUP, e))?;
    ctx.emit("synth.district_json_ms", Context::ms_since(start), "ms")?;
    ctx.emit("synth.district_json_mb", json.len() as f64 / 1e6, "MB")?;
    Ok(())
}
