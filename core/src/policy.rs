//! The rules policy: every number the star rules, the patrol planner, electronic supervision and
//! worker assessment use. Versioned data, never constants in code: the default ships in
//! `core/data/policy.json` (explained in plain words in `docs/planning.md`); the server may publish a
//! newer version, and every rating records the policy version it was computed under.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::domain::{Category, ItemId, Severity, Stars};

const DEFAULT_POLICY_JSON: &str = include_str!("../data/policy.json");

/// Longest interval or window the policy may name (ten years): anything larger is a typo.
const MAX_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: u32,
    /// The district's local time (Shenzhen: UTC+8 = 480). Visit and report days are local days:
    /// a visit at 07:00 in Bao'an is 23:00 UTC the day before.
    pub local_utc_offset_minutes: i32,
    pub rating: RatingPolicy,
    pub planning: PlanningPolicy,
    pub supervision: SupervisionPolicy,
    pub assessment: AssessmentPolicy,
    /// What the officer's lists call low-star, green channel and push-to-regulators.
    pub lists: ListPolicy,
}

/// Star rating (星级评价): how category scores become stars, and the downgrade / upgrade rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingPolicy {
    /// Weights of the four categories in the weighted mean score.
    pub category_weights: CategoryWeights,
    /// What 2★ … 5★ require, lowest first. Below the 2★ level a scored building is 1★.
    pub levels: Vec<StarLevel>,
    pub caps: Caps,
    pub upgrade: UpgradePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryWeights {
    pub safety_livability: f64,
    pub management: f64,
    pub honesty_credit: f64,
    pub civility_hygiene: f64,
}

impl CategoryWeights {
    pub fn get(&self, c: Category) -> f64 {
        match c {
            Category::SafetyLivability => self.safety_livability,
            Category::Management => self.management,
            Category::HonestyCredit => self.honesty_credit,
            Category::CivilityHygiene => self.civility_hygiene,
        }
    }
}

/// A star level is earned when the weighted mean reaches `min_mean` and no category is below
/// `min_category` (so a building cannot buy 5★ with clean corridors while its fire exits are blocked).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarLevel {
    pub stars: Stars,
    pub min_mean: f64,
    pub min_category: f64,
}

/// Downgrade rules (降星摘牌), each a cap on the stars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    pub overdue_hazard: OverdueHazardCap,
    pub incidents: Vec<IncidentCap>,
    pub blacklist: BlacklistCap,
}

/// Which reported events carry a rectification deadline that the overdue cap watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeEventKind {
    /// 隐患
    Hazard,
    /// 微小事件
    MicroEvent,
}

/// 存在隐患不按期整改: an open event whose notice deadline has passed caps the stars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueHazardCap {
    pub max_stars: Stars,
    pub kinds: Vec<NoticeEventKind>,
}

/// An incident of a catalog event category (刑事治安案件, 消防安全事故, 重大违法违规经营) of at least
/// `min_severity`, reported within the last `window_days` days, caps the stars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentCap {
    pub category: ItemId,
    pub min_severity: Severity,
    pub max_stars: Stars,
    pub window_days: u32,
}

/// 黑名单: a blacklisted building is capped for as long as it stays on the list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistCap {
    pub max_stars: Stars,
}

/// Upgrade (升星挂牌): one step per verified re-inspection; these add conditions to "verified".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradePolicy {
    /// No upgrade while a hazard or micro-event of the building is still open.
    pub block_while_open_events: bool,
    /// A re-inspection whose GPS fix was off-site does not verify anything.
    pub require_on_site: bool,
}

/// Patrol planning: "high credit inspect less, low credit inspect more" (高信用等级少查、低信用等级多查).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningPolicy {
    pub interval_days: IntervalDays,
    /// When a visit after a notice deadline found the event still open, look again this many days later.
    pub overdue_recheck_days: u32,
    pub priority: PriorityWeights,
    /// At most this many buildings on one worker's plan for a day.
    pub max_stops_per_day: usize,
}

/// Days between regular inspections, per star level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalDays {
    pub stars_1: u32,
    pub stars_2: u32,
    pub stars_3: u32,
    pub stars_4: u32,
    pub stars_5: u32,
    /// Unrated buildings (未评级): also the first visit of a new building is due within this many days.
    pub unrated: u32,
}

