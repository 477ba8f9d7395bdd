//! One measured figure and its line format.

use std::fmt;

/// A measured value with a name (`group.what`) and a unit, printed as
/// `figure: <name> <value> <unit>` so a line splits on whitespace into exactly four fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FigureError {
    #[error("figure {field} '{text}' must be non-empty printable ASCII without spaces")]
    BadToken { field: &'static str, text: String },
    #[error("figure '{name}' has a value that is not a finite number")]
    NotFinite { name: String },
    #[error("not a figure line: '{0}'")]
    NotAFigureLine(String),
}

fn token(field: &'static str, text: &str) -> Result<String, FigureError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(text.to_owned())
    } else {
        Err(FigureError::BadToken {
            field,
            text: text.to_owned(),
        })
    }
}

impl Figure {
    pub fn new(name: &str, value: f64, unit: &str) -> Result<Self, FigureError> {
        let name = token("name", name)?;
        let unit = token("unit", unit)?;
        if !value.is_finite() {
            return Err(FigureError::NotFinite { name });
        }
        Ok(Self { name, value, unit })
    }

    /// Reads a line this type printed (how scripts and tests consume the output).
    pub fn parse_line(line: &str) -> Result<Self, FigureError> {
        let bad = || FigureError::NotAFigureLine(line.chars().take(120).collect());
        let mut fields = line.split_whitespace();
        let (Some("figure:"), Some(name), Some(value), Some(unit), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad());
        };
        let value: f64 = value.parse().map_err(|_| bad())?;
        Self::new(name, value, unit)
    }
}

/// Whole numbers print without decimals (counts); others with 1 decimal from 100 up, 3 decimals
/// from 1 up, 6 below — enough to compare runs without printing timer noise.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e15 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.6}")
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "figure: {} {} {}",
            self.name,
            format_value(self.value),
            self.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_documented_line() {
        let f = Figure::new("synth.generate_district_ms", 1234.5, "ms").expect("valid");
        assert_eq!(
            f.to_string(),
            "figure: synth.generate_district_ms 1234.5 ms"
        );
        let f = Figure::new("synth.buildings", 175_700.0, "count").expect("valid");
        assert_eq!(f.to_string(), "figure: synth.buildings 175700 count");
        assert_eq!(format_value(12.34567), "12.346");
        assert_eq!(format_value(0.00421), "0.004210");
        assert_eq!(format_value(-250.04), "-250.0");
    }

    #[test]
    fn refuses_what_would_break_the_line() {
        assert!(matches!(
            Figure::new("two words", 1.0, "ms"),
            Err(FigureError::BadToken { field: "name", .. })
        ));
        assert!(matches!(
            Figure::new("x", 1.0, ""),
            Err(FigureError::BadToken { field: "unit", .. })
        ));
        assert!(matches!(
            Figure::new("x", f64::NAN, "ms"),
            Err(FigureError::NotFinite { .. })
        ));
    }

    #[test]
    fn parses_its_own_lines_back() {
        let f = Figure::new("sync.push_per_s", 2_741.25, "1/s").expect("valid");
        let back = Figure::parse_line(&f.to_string()).expect("parses");
        assert_eq!(back.name, "sync.push_per_s");
        assert_eq!(back.value, 2_741.2, "printed with one decimal");
        assert!(Figure::parse_line("figure: a 1").is_err());
        assert!(Figure::parse_line("figure: a 1 ms extra").is_err());
        assert!(Figure::parse_line("bench: a 1 ms").is_err());
        assert!(Figure::parse_line("figure: a one ms").is_err());
    }
}
