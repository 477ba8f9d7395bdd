use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Fraction, format, format_date, parse, parse_date, parse_rfc3339};

/// Times across the fast path's years with each kind of fraction chrono's `AutoSi` tells apart,
/// and the edges outside it (leap second, year 10000, a negative year).
fn samples() -> Vec<DateTime<Utc>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let first = Utc
        .with_ymd_and_hms(0, 1, 1, 0, 0, 0)
        .single()
        .expect("year 0");
    let last = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .expect("year 9999");
    let mut out = Vec::new();
    for i in 0..4_000 {
        let secs = rng.random_range(first.timestamp()..=last.timestamp());
        let nanos = match i % 4 {
            0 => 0,
            1 => rng.random_range(0..1_000u32) * 1_000_000,
            2 => rng.random_range(0..1_000_000u32) * 1_000,
            _ => rng.random_range(0..1_000_000_000u32),
        };
        out.push(DateTime::from_timestamp(secs, nanos).expect("in range"));
    }
    let leap = Utc
        .with_ymd_and_hms(2016, 12, 31, 23, 59, 59)
        .single()
        .and_then(|t| t.with_nanosecond_checked(1_500_000_000))
        .expect("a leap second");
    out.push(leap);
    out.push(
        Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0)
            .single()
            .expect("year 10000"),
    );
    out.push(
        Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0)
            .single()
            .expect("year -1"),
    );
    out
}

trait NanosChecked: Sized {
    fn with_nanosecond_checked(self, n: u32) -> Option<Self>;
}

impl NanosChecked for DateTime<Utc> {
    fn with_nanosecond_checked(self, n: u32) -> Option<Self> {
        chrono::Timelike::with_nanosecond(&self, n)
    }
}

#[test]
fn utc_time_writes_exactly_what_chrono_writes() {
    for t in samples() {
        assert_eq!(
            format(&t, Fraction::Auto),
            t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "{t:?}"
        );
        assert_eq!(
            format(&t, Fraction::Nanos),
            t.to_rfc3339_opts(SecondsFormat::Nanos, true),
            "{t:?}"
        );
        let ours = serde_json::to_string(&Wrapped(t)).expect("serialize");
        assert_eq!(ours, serde_json::to_string(&t).expect("chrono"), "{t:?}");
    }
}

#[test]
fn utc_time_reads_back_what_it_writes() {
    for t in samples() {
        for fraction in [Fraction::Auto, Fraction::Nanos] {
            let text = format(&t, fraction);
            assert_eq!(parse(&text), Ok(t), "{text}");
            // Strict RFC 3339 has four-digit years only: there the answer is chrono's.
            let strict = DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc));
            assert_eq!(parse_rfc3339(&text), strict, "{text}");
            if (0..=9999).contains(&chrono::Datelike::year(&t)) {
                assert_eq!(strict, Ok(t), "{text}");
            }
        }
        let json = serde_json::to_string(&t).expect("chrono");
        let back: Wrapped = serde_json::from_str(&json).expect("ours reads chrono's");
        assert_eq!(back.0, t);
    }
}

/// Texts on and around the fast path's edges: each must mean what chrono says it means, or be
/// refused as chrono refuses it.
const ODD: &[&str] = &[
    "2025-03-01T09:00:00Z",
    "2025-03-01T09:00:00.5Z",
    "2025-03-01T09:00:00.123456789Z",
    "2025-03-01T09:00:00.1234567891Z",
    "2025-03-01T09:00:00.Z",
    "2025-03-01T09:00:00+08:00",
    "2025-03-01T09:00:00.25-03:30",
    "2025-03-01t09:00:00z",
    "2025-03-01 09:00:00Z",
    "2016-12-31T23:59:60Z",
    "2016-12-31T23:59:60.5Z",
    "2025-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "2025-13-01T00:00:00Z",
    "2025-00-10T00:00:00Z",
    "2025-03-01T24:00:00Z",
    "2025-03-01T23:60:00Z",
    "0000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "2025-3-01T09:00:00Z",
    "2025-03-01T09:00:0aZ",
    "2025-03-01T09:00:00",
    "2025-03-01T09:00:00ZZ",
    "２025-03-01T09:00:00Z",
    "",
    "Z",
];

