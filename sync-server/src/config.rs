//! Server configuration: defaults, then a TOML file, then environment / command-line overrides
//! (applied by the CLI). Every policy value lives here with its shipped default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sync::validate::RecordLimits;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("config value {field} is invalid: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// argon2id cost parameters for password hashes (OWASP's recommended minimum by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordHashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Tokens live at most a year.
pub const MAX_TOKEN_TTL_SECS: u64 = 366 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Holds the SQLite database (unless `database_url` points elsewhere) and the photo files.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default: `sqlite://<data_dir>/gridwalk.sqlite`.
    pub database_url: Option<String>,
    /// Bearer token lifetime. Long enough to cover a field week offline, short enough that a
    /// lost phone's token dies on its own.
    pub token_ttl_secs: u64,
    /// Largest JSON request body (after gzip decompression).
    pub max_body_bytes: usize,
    /// Most records accepted in one push.
    pub max_push_records: usize,
    /// How long a push batch that overtook the batch before it (a phone keeps two on the wire)
    /// waits for that one's merge before it is answered as a sequence gap (ADR 0047).
    pub push_turn_wait_ms: u64,
    pub default_pull_limit: u32,
    pub max_pull_limit: u32,
    /// gzip level of response bodies (1 = fastest … 9 = smallest). A pull page of 5,000 buildings
    /// (3.2 MB of JSON) compresses to 532 kB in ~10 ms at 1, 420 kB in ~17 ms at 2, 323 kB in
    /// ~35 ms at 6 (release, this machine kind); 2 keeps the bytes well inside the sync goal for a
    /// fraction of the default level's time.
    pub response_gzip_level: u32,
    pub records: RecordLimits,
    pub password_hash: PasswordHashParams,
    /// Version of the server's patrol policy document, announced to devices on every pull.
    pub policy_version: u32,
    pub log_format: LogFormat,
    /// Limits of the review queue, assessments and audit log.
    pub review: crate::review::ReviewConfig,
    pub notices: crate::notices::NoticePolicy,
    /// The rater and the overdue sweep.
    pub stars: crate::sweep::StarsConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("gridwalk-data"),
            database_url: None,
            token_ttl_secs: 14 * 24 * 3600,
            max_body_bytes: 16 * 1024 * 1024,
            max_push_records: 1_000,
            push_turn_wait_ms: 2_000,
            default_pull_limit: 1_000,
            max_pull_limit: 5_000,
            response_gzip_level: 2,
            records: RecordLimits::default(),
            password_hash: PasswordHashParams::default(),
            policy_version: 1,
            log_format: LogFormat::Text,
            review: crate::review::ReviewConfig::default(),
            notices: crate::notices::NoticePolicy::default(),
            stars: crate::sweep::StarsConfig::default(),
        }
    }
}

impl ServerConfig {
    pub fn from_toml(text: &str, path: &str) -> Result<Self, ConfigError> {
        let c: ServerConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        c.validate()?;
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("gridwalk.sqlite").display()
            )
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.token_ttl_secs == 0 || self.token_ttl_secs > MAX_TOKEN_TTL_SECS {
            return bad("token_ttl_secs", "must be 1 second to 1 year");
        }
        if self.max_push_records == 0 {
            return bad("max_push_records", "must be positive");
        }
        if self.default_pull_limit == 0 || self.default_pull_limit > self.max_pull_limit {
            return bad("default_pull_limit", "must be between 1 and max_pull_limit");
        }
        if !(1..=9).contains(&self.response_gzip_level) {
            return bad("response_gzip_level", "must be 1 to 9");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes", "must be at least 1024");
        }
        if self.records.max_photo_bytes == 0 {
            return bad("records.max_photo_bytes", "must be positive");
        }
        if let Err((field, message)) = self.stars.check() {
            return bad(field, message);
        }
        if argon2::Params::new(
            self.password_hash.memory_kib,
            self.password_hash.iterations,
            self.password_hash.parallelism,
            None,
        )
        .is_err()
        {
            return bad("password_hash", "not valid argon2 parameters");
        }
        self.review.validate()?;
        self.notices.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_refuses_unknown_keys() {
        let c = ServerConfig::from_toml(
            "listen = \"0.0.0.0:9000\"\ntoken_ttl_secs = 60\n[records]\nmax_photo_bytes = 1000\n",
            "t.toml",
        )
        .expect("parses");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.token_ttl_secs, 60);
        assert_eq!(c.records.max_photo_bytes, 1000);
        assert_eq!(c.max_push_records, 1_000, "defaults kept");
        assert!(matches!(
            ServerConfig::from_toml("listn = \"x\"", "t.toml"),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            ServerConfig::from_toml("token_ttl_secs = 0", "t.toml"),
            Err(ConfigError::Invalid {
                field: "token_ttl_secs",
                ..
            })
        ));
        assert!(matches!(
            ServerConfig::from_toml("response_gzip_level = 0", "t.toml"),
            Err(ConfigError::Invalid {
                field: "response_gzip_level",
                ..
            })
        ));
        let d = ServerConfig {
            data_dir: "/srv/gw".into(),
            ..ServerConfig::default()
        };
        assert_eq!(d.database_url(), "sqlite:///srv/gw/gridwalk.sqlite");
    }
}
