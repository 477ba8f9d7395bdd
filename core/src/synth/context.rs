//! What every stage of the generator shares: the spec, the catalog entries it resolved up front,
//! and small drawing and date helpers.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, Utc};
use rand::{Rng, RngExt};

use super::events::Kind;
use super::layout::round_deg;
use super::profile::{PerStars, SynthProfile};
use super::spec::{DistrictSpec, SynthError};
use crate::catalog::{Catalog, ChecklistItem, EventCategory, MicroEventKind};
use crate::domain::{Category, GeoPoint, GpsFix, Stars};
use crate::policy::{NoticeEventKind, Policy};

/// Metres per degree of latitude (mean Earth radius).
const METRES_PER_DEGREE: f64 = 111_195.0;

/// Working hours of a grid worker, 08:30 to 18:00 Shenzhen time (UTC+8), as seconds after UTC
/// midnight: 00:30 to 10:00 UTC. Inside them the local date equals the UTC date, so a record's
/// date is the same whichever way it is read.
const WORK_START_S: i64 = 30 * 60;
const WORK_END_S: i64 = 10 * 3600;

#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub spec: &'a DistrictSpec,
    pub profile: &'a SynthProfile,
    pub policy: &'a Policy,
    pub catalog: &'a Catalog,
    pub checklist: &'a [ChecklistItem],
    /// Each checklist item's category (as an index into [`Category::ALL`]) and weight, in catalog
    /// order.
    pub item_slots: Vec<(usize, f64)>,
    pub micro_event_kinds: &'a [MicroEventKind],
    pub hazard_categories: Vec<&'a EventCategory>,
    pub incident_categories: Vec<&'a EventCategory>,
    /// Per rating level (index as [`level`]): the incident categories an open incident of a
    /// building at that level may be filed under without a policy cap lowering the building.
    pub incidents_within_caps: [Vec<&'a EventCategory>; 6],
    pub star_levels: [Option<Stars>; 6],
    pub star_weights: [f64; 6],
    pub usage_weights: Vec<f64>,
    /// Chance that a 1★ building is blacklisted, so that the district-wide share matches.
    pub blacklist_chance: f64,
}

fn resolve<'a>(
    catalog: &'a Catalog,
    ids: &[crate::domain::ItemId],
) -> Result<Vec<&'a EventCategory>, SynthError> {
    ids.iter()
        .map(|id| {
            catalog
                .event_category(id)
                .ok_or_else(|| SynthError::NotInCatalog {
                    what: "event category",
                    id: id.0.clone(),
                })
        })
        .collect()
}

impl<'a> Ctx<'a> {
    pub fn new(
        spec: &'a DistrictSpec,
        catalog: &'a Catalog,
        policy: &'a Policy,
    ) -> Result<Self, SynthError> {
        let profile = &spec.profile;
        if catalog.micro_event_kinds.is_empty() {
            return Err(SynthError::CatalogEmpty("micro-event kinds"));
        }
        if catalog.checklist.is_empty() {
            return Err(SynthError::CatalogEmpty("checklist items"));
        }
        for k in &catalog.micro_event_kinds {
            if catalog.event_category(&k.category).is_none() {
                return Err(SynthError::NotInCatalog {
                    what: "event category",
                    id: k.category.0.clone(),
                });
            }
        }
        let star_weights = profile.star_shares.values().map(|w| *w);
        let total: f64 = star_weights.iter().sum();
        let one_share = profile.star_shares.one / total;
        let blacklist_chance = if one_share > 0.0 {
            (profile.blacklist_share / one_share).min(1.0)
        } else {
            0.0
        };
        let item_slots = catalog
            .checklist
            .iter()
            .map(|i| (category_index(i.category), i.weight))
            .collect();
        let incident_categories = resolve(catalog, &profile.incident_categories)?;
        let star_levels = PerStars::<f64>::levels();
        // Conservative: a category is left out when any of its caps (whatever its severity) is
        // below the level, so every incident the generator may draw leaves the stars alone.
        let incidents_within_caps =
            star_levels.map(|stars| {
                incident_categories
                    .iter()
                    .copied()
                    .filter(|c| {
                        policy.rating.caps.incidents.iter().all(|cap| {
                            cap.category != c.id || stars.is_none_or(|s| s <= cap.max_stars)
                        })
                    })
                    .collect()
            });
        Ok(Self {
            spec,
            profile,
            policy,
            catalog,
            checklist: &catalog.checklist,
            item_slots,
            micro_event_kinds: &catalog.micro_event_kinds,
            hazard_categories: resolve(catalog, &profile.hazard_categories)?,
            incident_categories,
            incidents_within_caps,
            star_levels,
            star_weights,
            usage_weights: profile.usages.iter().map(|u| u.share).collect(),
            blacklist_chance,
        })
    }

