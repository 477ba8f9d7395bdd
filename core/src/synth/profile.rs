//! The shape of a synthetic district: every share, band and rate the generator draws from, as data
//! with a shipped default ([`SynthProfile::default`]), so a test or a demo can skew it without code.

use serde::{Deserialize, Serialize};

use crate::domain::{BuildingUse, ItemId, Stars};

/// One value per rating level, unrated (未评级) included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerStars<T> {
    pub unrated: T,
    pub one: T,
    pub two: T,
    pub three: T,
    pub four: T,
    pub five: T,
}

impl<T> PerStars<T> {
    pub fn get(&self, stars: Option<Stars>) -> &T {
        match stars.map(Stars::get) {
            None => &self.unrated,
            Some(1) => &self.one,
            Some(2) => &self.two,
            Some(3) => &self.three,
            Some(4) => &self.four,
            // `Stars` is 1..=5 by construction.
            Some(_) => &self.five,
        }
    }

    /// The levels in order: unrated, 1★ … 5★.
    pub fn levels() -> [Option<Stars>; 6] {
        [
            None,
            Some(Stars::MIN),
            Stars::new(2).ok(),
            Stars::new(3).ok(),
            Stars::new(4).ok(),
            Some(Stars::MAX),
        ]
    }

    pub fn values(&self) -> [&T; 6] {
        [
            &self.unrated,
            &self.one,
            &self.two,
            &self.three,
            &self.four,
            &self.five,
        ]
    }
}

/// The band the weighted mean of a rated building's four category scores falls in:
/// `lo <= mean < hi` (`hi` = 100 is inclusive for 5★).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreBand {
    pub lo: f64,
    pub hi: f64,
}

impl ScoreBand {
    pub fn contains(&self, mean: f64) -> bool {
        mean >= self.lo && (mean < self.hi || (self.hi >= 100.0 && mean <= 100.0))
    }
}

/// A range of storeys and how often it occurs within a building use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FloorBand {
    pub min: u16,
    pub max: u16,
    pub weight: f64,
}

/// How buildings of one use look: how common, how tall, how many rental units per storey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageShape {
    pub usage: BuildingUse,
    pub share: f64,
    pub floors: Vec<FloorBand>,
    /// Storeys without rental units (shops on the ground floor of a mixed-use building).
    pub non_rental_floors: u16,
    pub units_per_floor_min: u32,
    pub units_per_floor_max: u32,
}

/// Shares of the three kinds of open event a building may carry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventMix {
    pub micro_event: f64,
    pub hazard: f64,
    pub incident: f64,
}

/// How unequal the sizes of streets, communities and grids are (0 = all equal, 0.9 = up to 19×),
/// and how unequal the building density of grids is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SizeSpread {
    pub street_area: f64,
    pub community_area: f64,
    pub grid_area: f64,
    pub grid_buildings: f64,
}

/// Everything the generator draws from. The default is a plausible Bao'an; see the field docs.
///
/// Inspection intervals are not here: they are the rules policy's
/// (`Policy.planning.interval_days`), so a synthetic district is scheduled the way the planner
/// schedules a real one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthProfile {
    /// Share of buildings at each rating (normalised; need not sum to 1).
    pub star_shares: PerStars<f64>,
    /// Band of the weighted mean category score (the rules policy's category weights) per star,
    /// index 0 = 1★ … 4 = 5★. Each band should lie within what the policy's star levels allow for
    /// that star (the shipped bands are exactly the policy's thresholds, 1★ from 30): a
    /// building's latest checklist is drawn so its scores fall in the band *and* earn the star
    /// under the policy's thresholds and per-category floors.
    pub score_bands: [ScoreBand; 5],
    /// Largest spread of one category's target score around the building's mean target.
    pub category_score_spread: f64,
    /// Share of buildings inspected at least once whose next due date has already passed.
    pub overdue_share: f64,
    /// Overdue buildings are past due by 1 to this many days.
    pub max_overdue_days: u32,
    /// Share of unrated buildings never inspected yet (newly registered in the address base).
    pub unrated_never_inspected_share: f64,
    /// Share of all buildings on the blacklist (黑名单); drawn from 1★ buildings.
    pub blacklist_share: f64,
    /// Chance a building carries open events (open hazards), per rating.
    pub open_event_chance: PerStars<f64>,
    /// A building with open events has 1 to this many.
    pub max_open_events: u32,
    /// Open events were reported within this many days before today.
    pub open_event_max_age_days: u32,
    pub open_event_mix: EventMix,
    /// Event categories (catalog ids) a hazard (隐患) is filed under.
    pub hazard_categories: Vec<ItemId>,
    /// Rectification deadline of a hazard notice, days after the report.
    pub hazard_deadline_days: u32,
    /// Event categories (catalog ids) an incident is filed under (the downgrade causes).
    pub incident_categories: Vec<ItemId>,
    /// Closed (rectified) events in the history, per past inspection.
    pub closed_events_per_inspection: f64,
    /// History reaches back this many days.
    pub history_days: u32,
    /// Chance a checklist item does not apply to the building.
    pub item_not_applicable_chance: f64,
    /// Chance a building has an actual manager (实际管理人) besides the owner.
    pub manager_chance: f64,
    /// Chance a building has a building head (楼栋长), per rating.
    pub building_head_chance: PerStars<f64>,
    pub usages: Vec<UsageShape>,
    pub size_spread: SizeSpread,
    /// GPS accuracy of recorded fixes, metres.
    pub gps_accuracy_min_m: f64,
    pub gps_accuracy_max_m: f64,
    /// Recorded fixes lie up to this far from the building.
    pub gps_offset_max_m: f64,
}

