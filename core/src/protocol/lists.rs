//! The officer's lists and the rating history on the wire: `GET /v1/lists/{list}` and
//! `GET /v1/buildings/{code}/rating-history`.
//!
//! Which buildings a list holds is decided in one place, [`crate::store::risk::ListCriteria`], from
//! the policy's list thresholds; this module only names the lists and carries their rows.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, CommunityId, Contact, GridId, StreetId};
use crate::rating::Rating;
use crate::store::BuildingSummary;

/// The officer's lists (执法人员名单). Path segment names: `low-star`, `overdue`, `open-hazard`,
/// `blacklisted`, `green-channel`, `push-to-regulators`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    /// Rated buildings with at most the policy's low-star stars (低星级).
    LowStar,
    /// Buildings whose next visit was due before the list's day (逾期未巡查), including those
    /// whose follow-up of a notice deadline is late.
    Overdue,
    /// Buildings with an open hazard or micro-event (存在隐患).
    OpenHazard,
    /// Blacklisted buildings (黑名单).
    Blacklisted,
    /// High-star buildings whose owners and residents get the green channel (绿色通道).
    GreenChannel,
    /// Low-star buildings pushed to the regulators for differentiated enforcement (推送监管部门).
    PushToRegulators,
}

impl ListKind {
    pub const ALL: [ListKind; 6] = [
        ListKind::LowStar,
        ListKind::Overdue,
        ListKind::OpenHazard,
        ListKind::Blacklisted,
        ListKind::GreenChannel,
        ListKind::PushToRegulators,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::LowStar => "low-star",
            ListKind::Overdue => "overdue",
            ListKind::OpenHazard => "open-hazard",
            ListKind::Blacklisted => "blacklisted",
            ListKind::GreenChannel => "green-channel",
            ListKind::PushToRegulators => "push-to-regulators",
        }
    }

    pub fn parse(s: &str) -> Option<ListKind> {
        ListKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a list is answered: a JSON page, or the whole list as CSV (RFC 4180, header row) or as a
/// GeoJSON FeatureCollection (RFC 7946, points in [lon, lat]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    #[default]
    Json,
    Csv,
    Geojson,
}

/// `GET /v1/lists/{list}?…`: filters narrow the list within the caller's scope (a place outside it
/// simply matches nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<CommunityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<StreetId>,
    /// At most this many stars (narrows the list's own star range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stars: Option<u8>,
    /// At least this many stars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stars: Option<u8>,
    /// Keep (true) or drop (false) unrated buildings; default: as the list says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_unrated: Option<bool>,
    /// The day the list is drawn up for (overdue means due before it); default: today in the
    /// district's local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<NaiveDate>,
    /// Rows per JSON page (exports carry the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The previous JSON page's `next_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ListFormat>,
    /// Add the owner's, manager's and building head's contacts (personal data; roles that may
    /// read contacts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<bool>,
}

/// The people to reach about a building (personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListContacts {
    pub owner: Contact,
    pub manager: Option<Contact>,
    pub building_head: Option<Contact>,
}

/// One line of an officer's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRow {
    #[serde(flatten)]
    pub building: BuildingSummary,
    /// The building earns the green channel (绿色通道) under the policy.
    pub green_channel: bool,
    /// Only when asked for and allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<ListContacts>,
}

/// A JSON page of a list, riskiest first (stars ascending with unrated first, next due date, open
/// hazards descending, code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPage {
    pub list: ListKind,
    /// The day the list was drawn up for.
    pub on: NaiveDate,
    pub policy_version: u32,
    pub rows: Vec<ListRow>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// One rating the server computed for a building (星级评价记录): when, and the core's verdict with
/// the rules that fired (the explanation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingEntry {
    pub rated_at: DateTime<Utc>,
    pub rating: Rating,
}

/// `GET /v1/buildings/{code}/rating-history`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingHistory {
    pub building: BuildingCode,
    pub entries: Vec<RatingEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_round_trip_and_match_serde() {
        for k in ListKind::ALL {
            assert_eq!(ListKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).expect("json"),
                serde_json::Value::String(k.as_str().into())
            );
        }
        assert_eq!(ListKind::parse("low_star"), None);
    }

    #[test]
    fn query_refuses_unknown_parameters() {
        let q: ListQuery =
            serde_json::from_str(r#"{"max_stars":2,"format":"geojson"}"#).expect("parses");
        assert_eq!(
            (q.max_stars, q.format),
            (Some(2), Some(ListFormat::Geojson))
        );
        assert!(serde_json::from_str::<ListQuery>(r#"{"stars":2}"#).is_err());
    }
}
