use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BuildingCode, Category, GpsFix, ItemId, PhotoRef, RecordId, WorkerId};

/// The result of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    Pass,
    Fail,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistResult {
    pub item: ItemId,
    /// Copied from the catalog at capture so a result stays groupable if the catalog changes.
    pub category: Category,
    pub outcome: ItemOutcome,
}

/// A door-to-door inspection (巡查) of one building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub id: RecordId,
    pub building: BuildingCode,
    pub worker: WorkerId,
    #[serde(with = "crate::domain::utc_time::serde")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "crate::domain::utc_time::serde")]
    pub finished_at: DateTime<Utc>,
    pub fix: GpsFix,
    pub results: Vec<ChecklistResult>,
    pub findings: Vec<String>,
    pub photos: Vec<PhotoRef>,
    pub note: String,
    /// When this report corrects one a supervisor sent back, the original's id.
    pub corrects: Option<RecordId>,
}

impl Inspection {
    /// Results grouped by the four categories, in category order.
    pub fn results_by_category(&self) -> BTreeMap<Category, Vec<&ChecklistResult>> {
        let mut m: BTreeMap<Category, Vec<&ChecklistResult>> = BTreeMap::new();
        for r in &self.results {
            m.entry(r.category).or_default().push(r);
        }
        m
    }
}
