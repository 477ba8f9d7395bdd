//! The catalog: checklist items per category, the 21 micro-event kinds (微小事件), event categories and
//! the departments that handle them (自动分拨). Versioned data: the default ships in
//! `core/data/catalog.json`; the server may replace it with a newer version.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Category, ChecklistResult, DepartmentId, Event, EventKind, Inspection, ItemId, ValidationError,
};

const DEFAULT_CATALOG_JSON: &str = include_str!("../data/catalog.json");

/// A label in the two languages the district works in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub zh_cn: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub id: ItemId,
    pub category: Category,
    /// Relative weight of the item within its category.
    pub weight: f64,
    pub label: Label,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroEventKind {
    pub id: ItemId,
    pub label: Label,
    /// Event category (and so the handling department).
    pub category: ItemId,
    /// Default rectification deadline, in days from the report.
    pub deadline_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCategory {
    pub id: ItemId,
    pub label: Label,
    pub department: DepartmentId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub label: Label,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub version: u32,
    pub checklist: Vec<ChecklistItem>,
    pub micro_event_kinds: Vec<MicroEventKind>,
    pub event_categories: Vec<EventCategory>,
    pub departments: Vec<Department>,
}

/// Why a catalog document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON for the catalog schema: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("catalog id '{0}' is defined twice")]
    DuplicateId(String),
    #[error("catalog '{from}' refers to unknown {what} '{to}'")]
    DanglingReference {
        from: String,
        what: &'static str,
        to: String,
    },
    #[error("checklist item '{0}' has a weight that is not a positive number")]
    BadWeight(String),
    #[error("category {0:?} has no checklist items")]
    EmptyCategory(Category),
}

impl Catalog {
    /// The catalog shipped with the app.
    pub fn default_catalog() -> Result<Self, CatalogError> {
        Self::from_json(DEFAULT_CATALOG_JSON)
    }

    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let c: Catalog = serde_json::from_str(json)?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let mut seen = std::collections::HashSet::new();
        let ids = self
            .checklist
            .iter()
            .map(|i| &i.id.0)
            .chain(self.micro_event_kinds.iter().map(|k| &k.id.0))
            .chain(self.event_categories.iter().map(|c| &c.id.0))
            .chain(self.departments.iter().map(|d| &d.id.0));
        for id in ids {
            if !seen.insert(id.as_str()) {
                return Err(CatalogError::DuplicateId(id.clone()));
            }
        }
        for i in &self.checklist {
            if !i.weight.is_finite() || i.weight <= 0.0 {
                return Err(CatalogError::BadWeight(i.id.0.clone()));
            }
        }
        for c in Category::ALL {
            if !self.checklist.iter().any(|i| i.category == c) {
                return Err(CatalogError::EmptyCategory(c));
            }
        }
        for c in &self.event_categories {
            if !self.departments.iter().any(|d| d.id == c.department) {
                return Err(CatalogError::DanglingReference {
                    from: c.id.0.clone(),
                    what: "department",
                    to: c.department.0.clone(),
                });
            }
        }
        for k in &self.micro_event_kinds {
            if self.event_category(&k.category).is_none() {
                return Err(CatalogError::DanglingReference {
                    from: k.id.0.clone(),
                    what: "event category",
                    to: k.category.0.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn checklist_item(&self, id: &ItemId) -> Option<&ChecklistItem> {
        self.checklist.iter().find(|i| &i.id == id)
    }

    pub fn micro_event_kind(&self, id: &ItemId) -> Option<&MicroEventKind> {
        self.micro_event_kinds.iter().find(|k| &k.id == id)
    }

    pub fn event_category(&self, id: &ItemId) -> Option<&EventCategory> {
        self.event_categories.iter().find(|c| &c.id == id)
    }

    /// The department an event category is dispatched to.
    pub fn department_for(&self, category: &ItemId) -> Option<&Department> {
        let c = self.event_category(category)?;
        self.departments.iter().find(|d| d.id == c.department)
    }

    /// Checklist results must name known items, once each, with the item's category.
    pub fn check_results(&self, results: &[ChecklistResult]) -> Result<(), ValidationError> {
        let mut seen: HashMap<&str, ()> = HashMap::with_capacity(results.len());
        for r in results {
            let item = self
                .checklist_item(&r.item)
                .ok_or_else(|| ValidationError::UnknownChecklistItem(r.item.0.clone()))?;
            if item.category != r.category {
                return Err(ValidationError::UnknownChecklistItem(format!(
                    "{} in category {}",
                    r.item.0,
                    r.category.as_str()
                )));
            }
            if seen.insert(r.item.as_str(), ()).is_some() {
                return Err(ValidationError::DuplicateChecklistItem(r.item.0.clone()));
            }
        }
        Ok(())
    }

    pub fn check_inspection(&self, i: &Inspection) -> Result<(), ValidationError> {
        self.check_results(&i.results)
    }

    /// Event category and micro-event kind must exist; a micro-event needs a notice.
    pub fn check_event(&self, e: &Event) -> Result<(), ValidationError> {
        if self.event_category(&e.category).is_none() {
            return Err(ValidationError::UnknownEventCategory(e.category.0.clone()));
        }
        if let EventKind::MicroEvent { kind } = &e.kind {
            if self.micro_event_kind(kind).is_none() {
                return Err(ValidationError::UnknownMicroEventKind(kind.0.clone()));
            }
            match &e.notice {
                Some(n) if !n.recipients.is_empty() => {}
                _ => return Err(ValidationError::MicroEventWithoutNotice),
            }
        }
        if let Some(n) = &e.notice {
            let reported = e.reported_at.date_naive();
            if n.deadline < reported {
                return Err(ValidationError::DeadlineBeforeReport {
                    deadline: n.deadline,
                    reported,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_is_complete() {
        let c = Catalog::default_catalog().expect("shipped catalog parses");
        assert_eq!(
            c.micro_event_kinds.len(),
            21,
            "the source names 21 micro-event kinds"
        );
        for cat in Category::ALL {
            assert!(c.checklist.iter().filter(|i| i.category == cat).count() >= 4);
        }
        for k in &c.micro_event_kinds {
            assert!(
                c.department_for(&k.category).is_some(),
                "{} has a department",
                k.id
            );
            assert!(!k.label.zh_cn.is_empty() && !k.label.en.is_empty());
        }
    }

    #[test]
    fn rejects_dangling_and_duplicate_ids() {
        let mut c = Catalog::default_catalog().expect("parses");
        c.event_categories[0].department = DepartmentId::from("nowhere");
        let json = serde_json::to_string(&c).expect("serializes");
        assert!(matches!(
            Catalog::from_json(&json),
            Err(CatalogError::DanglingReference {
                what: "department",
                ..
            })
        ));

        let mut c = Catalog::default_catalog().expect("parses");
        let dup = c.checklist[0].clone();
        c.checklist.push(dup);
        let json = serde_json::to_string(&c).expect("serializes");
        assert!(matches!(
            Catalog::from_json(&json),
            Err(CatalogError::DuplicateId(_))
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = Catalog::from_json(
            r#"{"version":1,"checklist":[],"micro_event_kinds":[],"event_categories":[],"departments":[],"extra":1}"#,
        );
        assert!(matches!(err, Err(CatalogError::Parse(_))));
    }
}
