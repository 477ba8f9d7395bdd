//! Supervisor review (审核): the decision rules and their limits. Storage is in
//! [`crate::db::review`] and the engines; the API in `http/review.rs`.

pub mod rules;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Limits of the office endpoints (review queue, assessment, audit log), with shipped defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// Longest review comment, in characters (the worker reads it on a phone screen).
    pub max_comment_chars: usize,
    pub default_queue_limit: u32,
    pub max_queue_limit: u32,
    /// Longest assessment period, in days: a year and a day covers any calendar year.
    pub max_assessment_days: u32,
    pub default_audit_limit: u32,
    pub max_audit_limit: u32,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            max_comment_chars: 2_000,
            default_queue_limit: 50,
            max_queue_limit: 500,
            max_assessment_days: 366,
            default_audit_limit: 100,
            max_audit_limit: 1_000,
        }
    }
}

impl ReviewConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.max_comment_chars == 0 {
            return bad("review.max_comment_chars", "must be positive");
        }
        if self.default_queue_limit == 0 || self.default_queue_limit > self.max_queue_limit {
            return bad(
                "review.default_queue_limit",
                "must be between 1 and review.max_queue_limit",
            );
        }
        if self.max_assessment_days == 0 {
            return bad("review.max_assessment_days", "must be positive");
        }
        if self.default_audit_limit == 0 || self.default_audit_limit > self.max_audit_limit {
            return bad(
                "review.default_audit_limit",
                "must be between 1 and review.max_audit_limit",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_limits_are_refused() {
        assert!(ReviewConfig::default().validate().is_ok());
        let c = crate::config::ServerConfig::from_toml(
            "[review]\nmax_queue_limit = 20\ndefault_queue_limit = 30\n",
            "t.toml",
        );
        assert!(matches!(
            c,
            Err(ConfigError::Invalid {
                field: "review.default_queue_limit",
                ..
            })
        ));
        let c =
            crate::config::ServerConfig::from_toml("[review]\nmax_comment_chars = 80\n", "t.toml")
                .expect("parses");
        assert_eq!(c.review.max_comment_chars, 80);
        assert_eq!(c.review.max_queue_limit, 500, "defaults kept");
    }
}