impl IntervalDays {
    pub fn for_stars(&self, stars: Option<Stars>) -> u32 {
        match stars.map(Stars::get) {
            None => self.unrated,
            Some(1) => self.stars_1,
            Some(2) => self.stars_2,
            Some(3) => self.stars_3,
            Some(4) => self.stars_4,
            Some(_) => self.stars_5,
        }
    }
}

/// Weights of the priority score; the formula is documented on `planning::priority`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityWeights {
    /// Per interval overdue.
    pub overdue: f64,
    /// Overdue counts up to this many intervals.
    pub overdue_cap_intervals: f64,
    /// For 1★ (and unrated); scales linearly to 0 at 5★.
    pub stars: f64,
    /// Per open hazard or micro-event.
    pub open_hazard: f64,
    pub open_hazard_cap: u32,
    /// Per event reported in the last `recent_days` days.
    pub recent_event: f64,
    pub recent_event_cap: u32,
    pub recent_days: u32,
    /// When the visit is due to verify a rectification deadline.
    pub follow_up: f64,
}

/// Electronic supervision (电子监察): proof of presence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisionPolicy {
    /// A fix within this distance of the building's location is on site.
    pub presence_radius_m: f64,
    /// The fix's accuracy is credited up to this many metres: a 3 km fix proves nothing.
    pub max_accuracy_credit_m: f64,
}

/// Automatic assessment (自动考核) of workers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentPolicy {
    /// A due visit done this many days after its due day still counts as on time.
    pub on_time_grace_days: u32,
    /// A follow-up visit counts when done within this many days after the notice deadline.
    pub follow_up_grace_days: u32,
}

/// The officer's lists (joint rewards and punishments, 联合奖惩): which stars are "low" (the
/// enforcement list and the list pushed to the regulators) and which earn the green channel (绿色通道).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListPolicy {
    /// The low-star list holds rated buildings with at most this many stars.
    pub low_star_max_stars: Stars,
    /// The list pushed to the regulators holds rated buildings with at most this many stars.
    pub push_to_regulators_max_stars: Stars,
    /// Buildings with at least this many stars get the green channel …
    pub green_channel_min_stars: Stars,
    /// … provided no hazard or micro-event of theirs is open.
    pub green_channel_without_open_hazards: bool,
}

/// Why a policy document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid JSON for the policy schema: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("policy version must be at least 1")]
    ZeroVersion,
    #[error("UTC offset {0} minutes is not a real time zone (must be within ±14 h)")]
    BadUtcOffset(i32),
    #[error("'{field}' must be a finite number at least {min}, got {value}")]
    BadNumber {
        field: &'static str,
        value: f64,
        min: f64,
    },
    #[error("'{field}' must be within {min}..={max}, got {value}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("star levels must be exactly 2★, 3★, 4★, 5★ in that order, got {0:?}")]
    LevelsIncomplete(Vec<u8>),
    #[error(
        "{higher}★ needs a mean of {higher_value}, not above {lower}★'s {lower_value}: thresholds must rise with the stars"
    )]
    MeanThresholdsNotRising {
        lower: u8,
        lower_value: f64,
        higher: u8,
        higher_value: f64,
    },
    #[error(
        "{higher}★'s category floor {higher_value} is below {lower}★'s {lower_value}: floors must not fall as stars rise"
    )]
    CategoryFloorsFalling {
        lower: u8,
        lower_value: f64,
        higher: u8,
        higher_value: f64,
    },
    #[error(
        "{higher}★ is inspected every {higher_days} days, more often than {lower}★ ({lower_days}): high credit must be inspected less"
    )]
    IntervalsNotRising {
        lower: u8,
        lower_days: u32,
        higher: u8,
        higher_days: u32,
    },
    #[error("'{field}' must be 1..={max} days, got {value}")]
    BadDays {
        field: &'static str,
        value: u32,
        max: u32,
    },
    #[error("incident cap for '{0}' is defined twice")]
    DuplicateIncidentCap(String),
    #[error("incident cap refers to event category '{0}', which the catalog does not have")]
    UnknownEventCategory(String),
    #[error("max_stops_per_day must be at least 1")]
    ZeroStops,
    #[error(
        "the green channel starts at {green}★, not above the low-star list's {low}★: a building cannot be both"
    )]
    GreenChannelNotAboveLowStars { low: u8, green: u8 },
}

impl Policy {
    /// The policy shipped with the app.
    pub fn default_policy() -> Result<Self, PolicyError> {
        Self::from_json(DEFAULT_POLICY_JSON)
    }

