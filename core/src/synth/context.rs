//! What every stage of the generator shares: the spec, the catalog entries it resolved up front,
//! and small drawing and date helpers.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, Utc};
use rand::{Rng, RngExt};

use super::layout::round_deg;
use super::profile::{PerStars, SynthProfile};
use super::spec::{DistrictSpec, SynthError};
use crate::catalog::{Catalog, ChecklistItem, EventCategory, MicroEventKind};
use crate::domain::{GeoPoint, GpsFix, Stars};
use crate::policy::Policy;

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
    pub checklist: &'a [ChecklistItem],
    pub micro_event_kinds: &'a [MicroEventKind],
    pub hazard_categories: Vec<&'a EventCategory>,
    pub incident_categories: Vec<&'a EventCategory>,
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
        Ok(Self {
            spec,
            profile,
            policy,
            checklist: &catalog.checklist,
            micro_event_kinds: &catalog.micro_event_kinds,
            hazard_categories: resolve(catalog, &profile.hazard_categories)?,
            incident_categories: resolve(catalog, &profile.incident_categories)?,
            star_levels: PerStars::<f64>::levels(),
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