fn ids(list: &[&str]) -> Vec<ItemId> {
    list.iter().map(|s| ItemId::from(*s)).collect()
}

impl Default for SynthProfile {
    fn default() -> Self {
        let band = |lo, hi| ScoreBand { lo, hi };
        let floors = |min, max, weight| FloorBand { min, max, weight };
        Self {
            star_shares: PerStars {
                unrated: 0.05,
                one: 0.07,
                two: 0.18,
                three: 0.35,
                four: 0.25,
                five: 0.10,
            },
            score_bands: [
                band(30.0, 60.0),
                band(60.0, 70.0),
                band(70.0, 80.0),
                band(80.0, 90.0),
                band(90.0, 100.0),
            ],
            category_score_spread: 8.0,
            overdue_share: 0.08,
            max_overdue_days: 30,
            unrated_never_inspected_share: 0.5,
            blacklist_share: 0.005,
            open_event_chance: PerStars {
                unrated: 0.10,
                one: 0.60,
                two: 0.35,
                three: 0.12,
                four: 0.03,
                five: 0.0,
            },
            max_open_events: 3,
            open_event_max_age_days: 45,
            open_event_mix: EventMix {
                micro_event: 0.60,
                hazard: 0.35,
                incident: 0.05,
            },
            hazard_categories: ids(&["fire_hazard", "structural", "electrical", "gas"]),
            hazard_deadline_days: 14,
            incident_categories: ids(&["criminal_case", "fire_accident", "illegal_business"]),
            closed_events_per_inspection: 0.25,
            history_days: 365,
            item_not_applicable_chance: 0.05,
            manager_chance: 0.6,
            building_head_chance: PerStars {
                unrated: 0.3,
                one: 0.2,
                two: 0.4,
                three: 0.6,
                four: 0.85,
                five: 0.95,
            },
            usages: vec![
                // Urban-village "handshake buildings" (握手楼): mostly 6–9 storeys, 1–3 flats a storey.
                UsageShape {
                    usage: BuildingUse::Residential,
                    share: 0.72,
                    floors: vec![
                        floors(6, 9, 0.78),
                        floors(2, 5, 0.12),
                        floors(10, 18, 0.07),
                        floors(19, 33, 0.03),
                    ],
                    non_rental_floors: 0,
                    units_per_floor_min: 1,
                    units_per_floor_max: 3,
                },
                UsageShape {
                    usage: BuildingUse::MixedUse,
                    share: 0.15,
                    floors: vec![floors(4, 9, 0.85), floors(10, 20, 0.15)],
                    non_rental_floors: 1,
                    units_per_floor_min: 1,
                    units_per_floor_max: 4,
                },
                UsageShape {
                    usage: BuildingUse::Dormitory,
                    share: 0.06,
                    floors: vec![floors(4, 8, 1.0)],
                    non_rental_floors: 0,
                    units_per_floor_min: 6,
                    units_per_floor_max: 12,
                },
                UsageShape {
                    usage: BuildingUse::Industrial,
                    share: 0.05,
                    floors: vec![floors(2, 6, 1.0)],
                    non_rental_floors: 0,
                    units_per_floor_min: 0,
                    units_per_floor_max: 2,
                },
                UsageShape {
                    usage: BuildingUse::Commercial,
                    share: 0.02,
                    floors: vec![floors(3, 12, 1.0)],
                    non_rental_floors: 1,
                    units_per_floor_min: 1,
                    units_per_floor_max: 2,
                },
            ],
            size_spread: SizeSpread {
                street_area: 0.4,
                community_area: 0.5,
                grid_area: 0.3,
                grid_buildings: 0.7,
            },
            gps_accuracy_min_m: 4.0,
            gps_accuracy_max_m: 35.0,
            gps_offset_max_m: 12.0,
        }
    }
}