    /// Parse and validate a policy document (unknown fields are refused).
    pub fn from_json(json: &str) -> Result<Self, PolicyError> {
        let p: Policy = serde_json::from_str(json)?;
        p.validate()?;
        Ok(p)
    }

    /// Parse, validate, and check the incident caps name categories of this catalog.
    pub fn from_json_for(json: &str, catalog: &Catalog) -> Result<Self, PolicyError> {
        let p = Self::from_json(json)?;
        p.check_against(catalog)?;
        Ok(p)
    }

    /// The incident caps must name event categories the catalog has; a misspelt one would never fire.
    pub fn check_against(&self, catalog: &Catalog) -> Result<(), PolicyError> {
        for cap in &self.rating.caps.incidents {
            if catalog.event_category(&cap.category).is_none() {
                return Err(PolicyError::UnknownEventCategory(cap.category.0.clone()));
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.version == 0 {
            return Err(PolicyError::ZeroVersion);
        }
        if self.local_utc_offset_minutes.abs() > 14 * 60 {
            return Err(PolicyError::BadUtcOffset(self.local_utc_offset_minutes));
        }
        self.validate_rating()?;
        self.validate_planning()?;
        let s = &self.supervision;
        positive("supervision.presence_radius_m", s.presence_radius_m)?;
        at_least(
            "supervision.max_accuracy_credit_m",
            s.max_accuracy_credit_m,
            0.0,
        )?;
        let a = &self.assessment;
        days_upto("assessment.on_time_grace_days", a.on_time_grace_days, 0)?;
        days_upto("assessment.follow_up_grace_days", a.follow_up_grace_days, 0)?;
        let l = &self.lists;
        let low = l.low_star_max_stars.max(l.push_to_regulators_max_stars);
        if l.green_channel_min_stars <= low {
            return Err(PolicyError::GreenChannelNotAboveLowStars {
                low: low.get(),
                green: l.green_channel_min_stars.get(),
            });
        }
        Ok(())
    }

    fn validate_rating(&self) -> Result<(), PolicyError> {
        let r = &self.rating;
        let w = &r.category_weights;
        positive(
            "rating.category_weights.safety_livability",
            w.safety_livability,
        )?;
        positive("rating.category_weights.management", w.management)?;
        positive("rating.category_weights.honesty_credit", w.honesty_credit)?;
        positive(
            "rating.category_weights.civility_hygiene",
            w.civility_hygiene,
        )?;

        let stars: Vec<u8> = r.levels.iter().map(|l| l.stars.get()).collect();
        if stars != [2, 3, 4, 5] {
            return Err(PolicyError::LevelsIncomplete(stars));
        }
        for l in &r.levels {
            score("rating.levels.min_mean", l.min_mean)?;
            score("rating.levels.min_category", l.min_category)?;
        }
        for pair in r.levels.windows(2) {
            let (lo, hi) = (pair[0], pair[1]);
            if hi.min_mean <= lo.min_mean {
                return Err(PolicyError::MeanThresholdsNotRising {
                    lower: lo.stars.get(),
                    lower_value: lo.min_mean,
                    higher: hi.stars.get(),
                    higher_value: hi.min_mean,
                });
            }
            if hi.min_category < lo.min_category {
                return Err(PolicyError::CategoryFloorsFalling {
                    lower: lo.stars.get(),
                    lower_value: lo.min_category,
                    higher: hi.stars.get(),
                    higher_value: hi.min_category,
                });
            }
        }

        let mut seen = std::collections::HashSet::new();
        for cap in &r.caps.incidents {
            if !seen.insert(cap.category.as_str()) {
                return Err(PolicyError::DuplicateIncidentCap(cap.category.0.clone()));
            }
            days_upto("rating.caps.incidents.window_days", cap.window_days, 1)?;
        }
        Ok(())
    }

    fn validate_planning(&self) -> Result<(), PolicyError> {
        let p = &self.planning;
        let i = &p.interval_days;
        let by_stars = [i.stars_1, i.stars_2, i.stars_3, i.stars_4, i.stars_5];
        for d in by_stars {
            days_upto("planning.interval_days", d, 1)?;
        }
        days_upto("planning.interval_days.unrated", i.unrated, 1)?;
        for (k, pair) in by_stars.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(PolicyError::IntervalsNotRising {
                    lower: k as u8 + 1,
                    lower_days: pair[0],
                    higher: k as u8 + 2,
                    higher_days: pair[1],
                });
            }
        }
        days_upto("planning.overdue_recheck_days", p.overdue_recheck_days, 1)?;
        let w = &p.priority;
        at_least("planning.priority.overdue", w.overdue, 0.0)?;
        at_least(
            "planning.priority.overdue_cap_intervals",
            w.overdue_cap_intervals,
            0.0,
        )?;
        at_least("planning.priority.stars", w.stars, 0.0)?;
        at_least("planning.priority.open_hazard", w.open_hazard, 0.0)?;
        at_least("planning.priority.recent_event", w.recent_event, 0.0)?;
        at_least("planning.priority.follow_up", w.follow_up, 0.0)?;
        days_upto("planning.priority.recent_days", w.recent_days, 0)?;
        if p.max_stops_per_day == 0 {
            return Err(PolicyError::ZeroStops);
        }
        Ok(())
    }

