//! The sync client's settings: policy values with shipped defaults, never hidden constants.

use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Exponential backoff with full jitter: before retry `n` (1-based) the client waits a random time
/// in `[0, min(max_delay, initial_delay × 2^(n-1))]`. Full jitter spreads the retries of many phones
/// that lost signal together (a whole urban village coming back online) instead of synchronising
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub max_attempts: u32,
    #[serde(with = "millis")]
    pub initial_delay: Duration,
    #[serde(with = "millis")]
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The longest wait before retry `retry` (1-based), before jitter.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait before retry `retry`: uniform in `[0, ceiling]`.
    pub fn delay<R: rand::Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }
}

/// Everything the client needs besides the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// The server's base URL, e.g. `https://gridwalk.example.gov.cn` (no trailing `/v1`).
    pub server_url: String,
    /// Outbox entries per push request (the server accepts up to 1,000). Halved automatically when
    /// the server says a batch is too large.
    pub push_batch: u32,
    /// Push requests on the wire at once. With 2 (the default) the server parses and checks one
    /// batch while it merges the one before, and merges them in order (ADR 0047); 1 sends a batch
    /// only once the one before is answered.
    pub push_window: u32,
    /// Changes per pull page (the server caps it at 5,000).
    pub pull_page: u32,
    /// Bytes per photo upload request; an interrupted upload resumes at the last full chunk the
    /// server acknowledged (or wherever the server's copy ends).
    pub photo_chunk_bytes: u32,
    /// gzip level for request bodies (1 = fastest … 9 = smallest).
    pub gzip_level: u32,
    pub retry: RetryPolicy,
    #[serde(with = "millis")]
    pub connect_timeout: Duration,
    /// Per request, body transfer included.
    #[serde(with = "millis")]
    pub request_timeout: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            server_url: String::new(),
            push_batch: 1_000,
            push_window: 2,
            pull_page: 5_000,
            photo_chunk_bytes: 256 * 1024,
            gzip_level: 1,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl SyncConfig {
    pub fn new(server_url: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into(),
            ..Self::default()
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sync_backoff_doubles_up_to_the_cap_and_jitters_below_it() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(p.ceiling(200), Duration::from_millis(1_000), "no overflow");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200).map(|_| p.delay(3, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150, "jittered, not a fixed wait");
        let mean = delays.iter().sum::<Duration>() / 200;
        assert!(
            mean > Duration::from_millis(150) && mean < Duration::from_millis(250),
            "uniform over [0, 400 ms]: {mean:?}"
        );
    }

    #[test]
    fn sync_config_reads_from_json_with_defaults() {
        let c: SyncConfig =
            serde_json::from_str(r#"{"server_url":"https://x","retry":{"max_attempts":2}}"#)
                .expect("parses");
        assert_eq!(c.server_url, "https://x");
        assert_eq!(c.retry.max_attempts, 2);
        assert_eq!(c.retry.initial_delay, Duration::from_millis(500));
        assert_eq!(c.push_batch, 1_000);
        assert_eq!(c.push_window, 2);
        assert!(serde_json::from_str::<SyncConfig>(r#"{"pull_pages":1}"#).is_err());
    }
}
