//! Group `workflows`: the server's archive at work over the synthetic Bao'an (175,700 buildings;
//! quick: 10%), on SQLite and on PostgreSQL.
//!
//! (a) The low-star list through the HTTP API as a district admin: the first JSON page (median and
//! p95 of repeated requests) and the whole list exported as CSV and as GeoJSON (one request each,
//! timed until the last byte).
//! (b) The overdue sweep: one hazard per open hazard the synthetic archive records, pushed through
//! the merge and rated before its deadline; then the sweep the day after the deadlines (mark every
//! one overdue, re-rate their buildings, apply the cap), and a second sweep that must find nothing.
//!
//! PostgreSQL needs `GRIDWALK_TEST_PG_URL` (run under `scripts/with-postgres.sh`); without it the
//! group says so on stderr and measures SQLite only — never a made-up PostgreSQL figure.

use std::fmt::Display;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use gridwalk_core::protocol::{DeviceId, PushRecord, RecordOutcome, Role, Scope, SyncRecord};
use gridwalk_core::synth::{self, District, DistrictSpec};
use gridwalk_core::{Catalog, Event, Notice, NoticeRecipient};
use gridwalk_server::auth::{self, Passwords};
use gridwalk_server::bench as server_bench;
use gridwalk_server::config::{PasswordHashParams, ServerConfig};
use gridwalk_server::db::{AnyDb, Database, PushCtx, SqliteDb};
use gridwalk_server::fixtures;
use gridwalk_server::http::{self, AppState};
use gridwalk_server::rater;
use gridwalk_server::sweep::{SweepOptions, sweep_overdue};
use gridwalk_server::sync::validate::{RecordLimits, check_batch};

use super::district::Setup;
use super::server::PG_ENV;
use super::stats::{median, percentile};
use super::{BenchError, Context};

const GROUP: &str = "workflows";
const ADMIN: &str = "bench-admin";
const PASSWORD: &str = "bench-password-1";
const WORKER: &str = "bench-worker";
/// First-page requests timed per engine.
const PAGE_REPEATS: usize = 30;
const PAGE_LIMIT: u32 = 100;
/// Hazards pushed per batch while seeding.
const SEED_BATCH: usize = 1_000;

fn err(e: impl Display) -> BenchError {
    BenchError::failed(GROUP, e)
}

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    let mut spec = Setup::spec(ctx.quick());
    spec.history_per_building = 0.0;
    let pg = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty());
    measure(ctx, &spec, pg.as_deref(), &mut std::io::stderr())
}

/// Measures on SQLite, then on the PostgreSQL at `pg_url` if there is one (else warns on `warn`).
pub fn measure(
    ctx: &mut Context<'_>,
    spec: &DistrictSpec,
    pg_url: Option<&str>,
    warn: &mut dyn Write,
) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    let dir = tempfile::tempdir().map_err(err)?;
    let district = synth::generate_default(spec).map_err(err)?;
    let hazards = district
        .buildings
        .iter()
        .map(|b| b.open_hazards as usize)
        .sum::<usize>();
    ctx.emit(
        "workflows.buildings",
        district.buildings.len() as f64,
        "count",
    )?;
    ctx.emit("workflows.seeded_hazards", hazards as f64, "count")?;

    let figures = runtime.block_on(async {
        let db = SqliteDb::open(dir.path().join("workflows.sqlite"))
            .await
            .map_err(err)?;
        one_engine(AnyDb::Sqlite(db), &district, spec, dir.path()).await
    })?;
    figures.emit(ctx)?;

    let Some(base) = pg_url else {
        writeln!(
            warn,
            "SKIPPED: workflows: PostgreSQL figures ({PG_ENV} unset; run the bench under \
             scripts/with-postgres.sh) — only the SQLite figures were measured"
        )?;
        return Ok(());
    };
    let figures = runtime.block_on(async {
        const SCHEMA: &str = "gw_bench_workflows";
        let db = server_bench::pg_bench_db(base, SCHEMA).await.map_err(err)?;
        let f = one_engine(AnyDb::Postgres(db), &district, spec, dir.path()).await;
        server_bench::drop_pg_schema(base, SCHEMA)
            .await
            .map_err(err)?;
        f
    })?;
    figures.emit(ctx)
}

/// What one engine measured.
#[derive(Debug, Clone)]
struct Figures {
    engine: &'static str,
    first_page_ms: Vec<f64>,
    low_star_rows: usize,
    csv_ms: f64,
    csv_mb: f64,
    geojson_ms: f64,
    geojson_mb: f64,
    seed_ms: f64,
    rate_after_push_ms: f64,
    rated_after_push: u64,
    sweep_ms: f64,
    swept_events: u64,
    swept_changed: u64,
    sweep_again_ms: f64,
}

