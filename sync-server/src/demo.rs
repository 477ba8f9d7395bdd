//! `gridwalk-server demo`: an embedded server over a synthetic district with one account per role.
//!
//! The district comes from [`demo_district`], the single seam the lead wires to the synthetic
//! district generator (`gridwalk_core::synth`, written in parallel). Until then it uses the
//! deterministic lattice of [`crate::fixtures::district`], with seeded star ratings.

use std::sync::Arc;

use gridwalk_core::protocol::{Role, Scope};
use gridwalk_core::{Building, Grid, Stars};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::{self, AuthError, Passwords};
use crate::db::{Database, DbError, ImportSummary};
use crate::fixtures::{self, DistrictShape};

/// Bao'an's published scale (the full demo reproduces it).
pub const FULL_GRIDS: usize = 4_833;
pub const FULL_BUILDINGS: usize = 175_700;

/// TO BE WIRED TO `gridwalk_core::synth`: the demo district for a seed, small (seconds to load)
/// or full (4,833 grids, 175,700 buildings).
pub fn demo_district(seed: u64, full: bool) -> (Vec<Grid>, Vec<Building>) {
    let (mut grids, mut buildings) = if full {
        fixtures::district(DistrictShape {
            streets: 10,
            communities_per_street: 10,
            grids_per_community: 49,
            buildings_per_grid: 37,
        })
    } else {
        fixtures::district(DistrictShape::SMALL)
    };
    if full {
        grids.truncate(FULL_GRIDS);
        let kept: std::collections::HashSet<_> = grids.iter().map(|g| g.id.clone()).collect();
        buildings.retain(|b| kept.contains(&b.grid));
        buildings.truncate(FULL_BUILDINGS);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for b in &mut buildings {
        // Mostly rated, a few unrated, skewed to the middle like a real district.
        b.stars = match rng.random_range(0..20u8) {
            0 => None,
            1..=2 => Stars::new(1).ok(),
            3..=6 => Stars::new(2).ok(),
            7..=12 => Stars::new(3).ok(),
            13..=17 => Stars::new(4).ok(),
            _ => Stars::new(5).ok(),
        };
    }
    (grids, buildings)
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Auth(#[from] AuthError),
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

/// Migrates, loads the district (idempotent: a re-run changes nothing) and creates the accounts
/// that do not exist yet.
pub async fn prepare<D: Database>(
    db: &D,
    passwords: Arc<Passwords>,
    seed: u64,
    full: bool,
) -> Result<(ImportSummary, Vec<DemoAccount>), DemoError> {
    db.migrate().await?;
    let (grids, buildings) = tokio::task::spawn_blocking(move || demo_district(seed, full))
        .await
        .map_err(|e| DbError::Task(e.to_string()))?;
    if grids.is_empty() {
        return Err(DemoError::Empty);
    }
    let accounts = demo_accounts(&grids);
    db.upsert_grids(grids).await?;
    let summary = db.import_buildings(buildings, false).await?;
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

    #[test]
    fn full_district_has_baoans_scale_and_seeds_repeat() {
        let (grids, buildings) = demo_district(7, true);
        assert_eq!(grids.len(), FULL_GRIDS);
        assert_eq!(buildings.len(), FULL_BUILDINGS);
        let (_, again) = demo_district(7, false);
        let (_, same) = demo_district(7, false);
        assert_eq!(again, same);
        let (_, other) = demo_district(8, false);
        assert_ne!(again, other, "another seed rates differently");
        assert_eq!(demo_accounts(&grids).len(), 4);
    }
}
