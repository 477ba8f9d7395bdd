use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A building's credit rating (星级), 1 to 5 stars. "Unrated" is `Option<Stars>::None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Stars(u8);

impl Stars {
    pub const MIN: Stars = Stars(1);
    pub const MAX: Stars = Stars(5);

    pub fn new(n: u8) -> Result<Self, ValidationError> {
        if (1..=5).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ValidationError::StarsOutOfRange(n))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// One step down, never below 1★.
    pub fn down(self) -> Self {
        Self(self.0.saturating_sub(1).max(1))
    }

    /// One step up, never above 5★.
    pub fn up(self) -> Self {
        Self((self.0 + 1).min(5))
    }
}

impl TryFrom<u8> for Stars {
    type Error = ValidationError;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<Stars> for u8 {
    fn from(s: Stars) -> u8 {
        s.0
    }
}

impl fmt::Display for Stars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}★", self.0)
    }
}

/// The four categories a building's credit is judged on (星级评价四类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 安全宜居
    SafetyLivability,
    /// 管理规范
    Management,
    /// 诚实守信
    HonestyCredit,
    /// 文明卫生
    CivilityHygiene,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::SafetyLivability,
        Category::Management,
        Category::HonestyCredit,
        Category::CivilityHygiene,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::SafetyLivability => "safety_livability",
            Category::Management => "management",
            Category::HonestyCredit => "honesty_credit",
            Category::CivilityHygiene => "civility_hygiene",
        }
    }
}

/// Category scores, each 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CategoryScores {
    pub safety_livability: f64,
    pub management: f64,
    pub honesty_credit: f64,
    pub civility_hygiene: f64,
}

impl CategoryScores {
    pub fn new(
        safety_livability: f64,
        management: f64,
        honesty_credit: f64,
        civility_hygiene: f64,
    ) -> Result<Self, ValidationError> {
        let s = Self {
            safety_livability,
            management,
            honesty_credit,
            civility_hygiene,
        };
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        for c in Category::ALL {
            let v = self.get(c);
            if !v.is_finite() || !(0.0..=100.0).contains(&v) {
                return Err(ValidationError::ScoreOutOfRange(v));
            }
        }
        Ok(())
    }

    pub fn get(&self, c: Category) -> f64 {
        match c {
            Category::SafetyLivability => self.safety_livability,
            Category::Management => self.management,
            Category::HonestyCredit => self.honesty_credit,
            Category::CivilityHygiene => self.civility_hygiene,
        }
    }

    pub fn set(&mut self, c: Category, v: f64) {
        match c {
            Category::SafetyLivability => self.safety_livability = v,
            Category::Management => self.management = v,
            Category::HonestyCredit => self.honesty_credit = v,
            Category::CivilityHygiene => self.civility_hygiene = v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_are_bounded() {
        assert!(Stars::new(0).is_err());
        assert!(Stars::new(6).is_err());
        assert_eq!(Stars::new(1).expect("1").down().get(), 1);
        assert_eq!(Stars::new(5).expect("5").up().get(), 5);
        assert_eq!(Stars::new(3).expect("3").down().get(), 2);
        let parsed: Result<Stars, _> = serde_json::from_str("7");
        assert!(parsed.is_err());
    }

    #[test]
    fn scores_are_bounded() {
        assert!(CategoryScores::new(100.0, 0.0, 50.0, 75.5).is_ok());
        assert!(matches!(
            CategoryScores::new(101.0, 0.0, 50.0, 75.5),
            Err(ValidationError::ScoreOutOfRange(_))
        ));
    }
}