impl Figures {
    fn emit(&self, ctx: &mut Context<'_>) -> Result<(), BenchError> {
        let e = self.engine;
        let name = |what: &str| format!("workflows.{e}.{what}");
        let of = |v: Option<f64>| v.ok_or_else(|| err("no first-page samples"));
        ctx.emit(
            &name("low_star_first_page_ms_median"),
            of(median(&self.first_page_ms))?,
            "ms",
        )?;
        ctx.emit(
            &name("low_star_first_page_ms_p95"),
            of(percentile(&self.first_page_ms, 95.0))?,
            "ms",
        )?;
        ctx.emit(&name("low_star_rows"), self.low_star_rows as f64, "count")?;
        ctx.emit(&name("low_star_csv_export_ms"), self.csv_ms, "ms")?;
        ctx.emit(&name("low_star_csv_mb"), self.csv_mb, "MB")?;
        ctx.emit(&name("low_star_geojson_export_ms"), self.geojson_ms, "ms")?;
        ctx.emit(&name("low_star_geojson_mb"), self.geojson_mb, "MB")?;
        ctx.emit(&name("seed_hazards_push_ms"), self.seed_ms, "ms")?;
        ctx.emit(&name("rate_after_push_ms"), self.rate_after_push_ms, "ms")?;
        ctx.emit(
            &name("rated_after_push"),
            self.rated_after_push as f64,
            "count",
        )?;
        ctx.emit(&name("sweep_ms"), self.sweep_ms, "ms")?;
        ctx.emit(
            &name("sweep_events_overdue"),
            self.swept_events as f64,
            "count",
        )?;
        ctx.emit(
            &name("sweep_buildings_changed"),
            self.swept_changed as f64,
            "count",
        )?;
        ctx.emit(
            &name("sweep_events_per_s"),
            self.swept_events as f64 / (self.sweep_ms / 1e3).max(1e-9),
            "1/s",
        )?;
        ctx.emit(&name("sweep_again_ms"), self.sweep_again_ms, "ms")
    }
}

