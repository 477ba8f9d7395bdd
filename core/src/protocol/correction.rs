use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{
    Building, BuildingCode, BuildingUse, Contact, GeoPoint, GpsFix, PhotoRef, RecordId, WorkerId,
};

/// A building field a worker may correct from the field (信息核实: door-to-door verification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingField {
    Address,
    Location,
    Floors,
    Units,
    Usage,
    Owner,
    Manager,
    BuildingHead,
}

impl BuildingField {
    pub const ALL: [BuildingField; 8] = [
        BuildingField::Address,
        BuildingField::Location,
        BuildingField::Floors,
        BuildingField::Units,
        BuildingField::Usage,
        BuildingField::Owner,
        BuildingField::Manager,
        BuildingField::BuildingHead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildingField::Address => "address",
            BuildingField::Location => "location",
            BuildingField::Floors => "floors",
            BuildingField::Units => "units",
            BuildingField::Usage => "usage",
            BuildingField::Owner => "owner",
            BuildingField::Manager => "manager",
            BuildingField::BuildingHead => "building_head",
        }
    }

    pub fn parse(s: &str) -> Option<BuildingField> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The field's current value in a building, in its wire (JSON) form.
    pub fn value_in(self, b: &Building) -> Value {
        match self {
            BuildingField::Address => to_value(&b.address),
            BuildingField::Location => to_value(&b.location),
            BuildingField::Floors => to_value(&b.floors),
            BuildingField::Units => to_value(&b.units),
            BuildingField::Usage => to_value(&b.usage),
            BuildingField::Owner => to_value(&b.owner),
            BuildingField::Manager => to_value(&b.manager),
            BuildingField::BuildingHead => to_value(&b.building_head),
        }
    }
}

// These types serialize infallibly (no maps with non-string keys, no failing Serialize impls).
fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One field's proposed new value together with the value the device saw before changing it.
///
/// `seen` is what makes concurrent corrections detectable: a correction applies only while the
/// building still has the value the worker saw; otherwise it becomes a conflict for review.
/// Wire form: `{"field": "floors", "seen": 6, "value": 7}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldChange {
    Address {
        seen: String,
        value: String,
    },
    Location {
        seen: GeoPoint,
        value: GeoPoint,
    },
    Floors {
        seen: u16,
        value: u16,
    },
    Units {
        seen: u32,
        value: u32,
    },
    Usage {
        seen: BuildingUse,
        value: BuildingUse,
    },
    Owner {
        seen: Contact,
        value: Contact,
    },
    Manager {
        seen: Option<Contact>,
        value: Option<Contact>,
    },
    BuildingHead {
        seen: Option<Contact>,
        value: Option<Contact>,
    },
}

impl FieldChange {
    pub fn field(&self) -> BuildingField {
        match self {
            FieldChange::Address { .. } => BuildingField::Address,
            FieldChange::Location { .. } => BuildingField::Location,
            FieldChange::Floors { .. } => BuildingField::Floors,
            FieldChange::Units { .. } => BuildingField::Units,
            FieldChange::Usage { .. } => BuildingField::Usage,
            FieldChange::Owner { .. } => BuildingField::Owner,
            FieldChange::Manager { .. } => BuildingField::Manager,
            FieldChange::BuildingHead { .. } => BuildingField::BuildingHead,
        }
    }

    pub fn seen_value(&self) -> Value {
        match self {
            FieldChange::Address { seen, .. } => to_value(seen),
            FieldChange::Location { seen, .. } => to_value(seen),
            FieldChange::Floors { seen, .. } => to_value(seen),
            FieldChange::Units { seen, .. } => to_value(seen),
            FieldChange::Usage { seen, .. } => to_value(seen),
            FieldChange::Owner { seen, .. } => to_value(seen),
            FieldChange::Manager { seen, .. } => to_value(seen),
            FieldChange::BuildingHead { seen, .. } => to_value(seen),
        }
    }

    pub fn proposed_value(&self) -> Value {
        match self {
            FieldChange::Address { value, .. } => to_value(value),
            FieldChange::Location { value, .. } => to_value(value),
            FieldChange::Floors { value, .. } => to_value(value),
            FieldChange::Units { value, .. } => to_value(value),
            FieldChange::Usage { value, .. } => to_value(value),
            FieldChange::Owner { value, .. } => to_value(value),
            FieldChange::Manager { value, .. } => to_value(value),
            FieldChange::BuildingHead { value, .. } => to_value(value),
        }
    }

    /// Whether the building still shows the value the device saw.
    pub fn seen_matches(&self, b: &Building) -> bool {
        self.field().value_in(b) == self.seen_value()
    }

    /// Whether the building already has the proposed value.
    pub fn already_applied(&self, b: &Building) -> bool {
        self.field().value_in(b) == self.proposed_value()
    }

    /// Writes the proposed value into the building.
    pub fn apply_to(&self, b: &mut Building) {
        match self {
            FieldChange::Address { value, .. } => b.address = value.clone(),
            FieldChange::Location { value, .. } => b.location = *value,
            FieldChange::Floors { value, .. } => b.floors = *value,
            FieldChange::Units { value, .. } => b.units = *value,
            FieldChange::Usage { value, .. } => b.usage = *value,
            FieldChange::Owner { value, .. } => b.owner = value.clone(),
            FieldChange::Manager { value, .. } => b.manager = value.clone(),
            FieldChange::BuildingHead { value, .. } => b.building_head = value.clone(),
        }
    }

    /// Coordinates in a location change, for range checks.
    pub fn points(&self) -> Option<[&GeoPoint; 2]> {
        match self {
            FieldChange::Location { seen, value } => Some([seen, value]),
            _ => None,
        }
    }
}

/// A worker's correction of one field of a building's file (一楼一档), found on a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingCorrection {
    pub id: RecordId,
    pub building: BuildingCode,
    pub worker: WorkerId,
    pub change: FieldChange,
    /// Device time of the observation (informational only: ordering uses server sequence numbers).
    pub observed_at: DateTime<Utc>,
    pub fix: Option<GpsFix>,
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    #[serde(default)]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_field_seen_value() {
        let c: FieldChange =
            serde_json::from_str(r#"{"field":"floors","seen":6,"value":7}"#).expect("parses");
        assert_eq!(c, FieldChange::Floors { seen: 6, value: 7 });
        assert_eq!(c.field(), BuildingField::Floors);
        assert_eq!(c.seen_value(), serde_json::json!(6));
        assert_eq!(c.proposed_value(), serde_json::json!(7));

        let wrong_type =
            serde_json::from_str::<FieldChange>(r#"{"field":"floors","seen":"6","value":7}"#);
        assert!(wrong_type.is_err());
        let unknown_field =
            serde_json::from_str::<FieldChange>(r#"{"field":"storeys","seen":6,"value":7}"#);
        assert!(unknown_field.is_err());
        let extra = serde_json::from_str::<FieldChange>(
            r#"{"field":"floors","seen":6,"value":7,"colour":"red"}"#,
        );
        assert!(extra.is_err(), "unknown keys are refused");
    }

    #[test]
    fn field_names_round_trip() {
        for f in BuildingField::ALL {
            assert_eq!(BuildingField::parse(f.as_str()), Some(f));
            let json = serde_json::to_string(&f).expect("serializes");
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
    }
}