/// Why a profile cannot drive the generator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("{field} must be a finite number ≥ 0, got {value}")]
    NegativeOrNotFinite { field: &'static str, value: f64 },
    #[error("{field} must be a probability in 0..=1, got {value}")]
    NotAProbability { field: &'static str, value: f64 },
    #[error("the weights of {field} sum to zero")]
    ZeroWeights { field: &'static str },
    #[error("{field} must be 1 to 3650 days (or items)")]
    ZeroDays { field: &'static str },
    #[error("{field} is an empty or inverted range")]
    BadRange { field: &'static str },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("score band for {stars}★ must lie within 0..=100 and be at least 1 wide")]
    BadScoreBand { stars: u8 },
}

fn non_negative(field: &'static str, value: f64) -> Result<(), ProfileError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ProfileError::NegativeOrNotFinite { field, value })
    }
}

fn probability(field: &'static str, value: f64) -> Result<(), ProfileError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ProfileError::NotAProbability { field, value })
    }
}

fn weights<'a>(
    field: &'static str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), ProfileError> {
    let mut sum = 0.0;
    for &v in values {
        non_negative(field, v)?;
        sum += v;
    }
    if sum > 0.0 {
        Ok(())
    } else {
        Err(ProfileError::ZeroWeights { field })
    }
}

/// Longest span of days a profile may use (ten years); keeps all date arithmetic in range.
pub const MAX_DAYS: u32 = 3_650;

fn days(field: &'static str, value: u32) -> Result<(), ProfileError> {
    if (1..=MAX_DAYS).contains(&value) {
        Ok(())
    } else {
        Err(ProfileError::ZeroDays { field })
    }
}

impl SynthProfile {
    /// Everything the generator relies on to never panic or draw from an empty range.
    pub fn validate(&self) -> Result<(), ProfileError> {
        weights("star_shares", self.star_shares.values())?;
        for (i, b) in self.score_bands.iter().enumerate() {
            // At least a point wide, so scores rounded to 0.1 stay inside.
            if !(b.lo.is_finite()
                && b.hi.is_finite()
                && 0.0 <= b.lo
                && b.lo + 1.0 <= b.hi
                && b.hi <= 100.0)
            {
                return Err(ProfileError::BadScoreBand { stars: i as u8 + 1 });
            }
        }
        non_negative("category_score_spread", self.category_score_spread)?;
        probability("overdue_share", self.overdue_share)?;
        days("max_overdue_days", self.max_overdue_days)?;
        probability(
            "unrated_never_inspected_share",
            self.unrated_never_inspected_share,
        )?;
        probability("blacklist_share", self.blacklist_share)?;
        for p in self.open_event_chance.values() {
            probability("open_event_chance", *p)?;
        }
        days("max_open_events", self.max_open_events)?;
        let m = &self.open_event_mix;
        weights("open_event_mix", [&m.micro_event, &m.hazard, &m.incident])?;
        if self.hazard_categories.is_empty() {
            return Err(ProfileError::Empty {
                field: "hazard_categories",
            });
        }
        days("hazard_deadline_days", self.hazard_deadline_days)?;
        if self.incident_categories.is_empty() {
            return Err(ProfileError::Empty {
                field: "incident_categories",
            });
        }
        non_negative(
            "closed_events_per_inspection",
            self.closed_events_per_inspection,
        )?;
        days("history_days", self.history_days)?;
        // Past events are reported at least a fortnight ago and at most `history_days` ago.
        if self.history_days < 15 {
            return Err(ProfileError::BadRange {
                field: "history_days (at least 15)",
            });
        }
        probability(
            "item_not_applicable_chance",
            self.item_not_applicable_chance,
        )?;
        probability("manager_chance", self.manager_chance)?;
        for p in self.building_head_chance.values() {
            probability("building_head_chance", *p)?;
        }
        if self.usages.is_empty() {
            return Err(ProfileError::Empty { field: "usages" });
        }
        weights("usages.share", self.usages.iter().map(|u| &u.share))?;
        for u in &self.usages {
            if u.floors.is_empty() {
                return Err(ProfileError::Empty {
                    field: "usages.floors",
                });
            }
            weights("usages.floors.weight", u.floors.iter().map(|f| &f.weight))?;
            if u.floors.iter().any(|f| f.min == 0 || f.min > f.max) {
                return Err(ProfileError::BadRange {
                    field: "usages.floors",
                });
            }
            if u.units_per_floor_min > u.units_per_floor_max {
                return Err(ProfileError::BadRange {
                    field: "usages.units_per_floor",
                });
            }
        }
        let s = &self.size_spread;
        for (field, v) in [
            ("size_spread.street_area", s.street_area),
            ("size_spread.community_area", s.community_area),
            ("size_spread.grid_area", s.grid_area),
            ("size_spread.grid_buildings", s.grid_buildings),
        ] {
            // Below 1 so every weight stays positive.
            if !(0.0..0.95).contains(&v) {
                return Err(ProfileError::BadRange { field });
            }
        }
        non_negative("gps_accuracy_min_m", self.gps_accuracy_min_m)?;
        non_negative("gps_accuracy_max_m", self.gps_accuracy_max_m)?;
        if self.gps_accuracy_min_m > self.gps_accuracy_max_m {
            return Err(ProfileError::BadRange {
                field: "gps_accuracy_m",
            });
        }
        non_negative("gps_offset_max_m", self.gps_offset_max_m)?;
        Ok(())
    }
}
