//! The layout of the synthetic 25-digit building codes (统一地址编码).
//!
//! ```text
//! 440306 SSS CCC GGGG BBBBB UUUU
//! │      │   │   │    │     └─ 4: unit / sub-building, 0000 = the whole building
//! │      │   │   │    └─────── 5: building sequence within its grid, from 00001
//! │      │   │   └──────────── 4: grid within its community, from 0001
//! │      │   └──────────────── 3: community within its street, from 001
//! │      └──────────────────── 3: street within the district, from 001
//! └─────────────────────────── 6: Bao'an's administrative division code (440306)
//! ```
//!
//! The real address base's layout is not public; this one keeps the hierarchy readable in the code,
//! so codes sort by street, community, grid, building — the order the generator emits them in.

use crate::domain::{BuildingCode, BuildingCodeError};

/// Bao'an District's administrative division code (行政区划代码).
pub const BAOAN_DIVISION: u32 = 440_306;

pub(crate) const STREET_DIGITS: u32 = 3;
pub(crate) const COMMUNITY_DIGITS: u32 = 3;
pub(crate) const GRID_DIGITS: u32 = 4;
pub(crate) const SEQUENCE_DIGITS: u32 = 5;
pub(crate) const MAX_STREETS: u32 = 999;
pub(crate) const MAX_COMMUNITIES_PER_STREET: u32 = 999;
pub(crate) const MAX_GRIDS_PER_COMMUNITY: u32 = 9_999;
pub(crate) const MAX_BUILDINGS_PER_GRID: u32 = 99_999;

/// A synthetic building code taken apart. Numbers are 1-based positions within the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeParts {
    pub division: u32,
    pub street: u32,
    pub community: u32,
    pub grid: u32,
    pub sequence: u32,
    pub unit: u32,
}

impl CodeParts {
    /// The code of a whole building in Bao'an.
    pub fn building(street: u32, community: u32, grid: u32, sequence: u32) -> Self {
        Self {
            division: BAOAN_DIVISION,
            street,
            community,
            grid,
            sequence,
            unit: 0,
        }
    }

    /// The 25-digit code. Fields wider than their digits give a code of the wrong length, which
    /// `BuildingCode::parse` refuses; the generator checks the counts before it gets here.
    pub fn to_code(&self) -> Result<BuildingCode, BuildingCodeError> {
        BuildingCode::parse(&format!(
            "{:06}{:03}{:03}{:04}{:05}{:04}",
            self.division, self.street, self.community, self.grid, self.sequence, self.unit
        ))
    }

    /// Splits a code along the synthetic layout (any 25-digit code splits; the meaning is ours).
    pub fn of(code: &BuildingCode) -> Self {
        let s = code.as_str();
        let field = |from: usize, to: usize| -> u32 {
            s.get(from..to)
                .and_then(|d| d.parse().ok())
                .unwrap_or_default()
        };
        Self {
            division: field(0, 6),
            street: field(6, 9),
            community: field(9, 12),
            grid: field(12, 16),
            sequence: field(16, 21),
            unit: field(21, 25),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_documents_the_layout() {
        let parts = CodeParts::building(3, 12, 7, 42);
        let code = parts.to_code().expect("fits");
        assert_eq!(code.as_str(), "4403060030120007000420000");
        assert_eq!(CodeParts::of(&code), parts);
    }

    #[test]
    fn overflowing_fields_do_not_make_a_code() {
        let too_many = CodeParts::building(1, 1, 1, MAX_BUILDINGS_PER_GRID + 1);
        assert!(matches!(
            too_many.to_code(),
            Err(BuildingCodeError::WrongLength { len: 26 })
        ));
    }
}
