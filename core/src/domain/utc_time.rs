//! RFC 3339 times as gridwalk writes them (UTC, `Z`), and `YYYY-MM-DD` dates, written and read
//! without going through chrono's general formatter and parser.
//!
//! Why: a push or a pull of 10,000 records carries about 30,000 times, and chrono's general path
//! costs ~300 ns a time each way (`fmt` machinery on the way out, a format-item parser on the way
//! in) — a tenth of the server's work on a push (BENCHMARKS, sync). The fast path covers only the
//! shape gridwalk produces, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a year in 0–9999; anything
//! else (offsets, leap seconds, other years, relaxed forms) goes to chrono, so what is accepted,
//! what it means and what is written are exactly chrono's. The tests hold the two to that.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, Timelike, Utc};

/// How many fraction digits to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// As chrono's serde does (`SecondsFormat::AutoSi`): none, 3, 6 or 9 digits, the fewest that
    /// keep the value.
    Auto,
    /// Always 9 digits (`SecondsFormat::Nanos`): text that sorts in time order.
    Nanos,
}

/// Longest fast-path text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// `t` as chrono's `to_rfc3339_opts(format, true)` writes it (`Auto` = `AutoSi`).
pub fn format(t: &DateTime<Utc>, fraction: Fraction) -> String {
    let mut buf = [0u8; MAX_LEN];
    match write_fast(t, fraction, &mut buf) {
        // Only ASCII digits and separators are written.
        Some(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        None => t.to_rfc3339_opts(
            match fraction {
                Fraction::Auto => SecondsFormat::AutoSi,
                Fraction::Nanos => SecondsFormat::Nanos,
            },
            true,
        ),
    }
}

/// The time in `s`, as chrono's `DateTime<FixedOffset>::from_str` (what its serde uses) reads it,
/// in UTC.
pub fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_fast(s.as_bytes()) {
        Some(t) => Ok(t),
        None => s
            .parse::<DateTime<FixedOffset>>()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// The time in `s` as `DateTime::parse_from_rfc3339` reads it (strict RFC 3339), in UTC.
pub fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_fast(s.as_bytes()) {
        Some(t) => Ok(t),
        None => DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)),
    }
}

/// `d` as chrono writes it (`Display`, `%Y-%m-%d` for years 0–9999).
pub fn format_date(d: NaiveDate) -> String {
    let mut buf = [0u8; MAX_LEN];
    match u32::try_from(d.year()).ok().filter(|y| *y <= 9999) {
        Some(year) => {
            let mut at = put_digits(&mut buf, 0, year, 4);
            buf[at] = b'-';
            at = put_digits(&mut buf, at + 1, d.month(), 2);
            buf[at] = b'-';
            at = put_digits(&mut buf, at + 1, d.day(), 2);
            String::from_utf8_lossy(&buf[..at]).into_owned()
        }
        None => d.to_string(),
    }
}

/// The date in `s`, as chrono's `NaiveDate::from_str` (what its serde uses) reads it.
pub fn parse_date(s: &str) -> Result<NaiveDate, chrono::ParseError> {
    match parse_date_fast(s.as_bytes()) {
        Some(d) => Ok(d),
        None => s.parse::<NaiveDate>(),
    }
}

/// Reads exactly `YYYY-MM-DD`; `None` for anything else or an impossible date.
fn parse_date_fast(s: &[u8]) -> Option<NaiveDate> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    ymd(s)
}

