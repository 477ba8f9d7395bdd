//! The sync contract, independent of storage engine and HTTP.
//!
//! - [`validate`]: per-record content checks (catalog, coordinates, worker, photos).
//! - [`plan`]: the exactly-once push decision — given what the store holds, what happens to each
//!   record — written once and run inside each engine's write transaction.
//! - [`cursor`]: opaque pull cursors bound to the caller's scope.
//! - [`effects`]: the follow-up work an accepted record queues (re-rating, the event's lifecycle).

pub mod cursor;
pub mod effects;
pub mod plan;
pub mod turns;
pub mod validate;
