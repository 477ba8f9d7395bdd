//! `gridwalk-server demo`: an embedded server over the synthetic district with one account per
//! role.
//!
//! The district comes from `gridwalk_core::synth`, the one generator the tests and benchmarks use:
//! [`DistrictSpec::small`] by default (430 buildings in 12 grids, loads in about a second), or
//! [`DistrictSpec::baoan`] (Bao'an at 4,833 grids and 175,700 buildings) with `--full`.
//!
//! What the demo loads: the grids, and the buildings with their archive state as the generator
//! leaves it after its history (stars and category scores, open hazards, blacklist, last
//! inspection, next due date). What it does not: the past inspections and events themselves. The
//! server keeps field records only as devices' push log (each under a device and its sequence); it
//! has no archive of past records yet, so the demo asks the generator for none.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use gridwalk_core::Grid;
use gridwalk_core::protocol::{Role, Scope};
use gridwalk_core::synth::{self, District, DistrictSpec, SynthError};

use crate::auth::{self, AuthError, Passwords};
use crate::db::{Database, DbError, ImportSummary};

/// The demo's district: small or Bao'an at full size, "as of" `today` (so due dates and
/// overdue visits are relative to the day the demo runs), without past records.
pub fn demo_spec(seed: u64, full: bool, today: NaiveDate) -> DistrictSpec {
    let mut spec = if full {
        DistrictSpec::baoan(seed)
    } else {
        DistrictSpec::small(seed)
    };
    spec.today = today;
    // The buildings do not depend on it (see `synth`); the server has nowhere to keep them yet.
    spec.history_per_building = 0.0;
    spec
}

/// Generates the demo district (seconds for the full one; run it off the async runtime).
pub fn demo_district(spec: &DistrictSpec) -> Result<District, SynthError> {
    synth::generate_default(spec)
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot generate the demo district: {0}")]
    Synth(#[from] SynthError),
    #[error("the demo district is empty")]
    Empty,
}

/// A demo login, printed for the person trying the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub scope: Scope,
}

pub const DEMO_PASSWORD: &str = "gridwalk-demo";

/// One account per role: the first grid's worker, its community's officer, its street's
/// supervisor, and a district admin.
pub fn demo_accounts(grids: &[Grid]) -> Vec<DemoAccount> {
    let Some(g) = grids.first() else {
        return Vec::new();
    };
    let account = |username: &str, role, scope| DemoAccount {
        username: username.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        role,
        scope,
    };
    vec![
        account("demo-worker", Role::Worker, Scope::Grid(g.id.clone())),
        account(
            "demo-officer",
            Role::Officer,
            Scope::Community(g.community.clone()),
        ),
        account(
            "demo-supervisor",
            Role::Supervisor,
            Scope::Street(g.street.clone()),
        ),
        account("demo-admin", Role::Admin, Scope::District),
    ]
}

/// Migrates, loads the district (idempotent: a re-run changes nothing, and buildings already
/// loaded keep their archive state) and creates the accounts that do not exist yet.
pub async fn prepare<D: Database>(
    db: &D,
    passwords: Arc<Passwords>,
    seed: u64,
    full: bool,
) -> Result<(ImportSummary, Vec<DemoAccount>), DemoError> {
    db.migrate().await?;
    let spec = demo_spec(seed, full, Utc::now().date_naive());
    let district = tokio::task::spawn_blocking(move || demo_district(&spec))
        .await
        .map_err(|e| DbError::Task(e.to_string()))??;
    if district.grids.is_empty() {
        return Err(DemoError::Empty);
    }
    let accounts = demo_accounts(&district.grids);
    db.upsert_grids(district.grids).await?;
    let summary = db.import_buildings(district.buildings, false).await?;
    for a in &accounts {
        match auth::add_user(
            db,
            passwords.clone(),
            &a.username,
            a.password.clone(),
            a.role,
            a.scope.clone(),
        )
        .await
        {
            Ok(()) | Err(AuthError::Db(DbError::UserExists(_))) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((summary, accounts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 4).expect("date")
    }

    #[test]
    fn the_demo_is_the_generators_district_as_of_today() {
        let full = demo_spec(7, true, day());
        assert_eq!((full.grids, full.buildings), (4_833, 175_700));
        assert_eq!(
            full,
            DistrictSpec {
                today: day(),
                history_per_building: 0.0,
                ..DistrictSpec::baoan(7)
            }
        );

        let spec = demo_spec(7, false, day());
        let d = demo_district(&spec).expect("generate");
        assert_eq!((d.grids.len(), d.buildings.len()), (12, 430));
        assert!(
            d.inspections.is_empty(),
            "no past records: the server cannot hold them"
        );
        // The same buildings as the generator's small district of that seed.
        let reference = synth::generate_default(&DistrictSpec {
            today: day(),
            ..DistrictSpec::small(7)
        })
        .expect("generate");
        assert_eq!(d.buildings, reference.buildings);
        assert_eq!(d.grids, reference.grids);
        // Rated like a district: stars and due dates come from the generator.
        assert!(d.buildings.iter().any(|b| b.stars.is_some()));
        assert!(d.buildings.iter().all(|b| b.next_due_on.is_some()));
        let other = demo_district(&demo_spec(8, false, day())).expect("generate");
        assert_ne!(
            d.buildings, other.buildings,
            "another seed, another district"
        );
    }

    #[test]
    fn one_account_per_role_around_the_first_grid() {
        let d = demo_district(&demo_spec(1, false, day())).expect("generate");
        let accounts = demo_accounts(&d.grids);
        let g = &d.grids[0];
        let got: Vec<(Role, Scope)> = accounts.iter().map(|a| (a.role, a.scope.clone())).collect();
        assert_eq!(
            got,
            [
                (Role::Worker, Scope::Grid(g.id.clone())),
                (Role::Officer, Scope::Community(g.community.clone())),
                (Role::Supervisor, Scope::Street(g.street.clone())),
                (Role::Admin, Scope::District),
            ]
        );
        assert!(demo_accounts(&[]).is_empty());
    }
}
