//! gridwalk-core: what a grid worker's phone holds and knows.
//!
//! - [`domain`]: the vocabulary — buildings (楼栋) with their 25-digit address codes, grids (网格),
//!   inspections (巡查), events (hazards 隐患, micro-events 微小事件, incidents), photos, stars (星级).
//! - [`catalog`]: the versioned checklist / micro-event / department catalog, shipped as data.
//! - [`protocol`]: the sync wire types shared by the phone and the sync server.
//!
//! Nothing here depends on uniffi or an HTTP stack; the FFI crate and the server build on top.

pub mod catalog;
pub mod domain;
pub mod protocol;

pub use catalog::{Catalog, CatalogError};
pub use domain::*;
