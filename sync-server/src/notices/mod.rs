//! Notices (告知书) on their way out: the transport contract ([`transport`]), the webhook
//! transport ([`webhook`]) and the delivery worker ([`worker`]) that drains the outbound queue
//! the push fills, with backoff, an attempt cap and leases that survive a crash.

pub mod transport;
pub mod webhook;
pub mod worker;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

pub use transport::{NoticeTransport, SendOutcome};
pub use webhook::{WebhookError, WebhookTransport};
pub use worker::{DeliveryReport, NoticeWorker, WorkerHandle};

/// How notices are delivered. Policy values with shipped defaults (config file `[notices]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticePolicy {
    /// Where the webhook transport POSTs each notice (http or https). Without one, notices wait
    /// in the queue as `pending` until a transport is configured.
    pub webhook_url: Option<String>,
    /// Attempts before a notice that keeps failing is given up as `failed`.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one…
    pub backoff_first_secs: u64,
    /// …up to this.
    pub backoff_max_secs: u64,
    /// How long a claimed notice stays with its worker; after that another claim retries it.
    /// Longer than `timeout_secs`, so a live worker always finishes inside its lease.
    pub lease_secs: u64,
    /// Per-request timeout of the webhook.
    pub timeout_secs: u64,
    /// How often the worker looks for due notices.
    pub poll_interval_secs: u64,
    /// Notices claimed, and sent concurrently, at a time.
    pub batch: u32,
}

impl Default for NoticePolicy {
    fn default() -> Self {
        Self {
            webhook_url: None,
            max_attempts: 8,
            backoff_first_secs: 30,
            backoff_max_secs: 6 * 3600,
            lease_secs: 120,
            timeout_secs: 10,
            poll_interval_secs: 10,
            batch: 50,
        }
    }
}

impl NoticePolicy {
    /// Wait before the attempt after attempt `attempt` (1-based) failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let secs = self
            .backoff_first_secs
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_secs);
        Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
    }

    pub fn lease(&self) -> Duration {
        Duration::seconds(i64::try_from(self.lease_secs).unwrap_or(i64::MAX / 1000))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.max_attempts == 0 {
            return bad("notices.max_attempts", "must be positive");
        }
        if self.backoff_first_secs == 0 || self.backoff_first_secs > self.backoff_max_secs {
            return bad(
                "notices.backoff_first_secs",
                "must be between 1 and notices.backoff_max_secs",
            );
        }
        if self.timeout_secs == 0 || self.lease_secs <= self.timeout_secs {
            return bad(
                "notices.lease_secs",
                "must be longer than notices.timeout_secs (which must be positive)",
            );
        }
        if self.poll_interval_secs == 0 || self.batch == 0 {
            return bad(
                "notices.poll_interval_secs",
                "interval and batch must be positive",
            );
        }
        if let Some(url) = &self.webhook_url {
            webhook::parse_url(url).map_err(|e| ConfigError::Invalid {
                field: "notices.webhook_url",
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = NoticePolicy {
            backoff_first_secs: 30,
            backoff_max_secs: 200,
            ..NoticePolicy::default()
        };
        let secs: Vec<i64> = (1..=5).map(|a| p.backoff(a).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 200, 200]);
        assert_eq!(p.backoff(u32::MAX).num_seconds(), 200);
    }

    #[test]
    fn policy_values_are_checked() {
        NoticePolicy::default()
            .validate()
            .expect("defaults are valid");
        let short_lease = NoticePolicy {
            lease_secs: 5,
            timeout_secs: 10,
            ..NoticePolicy::default()
        };
        assert!(matches!(
            short_lease.validate(),
            Err(ConfigError::Invalid {
                field: "notices.lease_secs",
                ..
            })
        ));
        let ftp = NoticePolicy {
            webhook_url: Some("ftp://example.org/x".into()),
            ..NoticePolicy::default()
        };
        assert!(matches!(
            ftp.validate(),
            Err(ConfigError::Invalid {
                field: "notices.webhook_url",
                ..
            })
        ));
    }
}
