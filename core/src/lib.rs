//! gridwalk-core: what a grid worker's phone holds and knows.
//!
//! - [`domain`]: the vocabulary — buildings (楼栋) with their 25-digit address codes, grids (网格),
//!   inspections (巡查), events (hazards 隐患, micro-events 微小事件, incidents), photos, stars (星级).
//! - [`catalog`]: the versioned checklist / micro-event / department catalog, shipped as data.
//! - [`synth`]: the one seeded generator of a plausible Bao'an district (tests, benchmarks, demo).
//! - [`policy`]: the versioned rules policy (thresholds, caps, intervals, weights, radius), shipped as data.
//! - [`rating`], [`planning`], [`supervision`], [`assessment`]: star rules, patrol planning, proof of
//!   presence and worker assessment — pure functions over the records (see `docs/planning.md`).
//! - [`store`]: the on-device archive (SQLite): buildings, grids, field records, photos, sync outbox.
//! - [`protocol`]: the sync wire types shared by the phone and the sync server.
//! - `sync` (feature `sync-client`): the phone's sync client over HTTP.
//!
//! Nothing here depends on uniffi or an HTTP stack; the FFI crate and the server build on top.

pub mod assessment;
pub mod catalog;
pub mod domain;
pub mod planning;
pub mod policy;
pub mod protocol;
pub mod rating;
pub mod records;
pub mod store;
pub mod supervision;
#[cfg(feature = "sync-client")]
pub mod sync;
pub mod synth;
#[cfg(test)]
mod testkit;

pub use catalog::{Catalog, CatalogError};
pub use domain::*;
pub use policy::{Policy, PolicyError};
