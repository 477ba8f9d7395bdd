//! Reading a [`Change`] without serde's buffering of internally tagged enums.
//!
//! The derived reader of a `#[serde(tag = "type")]` enum first copies the whole object into an
//! untyped buffer, then reads the variant from the buffer: for a pull page of 5,000 buildings that
//! was a third of the phone's parse time. This reader takes each field straight into its type once
//! the tag is known (the server writes `type` first). A field that comes before the tag is kept as
//! a JSON value and converted when the tag arrives. The wire form and what is accepted are the
//! derived reader's: unknown fields are ignored (a response type), missing ones are errors.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::RatingEntry;
use super::pull::{Change, ReviewOutcome, TombstoneReason};
use crate::domain::{Building, BuildingCode};

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Building,
    Tombstone,
    Review,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Type,
    Building,
    Rating,
    Code,
    Reason,
    Outcome,
    #[serde(other)]
    Other,
}

/// The fields of every variant, filled as they are read.
#[derive(Default)]
struct Slots {
    building: Option<Box<Building>>,
    /// Present and `null` reads as no rating, as with a derived `Option` field.
    rating: Option<Option<Box<RatingEntry>>>,
    code: Option<BuildingCode>,
    reason: Option<TombstoneReason>,
    outcome: Option<ReviewOutcome>,
}

impl Slots {
    /// Whether `field` belongs to the variant `kind` (others are ignored, as unknown fields are).
    fn wants(kind: &Kind, field: &Field) -> bool {
        matches!(
            (kind, field),
            (Kind::Building, Field::Building | Field::Rating)
                | (Kind::Tombstone, Field::Code | Field::Reason)
                | (Kind::Review, Field::Outcome)
        )
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, field: &Field, map: &mut A) -> Result<(), A::Error> {
        match field {
            Field::Building => put(&mut self.building, map.next_value()?, "building"),
            Field::Rating => put(&mut self.rating, map.next_value()?, "rating"),
            Field::Code => put(&mut self.code, map.next_value()?, "code"),
            Field::Reason => put(&mut self.reason, map.next_value()?, "reason"),
            Field::Outcome => put(&mut self.outcome, map.next_value()?, "outcome"),
            Field::Type | Field::Other => map.next_value::<IgnoredAny>().map(drop),
        }
    }

    fn take_value<E: de::Error>(&mut self, field: &Field, v: Value) -> Result<(), E> {
        fn conv<T: DeserializeOwned, E: de::Error>(v: Value) -> Result<T, E> {
            T::deserialize(v).map_err(E::custom)
        }
        match field {
            Field::Building => put(&mut self.building, conv(v)?, "building"),
            Field::Rating => put(&mut self.rating, conv(v)?, "rating"),
            Field::Code => put(&mut self.code, conv(v)?, "code"),
            Field::Reason => put(&mut self.reason, conv(v)?, "reason"),
            Field::Outcome => put(&mut self.outcome, conv(v)?, "outcome"),
            Field::Type | Field::Other => Ok(()),
        }
    }

    fn into_change<E: de::Error>(self, kind: Kind) -> Result<Change, E> {
        Ok(match kind {
            Kind::Building => Change::Building {
                building: self.building.ok_or_else(|| E::missing_field("building"))?,
                // Optional: older servers send none.
                rating: self.rating.flatten(),
            },
            Kind::Tombstone => Change::Tombstone {
                code: self.code.ok_or_else(|| E::missing_field("code"))?,
                reason: self.reason.ok_or_else(|| E::missing_field("reason"))?,
            },
            Kind::Review => Change::Review {
                outcome: self.outcome.ok_or_else(|| E::missing_field("outcome"))?,
            },
        })
    }
}

fn put<T, E: de::Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(v);
    Ok(())
}

struct ChangeVisitor;