    pub fn today(&self) -> NaiveDate {
        self.spec.today
    }

    /// Days between regular inspections at this rating, from the rules policy.
    pub fn interval_days(&self, stars: Option<Stars>) -> u32 {
        self.policy.planning.interval_days.for_stars(stars)
    }

    /// Whether an open event of `kind` may be past its notice deadline on a building of `stars`
    /// without the overdue-hazard cap lowering the building: the policy does not watch the kind,
    /// or the building is at or below the cap (unrated buildings have no stars to lower).
    pub fn may_be_overdue(&self, stars: Option<Stars>, kind: Kind) -> bool {
        let cap = &self.policy.rating.caps.overdue_hazard;
        let watched = match kind {
            Kind::MicroEvent => cap.kinds.contains(&NoticeEventKind::MicroEvent),
            Kind::Hazard => cap.kinds.contains(&NoticeEventKind::Hazard),
            Kind::Incident => false,
        };
        !watched || stars.is_none_or(|s| s <= cap.max_stars)
    }

    /// Incident categories an open incident may have on a building of `stars` (see
    /// `incidents_within_caps`).
    pub fn incidents_for(&self, stars: Option<Stars>) -> &[&'a EventCategory] {
        &self.incidents_within_caps[level(stars)]
    }

    /// A GPS fix near `at_point`, as a phone held by someone standing at the building reports it.
    pub fn fix_near(
        &self,
        at_point: GeoPoint,
        taken_at: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> GpsFix {
        let p = self.profile;
        let r = p.gps_offset_max_m * rng.random::<f64>();
        let theta = std::f64::consts::TAU * rng.random::<f64>();
        let dlat = r * theta.cos() / METRES_PER_DEGREE;
        let dlon = r * theta.sin() / (METRES_PER_DEGREE * at_point.lat.to_radians().cos());
        GpsFix {
            point: GeoPoint {
                lat: round_deg(at_point.lat + dlat),
                lon: round_deg(at_point.lon + dlon),
            },
            accuracy_m: (between(rng, p.gps_accuracy_min_m, p.gps_accuracy_max_m) * 10.0).round()
                / 10.0,
            taken_at,
        }
    }
}

/// Index of a rating level: 0 = unrated, 1..=5 = stars (the order of [`PerStars::levels`]).
pub(crate) fn level(stars: Option<Stars>) -> usize {
    stars.map_or(0, |s| usize::from(s.get()))
}

/// Index of a category in [`Category::ALL`].
pub(crate) fn category_index(c: Category) -> usize {
    match c {
        Category::SafetyLivability => 0,
        Category::Management => 1,
        Category::HonestyCredit => 2,
        Category::CivilityHygiene => 3,
    }
}

/// True with probability `p`; out-of-range or NaN `p` never panics (≤ 0 or NaN is never, ≥ 1 always).
pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// Uniform in `[lo, hi]` (`lo` when the range is empty).
pub(crate) fn between(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo).max(0.0) * rng.random::<f64>()
}

/// An index drawn in proportion to non-negative `weights` (the last one if rounding runs past).
pub(crate) fn pick(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// `expected` as a whole count: its integer part plus one more with the fraction as chance.
pub(crate) fn count(rng: &mut impl Rng, expected: f64) -> u32 {
    let whole = expected.floor();
    whole as u32 + u32::from(chance(rng, expected - whole))
}

/// Days are bounded by the profile and the policy (≤ 3,650 each) and today by the spec (years 2000–2200), so these
/// never leave chrono's range.
pub(crate) fn days_before(d: NaiveDate, n: u32) -> NaiveDate {
    d - Days::new(u64::from(n))
}

pub(crate) fn days_after(d: NaiveDate, n: u32) -> NaiveDate {
    d + Days::new(u64::from(n))
}

/// A moment in working hours on `d`.
pub(crate) fn at_work(d: NaiveDate, rng: &mut impl Rng) -> DateTime<Utc> {
    let s = rng.random_range(WORK_START_S..WORK_END_S);
    d.and_time(NaiveTime::MIN).and_utc() + Duration::seconds(s)
}