    /// The local (district) calendar day of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        // Validated to be within ±14 h, so the offset exists; UTC is the harmless fallback.
        let offset = FixedOffset::east_opt(self.local_utc_offset_minutes.saturating_mul(60))
            .unwrap_or(Utc.fix());
        t.with_timezone(&offset).date_naive()
    }
}

fn at_least(field: &'static str, value: f64, min: f64) -> Result<(), PolicyError> {
    if value.is_finite() && value >= min {
        Ok(())
    } else {
        Err(PolicyError::BadNumber { field, value, min })
    }
}

fn positive(field: &'static str, value: f64) -> Result<(), PolicyError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(PolicyError::BadNumber {
            field,
            value,
            min: f64::MIN_POSITIVE,
        })
    }
}

fn score(field: &'static str, value: f64) -> Result<(), PolicyError> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(PolicyError::OutOfRange {
            field,
            value,
            min: 0.0,
            max: 100.0,
        })
    }
}

fn days_upto(field: &'static str, value: u32, min: u32) -> Result<(), PolicyError> {
    if (min..=MAX_DAYS).contains(&value) {
        Ok(())
    } else {
        Err(PolicyError::BadDays {
            field,
            value,
            max: MAX_DAYS,
        })
    }
}

/// `day + n` days, saturating at the calendar's end instead of panicking.
pub(crate) fn add_days(day: NaiveDate, n: u32) -> NaiveDate {
    day.checked_add_days(chrono::Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX)
}

