//! Electronic supervision (电子监察): proof that a visit happened at the building.
//!
//! The rule: a fix is **off site when `distance − credited accuracy > radius`**, i.e. when even the
//! most favourable reading of the fix (the building lies at the near edge of the fix's accuracy
//! circle) is too far. The credited accuracy is the fix's reported accuracy, capped at
//! `max_accuracy_credit_m` so a vague fix cannot excuse any distance; a negative or non-finite
//! accuracy earns no credit. Exactly on the boundary is on site. A distance that cannot be computed
//! (corrupt coordinates) is off site: presence was not shown. The check is always recorded, never
//! dropped: the result carries the distance, radius and accuracy it was judged on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{Building, BuildingCode, GeoPoint, GpsFix, Inspection, RecordId};
use crate::policy::SupervisionPolicy;

/// How a fix compares with the place it claims to be at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    /// Great-circle distance from the fix to the building, metres.
    pub distance_m: f64,
    pub radius_m: f64,
    /// The accuracy the phone reported, metres.
    pub accuracy_m: f64,
    /// How much of that accuracy was credited (capped by policy, 0 when invalid).
    pub accuracy_credit_m: f64,
    pub off_site: bool,
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:.1} m from the building, accuracy ±{:.1} m (credited {:.1} m), radius {:.1} m",
            if self.off_site { "off site" } else { "on site" },
            self.distance_m,
            self.accuracy_m,
            self.accuracy_credit_m,
            self.radius_m
        )
    }
}

/// Compare a fix with a site.
pub fn check_presence(fix: &GpsFix, site: &GeoPoint, policy: &SupervisionPolicy) -> Presence {
    let distance_m = fix.point.distance_m(site);
    let accuracy_credit_m = if fix.accuracy_m.is_finite() && fix.accuracy_m >= 0.0 {
        fix.accuracy_m.min(policy.max_accuracy_credit_m)
    } else {
        0.0
    };
    // Written as "not within" so that a NaN distance is off site.
    let within = distance_m - accuracy_credit_m <= policy.presence_radius_m;
    Presence {
        distance_m,
        radius_m: policy.presence_radius_m,
        accuracy_m: fix.accuracy_m,
        accuracy_credit_m,
        off_site: !within,
    }
}

/// The presence check of one inspection, named so it can be stored and shown to a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionPresence {
    pub inspection: RecordId,
    pub building: BuildingCode,
    pub presence: Presence,
}

/// Check an inspection's fix against its building's location.
pub fn check_inspection(
    inspection: &Inspection,
    building: &Building,
    policy: &SupervisionPolicy,
) -> InspectionPresence {
    InspectionPresence {
        inspection: inspection.id,
        building: building.code.clone(),
        presence: check_presence(&inspection.fix, &building.location, policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn fix(lat: f64, lon: f64, accuracy_m: f64) -> GpsFix {
        GpsFix {
            point: GeoPoint { lat, lon },
            accuracy_m,
            taken_at: Utc
                .with_ymd_and_hms(2026, 3, 2, 2, 0, 0)
                .single()
                .expect("time"),
        }
    }

    fn policy(radius: f64, credit: f64) -> SupervisionPolicy {
        SupervisionPolicy {
            presence_radius_m: radius,
            max_accuracy_credit_m: credit,
        }
    }

    const SITE: GeoPoint = GeoPoint {
        lat: 22.5550,
        lon: 113.8830,
    };

    #[test]
    fn boundary_is_on_site_and_just_beyond_is_off_site() {
        // 0.001° of latitude north of the site: about 111 m.
        let f = fix(22.5560, 113.8830, 20.0);
        let d = f.point.distance_m(&SITE);
        assert!((d - 111.19).abs() < 0.1, "distance {d}");

        // Radius exactly d − accuracy: the most favourable reading touches the circle → on site.
        let on = check_presence(&f, &SITE, &policy(d - 20.0, 100.0));
        assert!(!on.off_site, "{on}");
        assert_eq!(on.accuracy_credit_m, 20.0);
        assert_eq!(on.distance_m, d);

        // One centimetre less radius → off site.
        let off = check_presence(&f, &SITE, &policy(d - 20.0 - 0.01, 100.0));
        assert!(off.off_site, "{off}");
        assert_eq!(off.radius_m, d - 20.0 - 0.01);
        assert_eq!(off.accuracy_m, 20.0);
    }

    #[test]
    fn accuracy_makes_the_difference() {
        // ~111 m away, radius 50: accuracy 70 → 41 m ≤ 50 on site; accuracy 60 → 51 m off site.
        let p = policy(50.0, 100.0);
        assert!(!check_presence(&fix(22.5560, 113.8830, 70.0), &SITE, &p).off_site);
        assert!(check_presence(&fix(22.5560, 113.8830, 60.0), &SITE, &p).off_site);
    }

    #[test]
    fn vague_or_invalid_accuracy_earns_limited_credit() {
        // A 3 km fix, 111 m away, radius 50, credit capped at 50 → 61 m > 50: off site.
        let r = check_presence(&fix(22.5560, 113.8830, 3000.0), &SITE, &policy(50.0, 50.0));
        assert!(r.off_site);
        assert_eq!(r.accuracy_credit_m, 50.0);
        assert_eq!(r.accuracy_m, 3000.0);

        let r = check_presence(
            &fix(22.5560, 113.8830, f64::NAN),
            &SITE,
            &policy(100.0, 50.0),
        );
        assert_eq!(r.accuracy_credit_m, 0.0);
        assert!(
            r.off_site,
            "111 m with no credited accuracy is beyond 100 m"
        );

        let r = check_presence(&fix(f64::NAN, 113.8830, 5.0), &SITE, &policy(50.0, 50.0));
        assert!(r.off_site, "no computable distance, no proof of presence");
    }

    #[test]
    fn message_names_the_figures() {
        let r = check_presence(&fix(22.5560, 113.8830, 20.0), &SITE, &policy(50.0, 50.0));
        assert_eq!(
            r.to_string(),
            "off site: 111.2 m from the building, accuracy ±20.0 m (credited 20.0 m), radius 50.0 m"
        );
    }
}
