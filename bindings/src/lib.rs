//! gridwalk-ffi: the grid worker's core for Kotlin (Android), Swift (iOS) and Python, through uniffi.
//!
//! Proc-macros only (no UDL); the foreign bindings are generated in library mode from the built
//! library by the workspace's `uniffi-bindgen` binary (see `scripts/test-bindings`).
//!
//! - [`error`]: [`GridwalkError`], the one error type the apps see, mapped from the core's errors.
//! - [`types`]: natural foreign types for dates, times and ids.
//! - [`building`]: buildings, grids and the building-code check.
//! - [`catalog`]: the shipped catalog (checklist items, the 21 micro-event kinds, departments).
//! - [`district`]: the synthetic district, for demos and tests.
//! - [`archive`]: [`archive::GridwalkArchive`], the on-device archive: open, load, plan, record, read.
//! - [`sync`]: [`sync::GridwalkSync`], login, sync now, status, cancel, and the progress observer.
//! - [`capture`], [`plan`], [`rating`], [`officer`]: the records those calls take and return.
//!
//! The core knows nothing of uniffi: the records here mirror the core's (see docs/adr), converted
//! at this boundary, so the core keeps its invariant-carrying newtypes and chrono/uuid types.

// uniffi's scaffolding exports `extern "C"` functions, which the workspace's `unsafe_code = "deny"`
// would refuse; this crate writes no unsafe code of its own.
#![allow(unsafe_code)]

uniffi::setup_scaffolding!("gridwalk");

pub mod archive;
pub mod building;
pub mod capture;
pub mod catalog;
pub mod district;
pub mod error;
pub mod officer;
pub mod plan;
pub mod rating;
pub mod review;
#[cfg(feature = "sync")]
pub mod sync;
pub mod types;

pub use error::GridwalkError;
