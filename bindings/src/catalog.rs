//! The shipped catalog: checklist items per category, the 21 micro-event kinds (微小事件), event
//! categories and the departments they are dispatched to (自动分拨).

use gridwalk_core as core;

use crate::GridwalkError;

/// A label in the two languages the district works in.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Label {
    pub zh_cn: String,
    pub en: String,
}

impl From<core::catalog::Label> for Label {
    fn from(l: core::catalog::Label) -> Self {
        Self {
            zh_cn: l.zh_cn,
            en: l.en,
        }
    }
}

/// The four categories a building's credit is judged on (星级评价四类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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

impl From<core::Category> for Category {
    fn from(c: core::Category) -> Self {
        match c {
            core::Category::SafetyLivability => Self::SafetyLivability,
            core::Category::Management => Self::Management,
            core::Category::HonestyCredit => Self::HonestyCredit,
            core::Category::CivilityHygiene => Self::CivilityHygiene,
        }
    }
}

impl From<Category> for core::Category {
    fn from(c: Category) -> Self {
        match c {
            Category::SafetyLivability => Self::SafetyLivability,
            Category::Management => Self::Management,
            Category::HonestyCredit => Self::HonestyCredit,
            Category::CivilityHygiene => Self::CivilityHygiene,
        }
    }
}

/// One item of the inspection checklist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub category: Category,
    /// Relative weight within its category.
    pub weight: f64,
    pub label: Label,
}

/// A micro-event kind: pushed as a notice with a deadline instead of an enforcement case.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MicroEventKind {
    pub id: String,
    pub label: Label,
    /// The event category (and so the handling department).
    pub category: String,
    /// Default rectification deadline, in days from the report.
    pub deadline_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EventCategory {
    pub id: String,
    pub label: Label,
    pub department: String,
}

/// A handling department (处置部门).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Department {
    pub id: String,
    pub label: Label,
}

/// The versioned catalog.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Catalog {
    pub version: u32,
    pub checklist: Vec<ChecklistItem>,
    pub micro_event_kinds: Vec<MicroEventKind>,
    pub event_categories: Vec<EventCategory>,
    pub departments: Vec<Department>,
}

impl From<core::Catalog> for Catalog {
    fn from(c: core::Catalog) -> Self {
        Self {
            version: c.version,
            checklist: c
                .checklist
                .into_iter()
                .map(|i| ChecklistItem {
                    id: i.id.0,
                    category: i.category.into(),
                    weight: i.weight,
                    label: i.label.into(),
                })
                .collect(),
            micro_event_kinds: c
                .micro_event_kinds
                .into_iter()
                .map(|k| MicroEventKind {
                    id: k.id.0,
                    label: k.label.into(),
                    category: k.category.0,
                    deadline_days: k.deadline_days,
                })
                .collect(),
            event_categories: c
                .event_categories
                .into_iter()
                .map(|e| EventCategory {
                    id: e.id.0,
                    label: e.label.into(),
                    department: e.department.0,
                })
                .collect(),
            departments: c
                .departments
                .into_iter()
                .map(|d| Department {
                    id: d.id.0,
                    label: d.label.into(),
                })
                .collect(),
        }
    }
}

/// The catalog shipped with the app.
#[uniffi::export]
pub fn default_catalog() -> Result<Catalog, GridwalkError> {
    Ok(core::Catalog::default_catalog()?.into())
}
