use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A WGS-84 position. Serialized as `{lat, lon}`; GeoJSON output converts to lon/lat order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    /// A validated point: finite, latitude in [-90, 90], longitude in [-180, 180].
    pub fn new(lat: f64, lon: f64) -> Result<Self, ValidationError> {
        let p = Self { lat, lon };
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(ValidationError::LatitudeOutOfRange(self.lat));
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(ValidationError::LongitudeOutOfRange(self.lon));
        }
        Ok(())
    }

    /// Great-circle distance in metres (haversine on the mean Earth radius).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        use geo::{Distance, Haversine, Point};
        Haversine.distance(
            Point::new(self.lon, self.lat),
            Point::new(other.lon, other.lat),
        )
    }
}

/// A GPS fix as the phone reported it: where, how sure (68 % radius in metres), and when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsFix {
    pub point: GeoPoint,
    pub accuracy_m: f64,
    #[serde(with = "crate::domain::utc_time::serde")]
    pub taken_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_non_finite() {
        assert!(matches!(
            GeoPoint::new(91.0, 113.9),
            Err(ValidationError::LatitudeOutOfRange(_))
        ));
        assert!(matches!(
            GeoPoint::new(22.5, 180.5),
            Err(ValidationError::LongitudeOutOfRange(_))
        ));
        assert!(matches!(
            GeoPoint::new(f64::NAN, 0.0),
            Err(ValidationError::LatitudeOutOfRange(_))
        ));
        assert!(GeoPoint::new(22.55, 113.88).is_ok());
    }

    #[test]
    fn distance_is_metres() {
        let a = GeoPoint::new(22.55, 113.88).expect("valid");
        let b = GeoPoint::new(22.551, 113.88).expect("valid");
        let d = a.distance_m(&b);
        assert!(
            (d - 111.2).abs() < 1.0,
            "0.001° of latitude is ~111 m, got {d}"
        );
    }
}