/// The date in the first ten bytes of `s` (already checked to be that long, dashes in place).
fn ymd(s: &[u8]) -> Option<NaiveDate> {
    let year = i32::try_from(digits(s, 0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(s, 5..7)?, digits(s, 8..10)?)
}

/// The number written in `s[range]`, all ASCII digits; `None` otherwise.
fn digits(s: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    s.get(range)?.iter().try_fold(0u32, |v, &c| {
        c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
    })
}

/// Writes the fast-path form into `buf`; `None` when `t` is outside it (year, leap second).
fn write_fast(t: &DateTime<Utc>, fraction: Fraction, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    let n = t.naive_utc();
    let year = u32::try_from(n.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = n.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut at = 0;
    for (value, width, sep) in [
        (year, 4, b'-'),
        (n.month(), 2, b'-'),
        (n.day(), 2, b'T'),
        (n.hour(), 2, b':'),
        (n.minute(), 2, b':'),
        (n.second(), 2, b'.'),
    ] {
        at = put_digits(buf, at, value, width);
        buf[at] = sep;
        at += 1;
    }
    let (value, width) = match fraction {
        Fraction::Nanos => (nanos, 9),
        Fraction::Auto if nanos == 0 => (0, 0),
        Fraction::Auto if nanos % 1_000_000 == 0 => (nanos / 1_000_000, 3),
        Fraction::Auto if nanos % 1_000 == 0 => (nanos / 1_000, 6),
        Fraction::Auto => (nanos, 9),
    };
    if width == 0 {
        at -= 1; // no fraction: drop the '.'
    } else {
        at = put_digits(buf, at, value, width);
    }
    buf[at] = b'Z';
    Some(at + 1)
}

/// Writes `value` as `width` zero-padded digits at `at`; returns the position after them.
fn put_digits(buf: &mut [u8; MAX_LEN], at: usize, value: u32, width: usize) -> usize {
    let mut v = value;
    for i in (at..at + width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    at + width
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.d{1,9}]Z`; `None` for anything else or an impossible date or time
/// (which chrono then judges).
fn parse_fast(s: &[u8]) -> Option<DateTime<Utc>> {
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if s.len() < 20 || seps.iter().any(|&(i, c)| s[i] != c) || s.last() != Some(&b'Z') {
        return None;
    }
    let nanos = match &s[19..s.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let v = digits(s, 20..20 + fraction.len())?;
            v * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let time = ymd(s)?.and_hms_nano_opt(
        digits(s, 11..13)?,
        digits(s, 14..16)?,
        digits(s, 17..19)?,
        nanos,
    )?;
    Some(time.and_utc())
}

/// `#[serde(with = "…::utc_time::serde")]` for a `DateTime<Utc>`: the same text and the same
/// errors as chrono's own serde, faster.
pub mod serde {
    use super::{DateTime, Fraction, MAX_LEN, Utc, fmt, write_fast};
    use ::serde::{Deserializer, Serialize, Serializer, de};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; MAX_LEN];
        match write_fast(t, Fraction::Auto, &mut buf)
            .and_then(|n| std::str::from_utf8(&buf[..n]).ok())
        {
            Some(text) => s.serialize_str(text),
            None => t.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        d.deserialize_str(TimeVisitor)
    }

    pub(super) struct TimeVisitor;

    impl de::Visitor<'_> for TimeVisitor {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            // chrono's words, so a bad time is reported as before.
            f.write_str("an RFC 3339 formatted date and time string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            super::parse(v).map_err(E::custom)
        }
    }

    /// The same for an `Option<DateTime<Utc>>` (pair it with `#[serde(default)]`: a field with
    /// `with` is no longer optional by itself).
    pub mod option {
        use super::{DateTime, Utc};
        use ::serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            // serde's own `Option` handling around the one-time reader.
            #[derive(Deserialize)]
            struct Time(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Time>::deserialize(d)?.map(|t| t.0))
        }
    }
}

/// `#[serde(default, with = "…::utc_time::date_option")]` for an `Option<NaiveDate>`: the same
/// text and the same errors as chrono's own serde, faster.
pub mod date_option {
    use super::{NaiveDate, fmt};
    use ::serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_date(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        // serde's own `Option` handling around the one-date reader.
        #[derive(Deserialize)]
        struct Date(#[serde(deserialize_with = "date")] NaiveDate);
        Ok(Option::<Date>::deserialize(d)?.map(|t| t.0))
    }

    fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        d.deserialize_str(DateVisitor)
    }

    struct DateVisitor;

    impl de::Visitor<'_> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            // chrono's words, so a bad date is reported as before.
            f.write_str("a formatted date string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            super::parse_date(v).map_err(E::custom)
        }
    }
}

#[cfg(test)]
mod tests;
