//! Seeded random streams. Each stage and each grid draws from its own ChaCha stream, so a change in
//! one part (say, more history) leaves every other part byte-identical, and grids could be generated
//! in parallel without changing the output.

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::RecordId;

/// What a stream is for; the tag is part of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Sizes and names of streets, communities and grids.
    Layout = 1,
    /// A grid's buildings and their current state (stars, open events).
    Buildings = 2,
    /// A grid's past inspections and closed events.
    History = 3,
}

pub(crate) fn stream(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// A UUID v7 record id at the record's own time, with random bits from the stream: time-ordered
/// like a phone-made id, but reproducible.
pub(crate) fn record_id(rng: &mut impl Rng, at: DateTime<Utc>) -> RecordId {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    RecordId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}
