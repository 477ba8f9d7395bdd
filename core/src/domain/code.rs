use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 25-digit unified address code (统一地址编码): a building's "ID card number".
///
/// Every record about a building hangs on this key. Only the shape is validated (exactly 25 ASCII
/// digits); whether a code exists is a question for the archive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BuildingCode(String);

/// Why a string is not a building code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildingCodeError {
    #[error("building code must have exactly 25 digits, got {len} characters")]
    WrongLength { len: usize },
    #[error("building code must contain only ASCII digits; character {position} is not a digit")]
    NotADigit { position: usize },
}

impl BuildingCode {
    pub const LEN: usize = 25;

    pub fn parse(s: &str) -> Result<Self, BuildingCodeError> {
        let len = s.chars().count();
        if let Some((position, _)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            // Length is reported first when it is wrong: "12345" is more usefully "too short".
            if len != Self::LEN {
                return Err(BuildingCodeError::WrongLength { len });
            }
            return Err(BuildingCodeError::NotADigit {
                position: position + 1,
            });
        }
        if len != Self::LEN {
            return Err(BuildingCodeError::WrongLength { len });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BuildingCode {
    type Err = BuildingCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for BuildingCode {
    type Error = BuildingCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<BuildingCode> for String {
    fn from(c: BuildingCode) -> Self {
        c.0
    }
}

impl fmt::Display for BuildingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_25_digits() {
        let c = BuildingCode::parse("4403060010010010000000001").expect("valid");
        assert_eq!(c.as_str().len(), 25);
    }

    #[test]
    fn rejects_wrong_length_and_non_digits() {
        assert_eq!(
            BuildingCode::parse("123"),
            Err(BuildingCodeError::WrongLength { len: 3 })
        );
        assert_eq!(
            BuildingCode::parse("44030600100100100000000012"),
            Err(BuildingCodeError::WrongLength { len: 26 })
        );
        assert_eq!(
            BuildingCode::parse("440306001001001000000000A"),
            Err(BuildingCodeError::NotADigit { position: 25 })
        );
        // Full-width digits are digits to a human but not to the address base.
        assert!(matches!(
            BuildingCode::parse("４403060010010010000000001"),
            Err(BuildingCodeError::NotADigit { position: 1 })
        ));
        assert_eq!(
            BuildingCode::parse(""),
            Err(BuildingCodeError::WrongLength { len: 0 })
        );
    }

    #[test]
    fn serde_rejects_bad_codes() {
        let bad: Result<BuildingCode, _> = serde_json::from_str("\"12\"");
        let msg = bad.expect_err("must fail").to_string();
        assert!(msg.contains("exactly 25 digits"), "{msg}");
        let good: BuildingCode =
            serde_json::from_str("\"4403060010010010000000001\"").expect("valid code parses");
        assert_eq!(good.to_string(), "4403060010010010000000001");
    }
}