#[test]
fn utc_time_agrees_with_chrono_on_odd_texts() {
    for s in ODD {
        let chrono_serde = s
            .parse::<DateTime<FixedOffset>>()
            .map(|t| t.with_timezone(&Utc));
        assert_eq!(parse(s), chrono_serde, "{s:?}");
        let chrono_strict = DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
        assert_eq!(parse_rfc3339(s), chrono_strict, "{s:?}");
        // Through serde the errors read the same as well.
        let json = serde_json::to_string(s).expect("a string");
        let ours = serde_json::from_str::<Wrapped>(&json).map(|w| w.0);
        let theirs = serde_json::from_str::<DateTime<Utc>>(&json);
        match (ours, theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{s:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{s:?}"),
            (a, b) => panic!("{s:?}: ours {a:?}, chrono {b:?}"),
        }
    }
}

#[test]
fn utc_time_refuses_what_is_not_a_time_string_as_chrono_does() {
    for json in ["5", "null", "{}", "[\"2025-03-01T09:00:00Z\"]"] {
        let ours = serde_json::from_str::<Wrapped>(json).map(|w| w.0);
        let theirs = serde_json::from_str::<DateTime<Utc>>(json);
        let (Err(a), Err(b)) = (ours, theirs) else {
            panic!("{json} was accepted");
        };
        assert_eq!(a.to_string(), b.to_string(), "{json}");
    }
}

#[test]
fn utc_time_option_is_null_or_a_time_and_missing_is_none() {
    let t = Utc
        .with_ymd_and_hms(2025, 3, 1, 9, 0, 0)
        .single()
        .expect("a time");
    for v in [Some(t), None] {
        let ours = serde_json::to_string(&MaybeWrapped { at: v }).expect("serialize");
        let theirs = serde_json::to_string(&MaybeChrono { at: v }).expect("chrono");
        assert_eq!(ours, theirs);
        let back: MaybeWrapped = serde_json::from_str(&ours).expect("read back");
        assert_eq!(back.at, v);
    }
    let missing: MaybeWrapped = serde_json::from_str("{}").expect("a missing time is None");
    assert_eq!(missing.at, None);
    let bad = serde_json::from_str::<MaybeWrapped>(r#"{"at":"2025-02-30T00:00:00Z"}"#)
        .expect_err("an impossible date");
    let chrono_bad = serde_json::from_str::<MaybeChrono>(r#"{"at":"2025-02-30T00:00:00Z"}"#)
        .expect_err("chrono refuses it too");
    assert_eq!(bad.to_string(), chrono_bad.to_string());
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Wrapped(#[serde(with = "super::serde")] DateTime<Utc>);

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MaybeWrapped {
    #[serde(default, with = "super::serde::option")]
    at: Option<DateTime<Utc>>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MaybeChrono {
    at: Option<DateTime<Utc>>,
}

fn dates() -> Vec<NaiveDate> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut out: Vec<NaiveDate> = (0..4_000)
        .filter_map(|_| NaiveDate::from_num_days_from_ce_opt(rng.random_range(1..=3_652_059)))
        .collect();
    out.extend(
        [
            (0, 1, 1),
            (9999, 12, 31),
            (10_000, 1, 1),
            (-1, 6, 1),
            (2024, 2, 29),
        ]
        .iter()
        .filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
    );
    out
}

#[test]
fn utc_time_dates_are_written_and_read_as_chrono_does() {
    let all = dates();
    assert!(all.len() > 3_900, "{}", all.len());
    for d in all {
        assert_eq!(format_date(d), d.to_string(), "{d:?}");
        let ours = serde_json::to_string(&MaybeDate { on: Some(d) }).expect("ours");
        let theirs = serde_json::to_string(&MaybeChronoDate { on: Some(d) }).expect("chrono");
        assert_eq!(ours, theirs);
        assert_eq!(parse_date(&format_date(d)), Ok(d));
        let back: MaybeDate = serde_json::from_str(&theirs).expect("ours reads chrono's");
        assert_eq!(back.on, Some(d));
    }
}

#[test]
fn utc_time_dates_agree_with_chrono_on_odd_texts() {
    let odd = [
        "2025-03-01",
        "2025-02-29",
        "2024-02-29",
        "2025-13-01",
        "2025-00-01",
        "2025-3-01",
        "2025-03-1",
        "+2025-03-01",
        "+12345-03-01",
        "2025-03-01T00:00:00Z",
        "2025/03/01",
        " 2025-03-01",
        "",
    ];
    for s in odd {
        assert_eq!(parse_date(s), s.parse::<NaiveDate>(), "{s:?}");
        let json = format!(
            r#"{{"on":{}}}"#,
            serde_json::to_string(s).expect("a string")
        );
        match (
            serde_json::from_str::<MaybeDate>(&json).map(|m| m.on),
            serde_json::from_str::<MaybeChronoDate>(&json).map(|m| m.on),
        ) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{s:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{s:?}"),
            (a, b) => panic!("{s:?}: ours {a:?}, chrono {b:?}"),
        }
    }
    for json in [r#"{}"#, r#"{"on":null}"#] {
        let ours: MaybeDate = serde_json::from_str(json).expect("no date is None");
        assert_eq!(ours.on, None, "{json}");
    }
    let bad = serde_json::from_str::<MaybeDate>(r#"{"on":5}"#).expect_err("a number");
    let chrono_bad = serde_json::from_str::<MaybeChronoDate>(r#"{"on":5}"#).expect_err("chrono");
    assert_eq!(bad.to_string(), chrono_bad.to_string());
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MaybeDate {
    #[serde(default, with = "super::date_option")]
    on: Option<NaiveDate>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MaybeChronoDate {
    on: Option<NaiveDate>,
}