async fn one_engine(
    db: AnyDb,
    district: &District,
    spec: &DistrictSpec,
    dir: &Path,
) -> Result<Figures, BenchError> {
    let engine = db.engine();
    db.migrate().await.map_err(err)?;
    db.upsert_grids(district.grids.clone()).await.map_err(err)?;
    db.import_buildings(district.buildings.clone(), false)
        .await
        .map_err(err)?;
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.join(format!("data-{engine}")),
        password_hash: PasswordHashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        stars: gridwalk_server::sweep::StarsConfig {
            background: false,
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let passwords = Arc::new(Passwords::new(&config.password_hash).map_err(err)?);
    auth::add_user(
        &db,
        passwords,
        ADMIN,
        PASSWORD.into(),
        Role::Admin,
        Scope::District,
    )
    .await
    .map_err(err)?;
    let listen = config.listen;
    let state = AppState::new(db.clone(), config).await.map_err(err)?;
    let rules = state.rules().clone();
    let server = http::spawn(state, listen, std::future::pending())
        .await
        .map_err(err)?;
    let client = Client::new(&server.url())?;
    let token = client.login().await?;

    let mut first_page_ms = Vec::with_capacity(PAGE_REPEATS);
    for _ in 0..PAGE_REPEATS {
        let start = Instant::now();
        let body = client
            .get(&format!("/v1/lists/low-star?limit={PAGE_LIMIT}"), &token)
            .await?;
        first_page_ms.push(Context::ms_since(start));
        let page: serde_json::Value = serde_json::from_slice(&body).map_err(err)?;
        let rows = page["rows"].as_array().map_or(0, Vec::len);
        if rows == 0 {
            return Err(err("the district has no low-star building"));
        }
    }
    let start = Instant::now();
    let csv = client.get("/v1/lists/low-star?format=csv", &token).await?;
    let csv_ms = Context::ms_since(start);
    let low_star_rows = csv::Reader::from_reader(csv.as_slice()).records().count();
    let start = Instant::now();
    let geojson = client
        .get("/v1/lists/low-star?format=geojson", &token)
        .await?;
    let geojson_ms = Context::ms_since(start);
    let features: serde_json::Value = serde_json::from_slice(&geojson).map_err(err)?;
    if features["features"].as_array().map(Vec::len) != Some(low_star_rows) {
        return Err(err("the CSV and GeoJSON exports disagree"));
    }

    // The sweep: hazards reported before the district's day, due two days later.
    let today = spec.today;
    let reported = today - chrono::Days::new(10);
    let deadline = today - chrono::Days::new(1);
    let start = Instant::now();
    seed_hazards(&db, district, reported, deadline).await?;
    let seed_ms = Context::ms_since(start);
    let start = Instant::now();
    let rated = rater::drain(&db, &rules, reported, 500)
        .await
        .map_err(err)?;
    let rate_after_push_ms = Context::ms_since(start);
    let opts = SweepOptions {
        batch: 1_000,
        rate_batch: 500,
        max_batches: None,
    };
    let start = Instant::now();
    let sweep = sweep_overdue(&db, &rules, today, opts).await.map_err(err)?;
    let sweep_ms = Context::ms_since(start);
    let start = Instant::now();
    let again = sweep_overdue(&db, &rules, today, opts).await.map_err(err)?;
    let sweep_again_ms = Context::ms_since(start);
    if again.events_overdue != 0 || again.rating.taken != 0 {
        return Err(err(format!("a second sweep changed things: {again:?}")));
    }
    server.shutdown().await.map_err(err)?;
    Ok(Figures {
        engine,
        first_page_ms,
        low_star_rows,
        csv_ms,
        csv_mb: csv.len() as f64 / 1e6,
        geojson_ms,
        geojson_mb: geojson.len() as f64 / 1e6,
        seed_ms,
        rate_after_push_ms,
        rated_after_push: rated.rated,
        sweep_ms,
        swept_events: sweep.events_overdue,
        swept_changed: sweep.rating.changed,
        sweep_again_ms,
    })
}

/// One hazard per open hazard of each building, pushed through the merge by one district-wide
/// bench worker.
async fn seed_hazards(
    db: &AnyDb,
    district: &District,
    reported: NaiveDate,
    deadline: NaiveDate,
) -> Result<(), BenchError> {
    let catalog = Catalog::default_catalog().map_err(err)?;
    let at = Utc.from_utc_datetime(&reported.and_hms_opt(2, 0, 0).unwrap_or_default());
    let records: Vec<SyncRecord> = district
        .buildings
        .iter()
        .flat_map(|b| (0..b.open_hazards).map(move |_| b))
        .map(|b| {
            let mut e: Event = fixtures::hazard(&b.code, WORKER);
            e.reported_at = at;
            e.fix.taken_at = at;
            e.fix.point = b.location;
            e.notice = Some(Notice {
                recipients: vec![NoticeRecipient::Owner],
                deadline,
            });
            SyncRecord::Event(e)
        })
        .collect();
    let ctx = PushCtx {
        username: WORKER.into(),
        scope: Scope::District,
        device: DeviceId::parse("bench-seeder").map_err(err)?,
        now: Utc::now(),
    };
    let batch: Vec<PushRecord> = fixtures::batch(1, records);
    for chunk in batch.chunks(SEED_BATCH) {
        let checks = check_batch(chunk, WORKER, &catalog, &RecordLimits::default());
        let resp = db
            .push(ctx.clone(), chunk.to_vec(), checks)
            .await
            .map_err(err)?;
        if let Some(bad) = resp
            .results
            .iter()
            .find(|r| !matches!(r.outcome, RecordOutcome::Accepted { .. }))
        {
            return Err(err(format!("a seeded hazard was not accepted: {bad:?}")));
        }
    }
    Ok(())
}

/// A plain HTTP client for the API (no compression: the figures are the server's work).
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(base: &str) -> Result<Self, BenchError> {
        // reqwest comes without a crypto provider in this workspace; none is used on plain HTTP,
        // but building a client needs one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            http: reqwest::Client::builder().no_gzip().build().map_err(err)?,
            base: base.to_owned(),
        })
    }

    async fn login(&self) -> Result<String, BenchError> {
        let resp = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .json(&serde_json::json!({
                "username": ADMIN, "password": PASSWORD, "device_id": "bench-desk"
            }))
            .send()
            .await
            .map_err(err)?;
        let body: serde_json::Value = resp.json().await.map_err(err)?;
        body["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| err(format!("login refused: {body}")))
    }

    async fn get(&self, path: &str, token: &str) -> Result<Vec<u8>, BenchError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(err)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(err)?;
        if !status.is_success() {
            return Err(err(format!(
                "GET {path}: {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Figure;

    #[test]
    fn a_small_district_gives_every_figure_on_sqlite_and_says_postgres_was_skipped() {
        let mut spec = DistrictSpec::small(3);
        spec.history_per_building = 0.0;
        let mut out = Vec::new();
        let mut warn = Vec::new();
        let mut ctx = Context::new(true, &mut out);
        measure(&mut ctx, &spec, None, &mut warn).expect("measures");
        let out = String::from_utf8(out).expect("utf-8");
        let figures: Vec<Figure> = out
            .lines()
            .map(|l| Figure::parse_line(l).expect("a figure line"))
            .collect();
        let get = |name: &str| {
            figures
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {out}"))
                .value
        };
        assert_eq!(get("workflows.buildings"), 430.0);
        let seeded = get("workflows.seeded_hazards");
        assert!(seeded > 0.0);
        assert!(get("workflows.sqlite.low_star_rows") > 0.0);
        assert!(get("workflows.sqlite.low_star_first_page_ms_median") > 0.0);
        assert!(get("workflows.sqlite.low_star_csv_export_ms") > 0.0);
        assert_eq!(get("workflows.sqlite.sweep_events_overdue"), seeded);
        assert!(get("workflows.sqlite.sweep_buildings_changed") > 0.0);
        assert!(
            figures.iter().all(|f| !f.name.contains("postgres")),
            "{out}"
        );
        let warn = String::from_utf8(warn).expect("utf-8");
        assert!(
            warn.starts_with("SKIPPED: workflows: PostgreSQL figures"),
            "{warn}"
        );
    }
}
