use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Building, CommunityId, GridId, StreetId};

/// A phone installation's id, chosen by the phone once and kept. Tokens are bound to it and the
/// per-device push sequence is counted against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    #[error("device id must be 1 to {max} characters, got {len}")]
    Length { len: usize, max: usize },
    #[error("device id may contain only ASCII letters, digits and . _ : -")]
    BadCharacter,
}

impl DeviceId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, DeviceIdError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(DeviceIdError::Length {
                len: s.chars().count(),
                max: Self::MAX_LEN,
            });
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err(DeviceIdError::BadCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceId {
    type Error = DeviceIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DeviceId> for String {
    fn from(d: DeviceId) -> String {
        d.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员: records inspections and events in their grid.
    Worker,
    /// 执法人员: reads lists over their jurisdiction.
    Officer,
    /// 督办/主管: reviews reports within their scope.
    Supervisor,
    /// Administers accounts and tokens.
    Admin,
    /// 处置部门: a handling department's user works its queue of dispatched events.
    Department,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Worker,
        Role::Officer,
        Role::Supervisor,
        Role::Admin,
        Role::Department,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The part of the district an account works in. Wire form: `{"level": "grid", "id": "G0001"}`,
/// `{"level": "district"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "level", content = "id", rename_all = "snake_case")]
pub enum Scope {
    /// 网格
    Grid(GridId),
    /// 社区
    Community(CommunityId),
    /// 街道
    Street(StreetId),
    /// 全区
    District,
}

impl Scope {
    /// Whether a building lies within this scope.
    pub fn contains(&self, building: &Building) -> bool {
        self.contains_place(&building.grid, &building.community, &building.street)
    }

    pub fn contains_place(
        &self,
        grid: &GridId,
        community: &CommunityId,
        street: &StreetId,
    ) -> bool {
        match self {
            Scope::Grid(g) => g == grid,
            Scope::Community(c) => c == community,
            Scope::Street(s) => s == street,
            Scope::District => true,
        }
    }

    pub fn level(&self) -> &'static str {
        match self {
            Scope::Grid(_) => "grid",
            Scope::Community(_) => "community",
            Scope::Street(_) => "street",
            Scope::District => "district",
        }
    }

    /// The id at this level (`None` for the district).
    pub fn id(&self) -> Option<&str> {
        match self {
            Scope::Grid(g) => Some(g.as_str()),
            Scope::Community(c) => Some(c.as_str()),
            Scope::Street(s) => Some(s.as_str()),
            Scope::District => None,
        }
    }

    /// Parses the command-line form `grid:G0001`, `community:C01`, `street:S1`, `district`.
    pub fn parse(s: &str) -> Option<Scope> {
        if s == "district" {
            return Some(Scope::District);
        }
        let (level, id) = s.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        Self::from_parts(level, Some(id))
    }

    /// Rebuilds a scope from its level and id (as stored).
    pub fn from_parts(level: &str, id: Option<&str>) -> Option<Scope> {
        match (level, id) {
            ("grid", Some(id)) => Some(Scope::Grid(GridId::from(id))),
            ("community", Some(id)) => Some(Scope::Community(CommunityId::from(id))),
            ("street", Some(id)) => Some(Scope::Street(StreetId::from(id))),
            ("district", None) => Some(Scope::District),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{}", self.level(), id),
            None => f.write_str(self.level()),
        }
    }
}

/// `POST /v1/auth/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_id: DeviceId,
}

/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub username: String,
    pub role: Role,
    pub scope: Scope,
}

/// Answer to a successful login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`, valid only with the device id it was issued to.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserInfo,
    /// The highest push sequence the server has from this device (0 if none): a reinstalled app
    /// continues numbering from here.
    pub device_last_seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_forms_round_trip() {
        for s in ["grid:G0001", "community:C01", "street:S1", "district"] {
            let scope = Scope::parse(s).expect("parses");
            assert_eq!(scope.to_string(), s);
            assert_eq!(
                Scope::from_parts(scope.level(), scope.id()),
                Some(scope.clone())
            );
        }
        assert_eq!(Scope::parse("grid:"), None);
        assert_eq!(Scope::parse("planet:earth"), None);
        assert_eq!(
            serde_json::to_value(Scope::Grid(GridId::from("G1"))).expect("serializes"),
            serde_json::json!({"level":"grid","id":"G1"})
        );
        assert_eq!(
            serde_json::to_value(Scope::District).expect("serializes"),
            serde_json::json!({"level":"district"})
        );
    }

    #[test]
    fn device_ids_are_checked() {
        assert!(DeviceId::parse("pixel-7a:01").is_ok());
        assert_eq!(
            DeviceId::parse(""),
            Err(DeviceIdError::Length { len: 0, max: 64 })
        );
        assert_eq!(DeviceId::parse("a b"), Err(DeviceIdError::BadCharacter));
        assert!(DeviceId::parse(&"x".repeat(65)).is_err());
        let login = r#"{"username":"w","password":"p","device_id":"d1","remember":true}"#;
        assert!(serde_json::from_str::<LoginRequest>(login).is_err());
    }
}