impl<'de> Visitor<'de> for ChangeVisitor {
    type Value = Change;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a change object with a `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Change, A::Error> {
        let mut kind: Option<Kind> = None;
        let mut slots = Slots::default();
        // Fields met before the tag, as JSON, until the tag says what they are.
        let mut early: Vec<(Field, Value)> = Vec::new();
        while let Some(field) = map.next_key::<Field>()? {
            match (&field, &kind) {
                (Field::Type, None) => {
                    let k: Kind = map.next_value()?;
                    for (f, v) in early.drain(..) {
                        if Slots::wants(&k, &f) {
                            slots.take_value(&f, v)?;
                        }
                    }
                    kind = Some(k);
                }
                (Field::Type, Some(_)) => return Err(de::Error::duplicate_field("type")),
                (Field::Other, _) => {
                    map.next_value::<IgnoredAny>()?;
                }
                (_, Some(k)) if Slots::wants(k, &field) => slots.read(&field, &mut map)?,
                (_, Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                (_, None) => {
                    let v: Value = map.next_value()?;
                    early.push((field, v));
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        slots.into_change(kind)
    }
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ChangeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RecordId, WorkerId};
    use serde_json::json;

    fn code() -> BuildingCode {
        BuildingCode::parse("4403060010010010000000001").expect("valid")
    }

    fn review() -> Change {
        Change::Review {
            outcome: ReviewOutcome {
                record: RecordId::new(),
                decision: super::super::ReviewDecision::SentBack,
                comment: "photo of the extinguisher missing".into(),
                reviewer: WorkerId::from("supervisor-S01"),
                reviewed_at: chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("valid"),
            },
        }
    }

    #[test]
    fn every_variant_reads_back_what_it_writes() {
        let tomb = Change::Tombstone {
            code: code(),
            reason: TombstoneReason::Removed,
        };
        let b = crate::testkit::building(3, Some(4));
        let rating = crate::rating::rate_building(
            &b,
            &[],
            &[],
            None,
            &crate::testkit::catalog(),
            &crate::testkit::policy(),
            crate::testkit::day(2025, 3, 1),
        );
        let rated = Change::Building {
            building: Box::new(b.clone()),
            rating: Some(Box::new(RatingEntry {
                rated_at: crate::testkit::morning(crate::testkit::day(2025, 3, 1)),
                rating,
            })),
        };
        let unrated = Change::Building {
            building: Box::new(b),
            rating: None,
        };
        for c in [rated, unrated.clone(), tomb, review()] {
            let text = serde_json::to_string(&c).expect("serializes");
            assert_eq!(serde_json::from_str::<Change>(&text).expect("parses"), c);
        }
        // An explicit null rating is no rating.
        let mut v = serde_json::to_value(&unrated).expect("json");
        v["rating"] = Value::Null;
        assert_eq!(
            serde_json::from_value::<Change>(v).expect("parses"),
            unrated
        );
    }

    #[test]
    fn the_tag_may_come_last_and_unknown_or_foreign_fields_are_ignored() {
        let v = json!({"reason": "reassigned", "added_later": [1, 2], "outcome": 7,
                       "code": "4403060010010010000000001", "type": "tombstone"});
        assert_eq!(
            serde_json::from_value::<Change>(v).expect("parses"),
            Change::Tombstone {
                code: code(),
                reason: TombstoneReason::Reassigned
            }
        );
        let v = json!({"type": "tombstone", "outcome": "not an outcome", "extra": {},
                       "code": "4403060010010010000000001", "reason": "removed"});
        assert!(serde_json::from_value::<Change>(v).is_ok());
    }

    #[test]
    fn missing_duplicate_and_unknown_tags_are_errors() {
        let e = serde_json::from_str::<Change>(r#"{"code":"4403060010010010000000001"}"#)
            .expect_err("no tag");
        assert!(e.to_string().contains("missing field `type`"), "{e}");
        let e = serde_json::from_str::<Change>(r#"{"type":"tombstone","reason":"removed"}"#)
            .expect_err("no code");
        assert!(e.to_string().contains("missing field `code`"), "{e}");
        let e = serde_json::from_str::<Change>(r#"{"type":"gossip"}"#).expect_err("unknown");
        assert!(e.to_string().contains("unknown variant `gossip`"), "{e}");
        let e = serde_json::from_str::<Change>(
            r#"{"type":"tombstone","type":"review","code":"4403060010010010000000001","reason":"removed"}"#,
        )
        .expect_err("two tags");
        assert!(e.to_string().contains("duplicate field `type`"), "{e}");
        let e = serde_json::from_str::<Change>(r#"{"type":"tombstone","code":"44"}"#)
            .expect_err("bad code");
        assert!(!e.to_string().is_empty());
    }
}
