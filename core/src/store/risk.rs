//! The officer list's risk order as one text key, and which buildings each officer's list holds.
//! Shared by the phone's archive ([`super::list`]) and the district server (both of its engines):
//! each keeps the key as a generated column, indexes it after each scope column, and pages by it,
//! so the phone and the server sort and filter lists the same way.
//!
//! Key layout (fixed width up to the code, so text order is risk order):
//!
//! ```text
//! S|YYYY-MM-DD|HHHHHHHHHH|CODE
//! ```
//! - `S`: stars, `0` for unrated (nothing vouches for a building never assessed, so it comes first);
//! - the next due date, `0000-00-00` when there is none (never scheduled: it needs a first visit);
//! - 2³²−1 minus the open hazards, ten digits (more open hazards first);
//! - the building code (a total order, so paging never skips or repeats).

use chrono::NaiveDate;

use crate::domain::{Building, BuildingCode, Stars};
use crate::policy::ListPolicy;
use crate::protocol::ListKind;

/// The due-date part of a building with no due date.
pub const NO_DUE_DATE: &str = "0000-00-00";
/// The hazard part of a building with no open hazard (2³²−1 − 0).
pub const NO_OPEN_HAZARDS: &str = "4294967295";
/// Where the due date sits in the key: SQL `substr(key, 3, 10)`.
pub const DUE_DATE_SQL: &str = "substr({key}, 3, 10)";
/// Where the hazard part sits in the key: SQL `substr(key, 14, 10)`.
pub const HAZARDS_SQL: &str = "substr({key}, 14, 10)";
/// Keys of rated buildings start at this text.
const FIRST_RATED: &str = "1";

/// The risk key of a building's list fields (see the module docs).
pub fn risk_key(
    stars: Option<Stars>,
    next_due_on: Option<NaiveDate>,
    open_hazards: u32,
    code: &BuildingCode,
) -> String {
    format!(
        "{}|{}|{:010}|{}",
        stars.map_or(0, Stars::get),
        next_due_on.map_or_else(
            || NO_DUE_DATE.to_owned(),
            |d| d.format("%Y-%m-%d").to_string()
        ),
        u64::from(u32::MAX) - u64::from(open_hazards),
        code.as_str()
    )
}

/// [`risk_key`] of a building's file.
pub fn building_risk_key(b: &Building) -> String {
    risk_key(b.stars, b.next_due_on, b.open_hazards, &b.code)
}

/// Which buildings a list holds. Built from a list's name and the policy ([`Self::for_list`]) or
/// from the phone's filter, then narrowed by the caller's own star filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCriteria {
    /// At least this many stars (unrated buildings are governed by `include_unrated`).
    pub min_stars: Option<u8>,
    /// At most this many stars (unrated buildings are governed by `include_unrated`; 0 leaves
    /// no rated building).
    pub max_stars: Option<u8>,
    pub include_unrated: bool,
    /// Only buildings whose next visit was due strictly before this day (due that day is not yet
    /// overdue; buildings with no due date are never overdue).
    pub overdue_on: Option<NaiveDate>,
    /// `Some(true)`: only buildings with an open hazard; `Some(false)`: only those without.
    pub open_hazards: Option<bool>,
    pub blacklisted_only: bool,
}

impl ListCriteria {
    /// Every building.
    pub const ALL: ListCriteria = ListCriteria {
        min_stars: None,
        max_stars: None,
        include_unrated: true,
        overdue_on: None,
        open_hazards: None,
        blacklisted_only: false,
    };

    /// The officer's list `kind` as the policy defines it, drawn up on day `on`.
    pub fn for_list(kind: ListKind, policy: &ListPolicy, on: NaiveDate) -> Self {
        let all = Self::ALL;
        match kind {
            ListKind::LowStar => Self {
                max_stars: Some(policy.low_star_max_stars.get()),
                include_unrated: false,
                ..all
            },
            ListKind::PushToRegulators => Self {
                max_stars: Some(policy.push_to_regulators_max_stars.get()),
                include_unrated: false,
                ..all
            },
            ListKind::GreenChannel => Self {
                min_stars: Some(policy.green_channel_min_stars.get()),
                include_unrated: false,
                open_hazards: policy.green_channel_without_open_hazards.then_some(false),
                ..all
            },
            ListKind::Overdue => Self {
                overdue_on: Some(on),
                ..all
            },
            ListKind::OpenHazard => Self {
                open_hazards: Some(true),
                ..all
            },
            ListKind::Blacklisted => Self {
                blacklisted_only: true,
                ..all
            },
        }
    }