/// Whole days from `earlier` to `later` (negative when `later` is before).
pub(crate) fn days_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    later.signed_duration_since(earlier).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_json() -> serde_json::Value {
        serde_json::from_str(DEFAULT_POLICY_JSON).expect("shipped policy is JSON")
    }

    fn parse(v: &serde_json::Value) -> Result<Policy, PolicyError> {
        Policy::from_json(&v.to_string())
    }

    #[test]
    fn shipped_policy_is_valid_for_the_shipped_catalog() {
        let catalog = Catalog::default_catalog().expect("catalog");
        let p = Policy::from_json_for(DEFAULT_POLICY_JSON, &catalog).expect("valid");
        assert_eq!(p.version, 1);
        assert_eq!(p.planning.interval_days.for_stars(Stars::new(1).ok()), 7);
        assert_eq!(p.planning.interval_days.for_stars(Stars::new(5).ok()), 90);
        assert_eq!(p.planning.interval_days.for_stars(None), 7);
        let cats: Vec<&str> = p
            .rating
            .caps
            .incidents
            .iter()
            .map(|c| c.category.as_str())
            .collect();
        assert_eq!(cats, ["criminal_case", "fire_accident", "illegal_business"]);
    }

    #[test]
    fn mean_thresholds_must_rise() {
        let mut v = default_json();
        v["rating"]["levels"][2]["min_mean"] = 70.into(); // 4★ = 3★'s 70
        match parse(&v) {
            Err(PolicyError::MeanThresholdsNotRising {
                lower: 3,
                higher: 4,
                higher_value,
                ..
            }) => assert_eq!(higher_value, 70.0),
            other => panic!("expected MeanThresholdsNotRising, got {other:?}"),
        }
    }

    #[test]
    fn category_floors_must_not_fall() {
        let mut v = default_json();
        v["rating"]["levels"][3]["min_category"] = 10.into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::CategoryFloorsFalling {
                lower: 4,
                higher: 5,
                ..
            })
        ));
    }

    #[test]
    fn levels_must_be_two_to_five() {
        let mut v = default_json();
        let levels = v["rating"]["levels"].as_array_mut().expect("array");
        levels.remove(1);
        match parse(&v) {
            Err(PolicyError::LevelsIncomplete(s)) => assert_eq!(s, vec![2, 4, 5]),
            other => panic!("expected LevelsIncomplete, got {other:?}"),
        }
    }

    #[test]
    fn thresholds_must_be_scores() {
        let mut v = default_json();
        v["rating"]["levels"][3]["min_mean"] = 101.into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::OutOfRange {
                field: "rating.levels.min_mean",
                ..
            })
        ));
    }

    #[test]
    fn high_stars_must_not_be_inspected_more_often() {
        let mut v = default_json();
        v["planning"]["interval_days"]["stars_4"] = 100.into(); // above 5★'s 90
        assert!(matches!(
            parse(&v),
            Err(PolicyError::IntervalsNotRising {
                lower: 4,
                lower_days: 100,
                higher: 5,
                higher_days: 90
            })
        ));
        let mut v = default_json();
        v["planning"]["interval_days"]["stars_1"] = 0.into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::BadDays {
                field: "planning.interval_days",
                value: 0,
                ..
            })
        ));
    }

    #[test]
    fn bad_numbers_are_refused() {
        let mut v = default_json();
        v["supervision"]["presence_radius_m"] = 0.into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::BadNumber {
                field: "supervision.presence_radius_m",
                ..
            })
        ));
        let mut v = default_json();
        v["planning"]["priority"]["stars"] = (-1).into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::BadNumber {
                field: "planning.priority.stars",
                ..
            })
        ));
        let mut v = default_json();
        v["planning"]["max_stops_per_day"] = 0.into();
        assert!(matches!(parse(&v), Err(PolicyError::ZeroStops)));
        let mut v = default_json();
        v["local_utc_offset_minutes"] = 2000.into();
        assert!(matches!(parse(&v), Err(PolicyError::BadUtcOffset(2000))));
    }

    #[test]
    fn caps_are_checked() {
        let mut v = default_json();
        v["rating"]["caps"]["incidents"][1]["category"] = "criminal_case".into();
        match parse(&v) {
            Err(PolicyError::DuplicateIncidentCap(c)) => assert_eq!(c, "criminal_case"),
            other => panic!("expected DuplicateIncidentCap, got {other:?}"),
        }
        let mut v = default_json();
        v["rating"]["caps"]["blacklist"]["max_stars"] = 0.into();
        assert!(matches!(parse(&v), Err(PolicyError::Parse(_))));

        let mut v = default_json();
        v["rating"]["caps"]["incidents"][0]["category"] = "arson".into();
        let catalog = Catalog::default_catalog().expect("catalog");
        let p = parse(&v).expect("valid on its own");
        match p.check_against(&catalog) {
            Err(PolicyError::UnknownEventCategory(c)) => assert_eq!(c, "arson"),
            other => panic!("expected UnknownEventCategory, got {other:?}"),
        }
    }

    #[test]
    fn green_channel_must_start_above_the_low_star_lists() {
        let p = Policy::default_policy().expect("policy");
        assert_eq!(
            (
                p.lists.low_star_max_stars.get(),
                p.lists.green_channel_min_stars.get()
            ),
            (2, 4)
        );
        let mut v = default_json();
        v["lists"]["push_to_regulators_max_stars"] = 4.into();
        assert!(matches!(
            parse(&v),
            Err(PolicyError::GreenChannelNotAboveLowStars { low: 4, green: 4 })
        ));
        let mut v = default_json();
        v["lists"]["green_channel_min_stars"] = 6.into();
        assert!(matches!(parse(&v), Err(PolicyError::Parse(_))));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = default_json();
        v["planning"]["interval_days"]["stars_6"] = 120.into();
        assert!(matches!(parse(&v), Err(PolicyError::Parse(_))));
        let mut v = default_json();
        v["surprise"] = true.into();
        assert!(matches!(parse(&v), Err(PolicyError::Parse(_))));
    }

    #[test]
    fn local_date_uses_the_district_offset() {
        let p = Policy::default_policy().expect("policy");
        // 23:30 UTC on 1 March is 07:30 on 2 March in Shenzhen.
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T23:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            p.local_date(t),
            NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
        );
    }
}
