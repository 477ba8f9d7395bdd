//! Conversions between stored values and domain types, and SQL fragments, shared by both engines.

use gridwalk_core::protocol::{DeviceId, Role, Scope};
use gridwalk_core::{Building, BuildingCode, RecordId};

use super::DbError;

/// Sequence numbers are stored as signed 64-bit integers; they never exceed `i64::MAX`
/// (device sequences are checked on input, server sequences start at 1).
pub fn seq_i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn seq_u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub fn parse_role(s: &str) -> Result<Role, DbError> {
    Role::parse(s).ok_or_else(|| DbError::Corrupt(format!("unknown role '{s}'")))
}

pub fn parse_scope(level: &str, id: Option<&str>) -> Result<Scope, DbError> {
    Scope::from_parts(level, id).ok_or_else(|| DbError::Corrupt(format!("bad scope {level}")))
}

pub fn parse_device(s: &str) -> Result<DeviceId, DbError> {
    DeviceId::parse(s).map_err(|e| DbError::Corrupt(e.to_string()))
}

pub fn parse_record_id(s: &str) -> Result<RecordId, DbError> {
    uuid::Uuid::parse_str(s)
        .map(RecordId)
        .map_err(|e| DbError::Corrupt(format!("record id '{s}': {e}")))
}

pub fn parse_code(s: &str) -> Result<BuildingCode, DbError> {
    BuildingCode::parse(s).map_err(|e| DbError::Corrupt(e.to_string()))
}

pub fn parse_building(data: &str) -> Result<Building, DbError> {
    serde_json::from_str(data).map_err(|e| DbError::Corrupt(format!("building file: {e}")))
}

pub fn building_json(b: &Building) -> Result<String, DbError> {
    serde_json::to_string(b).map_err(|e| DbError::Corrupt(format!("building file: {e}")))
}

pub fn parse_json(s: &str) -> Result<serde_json::Value, DbError> {
    serde_json::from_str(s).map_err(|e| DbError::Corrupt(format!("stored JSON: {e}")))
}

/// `(predicate, bound value)` selecting rows in a scope; `prefix` qualifies the place columns
/// (`"b."` for `b.grid`, `"old_"` for `old_grid`); `param` is the placeholder (`:scope`,
/// `$2::text`). The district binds NULL and matches everything.
pub fn scope_sql(scope: &Scope, prefix: &str, param: &str) -> (String, Option<String>) {
    match scope {
        Scope::Grid(g) => (format!("{prefix}grid = {param}"), Some(g.0.clone())),
        Scope::Community(c) => (format!("{prefix}community = {param}"), Some(c.0.clone())),
        Scope::Street(s) => (format!("{prefix}street = {param}"), Some(s.0.clone())),
        Scope::District => (format!("{param} IS NULL"), None),
    }
}

/// Rows of `building_exits` that take a building out of `scope`: in the scope before, not after
/// (a move within the scope is not an exit from it; for the district only removal is).
pub fn left_scope_sql(scope: &Scope, param: &str) -> (String, Option<String>) {
    let column = match scope {
        Scope::Grid(_) => "new_grid",
        Scope::Community(_) => "new_community",
        Scope::Street(_) => "new_street",
        Scope::District => return (format!("{param} IS NULL AND new_grid IS NULL"), None),
    };
    let (old, v) = scope_sql(scope, "old_", param);
    (
        format!("{old} AND ({column} IS NULL OR {column} <> {param})"),
        v,
    )
}