    /// Narrows the star range to `min..=max` as well (a filter never widens a list).
    pub fn narrow_stars(mut self, min: Option<u8>, max: Option<u8>) -> Self {
        self.min_stars = self.min_stars.max(min);
        self.max_stars = match (self.max_stars, max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// Whether a building's file belongs on the list (the same test the SQL predicates make).
    pub fn matches(&self, b: &Building) -> bool {
        let stars_ok = match b.stars {
            None => self.include_unrated,
            Some(s) => {
                self.min_stars.is_none_or(|m| s.get() >= m)
                    && self.max_stars.is_none_or(|m| s.get() <= m)
            }
        };
        let overdue_ok = self
            .overdue_on
            .is_none_or(|day| b.next_due_on.is_some_and(|d| d < day));
        let hazards_ok = self
            .open_hazards
            .is_none_or(|want| (b.open_hazards > 0) == want);
        stars_ok && overdue_ok && hazards_ok && (!self.blacklisted_only || b.blacklisted)
    }

    /// The inclusive lower and exclusive upper bounds on the key that the star criteria make
    /// (`None`: unbounded); an empty range when nothing can match.
    pub fn key_range(&self) -> (Option<String>, Option<String>) {
        // Unrated keys ('0|…') sit below every rated one: with unrated buildings kept, a minimum
        // makes two ranges, which `sql_conditions` checks row by row instead.
        let lower = (!self.include_unrated).then(|| self.min_stars.unwrap_or(1).max(1).to_string());
        let upper = self
            .max_stars
            .filter(|m| *m < 5)
            .map(|m| (m + 1).to_string());
        (lower, upper)
    }

    /// SQL conditions selecting the list's rows by the key column `key` (and `blacklisted`, the
    /// SQL truth of the blacklist), after the keyset cursor `after` if any. `bind` stores a text
    /// parameter and returns its placeholder (`?3`, `$3`, …). The conditions are ANDed.
    pub fn sql_conditions(
        &self,
        key: &str,
        blacklisted: &str,
        after: Option<&str>,
        bind: &mut dyn FnMut(String) -> String,
    ) -> Vec<String> {
        let mut conds = Vec::new();
        let (lower, upper) = self.key_range();
        // Fold the cursor into the lower bound: one range on the key, as the index wants it.
        match (lower, after) {
            (Some(l), Some(a)) if a < l.as_str() => conds.push(format!("{key} >= {}", bind(l))),
            (_, Some(a)) => conds.push(format!("{key} > {}", bind(a.to_owned()))),
            (Some(l), None) => conds.push(format!("{key} >= {}", bind(l))),
            (None, None) => {}
        }
        if let Some(u) = upper {
            conds.push(format!("{key} < {}", bind(u)));
        }
        if let Some(m) = self.min_stars.filter(|m| self.include_unrated && *m > 1) {
            // Unrated or at least the minimum: the key range started at '0'.
            conds.push(format!(
                "({key} < {} OR {key} >= {})",
                bind(FIRST_RATED.to_owned()),
                bind(m.to_string())
            ));
        }
        let due = DUE_DATE_SQL.replace("{key}", key);
        if let Some(day) = self.overdue_on {
            conds.push(format!(
                "{due} > '{NO_DUE_DATE}' AND {due} < {}",
                bind(day.format("%Y-%m-%d").to_string())
            ));
        }
        let hazards = HAZARDS_SQL.replace("{key}", key);
        match self.open_hazards {
            Some(true) => conds.push(format!("{hazards} < '{NO_OPEN_HAZARDS}'")),
            Some(false) => conds.push(format!("{hazards} = '{NO_OPEN_HAZARDS}'")),
            None => {}
        }
        if self.blacklisted_only {
            conds.push(blacklisted.to_owned());
        }
        conds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn stars(n: u8) -> Stars {
        Stars::new(n).expect("stars")
    }

    #[test]
    fn the_key_orders_by_risk() {
        let code = BuildingCode::parse("4403060010010010000000007").expect("code");
        assert_eq!(
            risk_key(Some(stars(2)), Some(day("2025-03-04")), 3, &code),
            "2|2025-03-04|4294967292|4403060010010010000000007"
        );
        assert_eq!(
            risk_key(None, None, 0, &code),
            "0|0000-00-00|4294967295|4403060010010010000000007"
        );
        let a = risk_key(Some(stars(1)), Some(day("2025-03-04")), 0, &code);
        let b = risk_key(Some(stars(1)), Some(day("2025-03-04")), 2, &code);
        let c = risk_key(Some(stars(1)), Some(day("2025-03-05")), 9, &code);
        assert!(
            b < a && a < c,
            "hazards first within a day, earlier days first"
        );
    }

    #[test]
    fn lists_follow_the_policy() {
        let p = Policy::default_policy().expect("policy").lists;
        let on = day("2025-03-01");
        let low = ListCriteria::for_list(ListKind::LowStar, &p, on);
        assert_eq!(low.max_stars, Some(p.low_star_max_stars.get()));
        assert!(!low.include_unrated);
        assert_eq!(low.key_range(), (Some("1".into()), Some("3".into())));
        let green = ListCriteria::for_list(ListKind::GreenChannel, &p, on);
        assert_eq!(green.key_range(), (Some("4".into()), None));
        assert_eq!(green.open_hazards, Some(false));
        let narrowed = low.narrow_stars(None, Some(1));
        assert_eq!(narrowed.key_range(), (Some("1".into()), Some("2".into())));
        assert_eq!(
            ListCriteria::for_list(ListKind::Overdue, &p, on).overdue_on,
            Some(on)
        );
    }

    #[test]
    fn the_cursor_folds_into_the_lower_bound() {
        let p = Policy::default_policy().expect("policy").lists;
        let low = ListCriteria::for_list(ListKind::LowStar, &p, day("2025-03-01"));
        let mut params = Vec::new();
        let mut bind = |v: String| {
            params.push(v);
            format!("?{}", params.len())
        };
        let conds = low.sql_conditions("k", "b = 1", Some("0|x"), &mut bind);
        assert_eq!(conds, ["k >= ?1", "k < ?2"]);
        let conds = low.sql_conditions("k", "b = 1", Some("2|x"), &mut bind);
        assert_eq!(conds, ["k > ?3", "k < ?4"]);
        assert_eq!(params, ["1", "3", "2|x", "3"]);
    }

    #[test]
    fn a_minimum_with_unrated_buildings_kept_is_two_ranges() {
        let c = ListCriteria {
            min_stars: Some(3),
            ..ListCriteria::ALL
        };
        assert_eq!(c.key_range(), (None, None));
        let mut n = 0;
        let mut bind = |_: String| {
            n += 1;
            format!("${n}")
        };
        assert_eq!(
            c.sql_conditions("k", "b", None, &mut bind),
            ["(k < $1 OR k >= $2)"]
        );
    }
}
