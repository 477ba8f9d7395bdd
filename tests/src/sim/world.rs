//! The simulated district and the server's data: grids and buildings from the synthetic generator,
//! one worker account per grid, on SQLite (a data directory) or PostgreSQL (a fresh schema on the
//! server `GRIDWALK_TEST_PG_URL` names).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use gridwalk_core::protocol::{Role, Scope};
use gridwalk_core::synth::{self, DistrictSpec};
use gridwalk_core::{Building, Grid, WorkerId};
use gridwalk_server::auth::Passwords;
use gridwalk_server::config::PasswordHashParams;
use gridwalk_server::db::{self, Database, NewUser};
use gridwalk_server::fixtures::DistrictShape;
use serde::{Deserialize, Serialize};

use super::{PG_ENV, SIM_PASSWORD, SimError, SimResult};

/// The storage engine the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Cheap password hashes: the simulation measures sync, not argon2 (a login verifies with the
/// parameters stored in the hash, so the server's own defaults do not matter).
pub fn sim_password_params() -> PasswordHashParams {
    PasswordHashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    }
}

/// A generated district.
#[derive(Debug, Clone)]
pub struct World {
    pub grids: Vec<Grid>,
    pub buildings: Vec<Building>,
    /// The simulation's first day (the generator's "today").
    pub first_day: NaiveDate,
}

impl World {
    /// An even district of at least `grids` grids of `buildings_per_grid` buildings (communities of
    /// four grids, one street).
    pub fn even(grids: u32, buildings_per_grid: u32, seed: u64) -> SimResult<Self> {
        let grids = grids.max(1);
        let per_community = grids.min(4);
        let shape = DistrictShape {
            streets: 1,
            communities_per_street: grids.div_ceil(per_community),
            grids_per_community: per_community,
            buildings_per_grid: buildings_per_grid.max(1),
        };
        Self::from_spec(&shape.spec(seed))
    }

    /// Bao'an (4,833 grids, 175,700 buildings), or `fraction` of it; no past records (the server
    /// keeps no archive of them).
    pub fn baoan(seed: u64, fraction: f64) -> SimResult<Self> {
        let mut spec = DistrictSpec::baoan(seed);
        if fraction < 1.0 {
            spec = spec.scaled(fraction);
        }
        spec.history_per_building = 0.0;
        Self::from_spec(&spec)
    }

    fn from_spec(spec: &DistrictSpec) -> SimResult<Self> {
        let d = synth::generate_default(spec)
            .map_err(|e| SimError::Setup(format!("generating the district: {e}")))?;
        Ok(Self {
            grids: d.grids,
            buildings: d.buildings,
            first_day: spec.today,
        })
    }

    /// Each grid's worker, in grid order.
    pub fn workers(&self) -> Vec<(&Grid, &WorkerId)> {
        self.grids
            .iter()
            .filter_map(|g| g.worker.as_ref().map(|w| (g, w)))
            .collect()
    }

    pub fn buildings_of(&self, grid: &Grid) -> Vec<&Building> {
        self.buildings
            .iter()
            .filter(|b| b.grid == grid.id)
            .collect()
    }
}

/// Where the server's data lives; written to `server.json` in the run directory so that
/// `gridwalk-sim check --dir` finds it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerData {
    pub engine: Engine,
    /// The data directory (SQLite file unless PostgreSQL, and the photos).
    pub data_dir: PathBuf,
    pub db_url: String,
    /// The PostgreSQL schema made for this run (dropped by [`ServerData::drop_pg_schema`]).
    pub pg_schema: Option<String>,
}

pub const MANIFEST: &str = "server.json";

impl ServerData {
    /// Creates the database (a fresh SQLite file in `data_dir`, or a fresh PostgreSQL schema),
    /// migrates it, loads the district and creates one worker account per grid.
    pub async fn prepare(world: &World, data_dir: &Path, engine: Engine) -> SimResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| SimError::io(format!("creating {}", data_dir.display()), e))?;
        let (db_url, pg_schema) = match engine {
            Engine::Sqlite => (
                format!("sqlite://{}", data_dir.join("gridwalk.sqlite").display()),
                None,
            ),
            Engine::Postgres => {
                let base = pg_base_url()?;
                let schema = format!("gw_sim_{}", uuid::Uuid::now_v7().simple());
                pg_admin(&base, &format!("CREATE SCHEMA {schema}")).await?;
                (with_search_path(&base, &schema), Some(schema))
            }
        };
        let me = Self {
            engine,
            data_dir: data_dir.to_path_buf(),
            db_url,
            pg_schema,
        };
        let db = db::open(&me.db_url).await?;
        db.migrate().await?;
        db.upsert_grids(world.grids.clone()).await?;
        db.import_buildings(world.buildings.clone(), false).await?;
        // One hash for every account (same password): hashing is not what is simulated.
        let passwords = Arc::new(
            Passwords::new(&sim_password_params())
                .map_err(|e| SimError::Setup(format!("password hashing: {e}")))?,
        );
        let hash = tokio::task::spawn_blocking(move || passwords.hash(SIM_PASSWORD))
            .await
            .map_err(|e| SimError::Setup(e.to_string()))?
            .map_err(|e| SimError::Setup(format!("password hashing: {e}")))?;
        for (grid, worker) in world.workers() {
            db.add_user(NewUser {
                username: worker.as_str().to_owned(),
                password_hash: hash.clone(),
                role: Role::Worker,
                scope: Scope::Grid(grid.id.clone()),
            })
            .await?;
        }
        Ok(me)
    }

    pub fn save(&self, run_dir: &Path) -> SimResult<()> {
        let path = run_dir.join(MANIFEST);
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)
            .map_err(|e| SimError::io(format!("writing {}", path.display()), e))
    }

    pub fn load(run_dir: &Path) -> SimResult<Self> {
        let path = run_dir.join(MANIFEST);
        let bytes = std::fs::read(&path)
            .map_err(|e| SimError::io(format!("reading {}", path.display()), e))?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Drops this run's PostgreSQL schema (nothing for SQLite: its files go with the directory).
    pub async fn drop_pg_schema(&self) -> SimResult<()> {
        if let Some(schema) = &self.pg_schema {
            pg_admin(
                &pg_base_url()?,
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            )
            .await?;
        }
        Ok(())
    }
}

/// The PostgreSQL server to use, from [`PG_ENV`].
pub fn pg_base_url() -> SimResult<String> {
    match std::env::var(PG_ENV) {
        Ok(u) if !u.is_empty() => Ok(u),
        _ => Err(SimError::Setup(format!(
            "--engine postgres needs {PG_ENV} (run under scripts/with-postgres.sh)"
        ))),
    }
}

fn with_search_path(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

async fn pg_admin(url: &str, sql: &str) -> SimResult<()> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(conn);
    client.batch_execute(sql).await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}
