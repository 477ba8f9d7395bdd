//! Test harness shared by the conformance and HTTP suites: real engines in temporary places.
//!
//! PostgreSQL tests read `GRIDWALK_TEST_PG_URL` (see `scripts/with-postgres.sh`) and run each test
//! in a fresh schema so tests can run in parallel. Without the variable they print a SKIPPED line
//! (on the real stderr, past the test harness's capture) — and when `CI` is set they fail instead.

#![allow(dead_code)]

use std::io::Write;

use gridwalk_server::db::{Database, PgDb, SqliteDb};
use tempfile::TempDir;

pub const PG_ENV: &str = "GRIDWALK_TEST_PG_URL";

pub async fn sqlite_db() -> (TempDir, SqliteDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = SqliteDb::open(dir.path().join("gridwalk.sqlite"))
        .await
        .expect("open sqlite");
    (dir, db)
}

/// The URL of a fresh, empty schema on the test PostgreSQL, or `None` (after saying so loudly)
/// when no PostgreSQL was provided.
pub async fn pg_url(test: &str) -> Option<String> {
    let base = match std::env::var(PG_ENV) {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but {PG_ENV} is not: the PostgreSQL conformance run must not be \
                     skipped in CI (run the tests through scripts/with-postgres.sh)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL conformance ({PG_ENV} unset): {test}"
            );
            return None;
        }
    };
    let schema = format!("gw_t_{}", uuid::Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    let driver = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create test schema");
    drop(client);
    let _ = driver.await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

pub async fn pg_db(test: &str) -> Option<PgDb> {
    let url = pg_url(test).await?;
    Some(PgDb::connect(&url).await.expect("connect PgDb"))
}

/// A migrated engine, for tests that do not care about migrations.
pub async fn migrated<D: Database>(db: D) -> D {
    db.migrate().await.expect("migrate");
    db
}

/// In a workspace build reqwest carries `rustls-no-provider` (the phone's sync client brings ring),
/// and building a client with no crypto provider installed panics; install ring first. A second
/// install in the same process is refused harmlessly.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub mod server {
    //! A real server on 127.0.0.1:0 over a real engine, with the sample district and one account
    //! per role.

    use std::future::pending;
    use std::net::SocketAddr;

    use gridwalk_core::protocol::{DeviceId, PushRecord, PushRequest, Role, Scope};
    use gridwalk_server::auth::{self, Passwords};
    use gridwalk_server::config::{PasswordHashParams, ServerConfig};
    use gridwalk_server::db::{AnyDb, Database};
    use gridwalk_server::fixtures::{self, DistrictShape, community_id, grid_id, street_id};
    use gridwalk_server::http::{self, AppState, ServerHandle};
    use reqwest::StatusCode;
    use serde_json::Value;
    use tempfile::TempDir;

    /// The workers of grids 1 and 2 of community 1 of street 1 (the generator names them).
    pub const W1: &str = "w-G0001";
    pub const W2: &str = "w-G0002";
    pub const OFFICER: &str = "officer-C001";
    pub const SUPERVISOR: &str = "supervisor-S01";
    pub const ADMIN: &str = "admin";
    pub const PASSWORD: &str = "field-work-2025";

    pub struct TestServer {
        pub handle: ServerHandle,
        pub client: reqwest::Client,
        pub dir: TempDir,
    }

    /// Engines for the HTTP suite: the SQLite file lives in the same temp dir as the photos.
    pub async fn sqlite() -> (AnyDb, TempDir) {
        let (dir, db) = super::sqlite_db().await;
        (AnyDb::Sqlite(db), dir)
    }

    pub async fn postgres(test: &str) -> Option<(AnyDb, TempDir)> {
        let db = super::pg_db(test).await?;
        Some((AnyDb::Postgres(db), tempfile::tempdir().expect("temp dir")))
    }

    impl TestServer {
        pub async fn start(db: AnyDb, dir: TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
            assert_eq!(
                (fixtures::worker(1, 1, 1), fixtures::worker(1, 1, 2)),
                (W1.into(), W2.into())
            );
            db.migrate().await.expect("migrate");
            let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
            db.upsert_grids(grids).await.expect("grids");
            db.import_buildings(buildings, false)
                .await
                .expect("buildings");
            let mut config = ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                data_dir: dir.path().to_path_buf(),
                // Cheap hashes keep the suite fast; production uses the defaults.
                password_hash: PasswordHashParams {
                    memory_kib: 1024,
                    iterations: 1,
                    parallelism: 1,
                },
                ..ServerConfig::default()
            };
            // No background rater or sweep: tests that want them turn them on.
            config.stars.background = false;
            tweak(&mut config);
            let passwords =
                std::sync::Arc::new(Passwords::new(&config.password_hash).expect("params"));
            let users = [
                (W1, Role::Worker, Scope::Grid(grid_id(1, 1, 1))),
                (W2, Role::Worker, Scope::Grid(grid_id(1, 1, 2))),
                (OFFICER, Role::Officer, Scope::Community(community_id(1, 1))),
                (SUPERVISOR, Role::Supervisor, Scope::Street(street_id(1))),
                (ADMIN, Role::Admin, Scope::District),
            ];
            for (name, role, scope) in users {
                auth::add_user(&db, passwords.clone(), name, PASSWORD.into(), role, scope)
                    .await
                    .expect("add user");
            }
            let listen = config.listen;
            let state = AppState::new(db, config).await.expect("state");
            let handle = http::spawn(state, listen, pending()).await.expect("spawn");
            Self {
                handle,
                client: super::http_client_builder().build().expect("http client"),
                dir,
            }
        }

        pub fn url(&self, path: &str) -> String {
            format!("{}{}", self.handle.url(), path)
        }

        pub fn db(&self) -> &AnyDb {
            self.handle.state.db()
        }

        pub async fn login(&self, user: &str, device: &str) -> String {
            let (status, body) = self
                .send(
                    self.client
                        .post(self.url("/v1/auth/login"))
                        .json(&serde_json::json!({
                            "username": user, "password": PASSWORD, "device_id": device
                        })),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "login {user}: {body}");
            body["token"].as_str().expect("token").to_owned()
        }

        /// Sends and returns (status, JSON body or Null).
        pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
            let resp = req.send().await.expect("request");
            let status = resp.status();
            let bytes = resp.bytes().await.expect("body");
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    panic!(
                        "non-JSON answer ({status}): {e}: {}",
                        String::from_utf8_lossy(&bytes)
                    )
                })
            };
            (status, body)
        }

        pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
            self.send(self.client.get(self.url(path)).bearer_auth(token))
                .await
        }

        pub async fn push(
            &self,
            token: &str,
            device: &str,
            records: Vec<PushRecord>,
        ) -> (StatusCode, Value) {
            let req = PushRequest {
                device_id: DeviceId::parse(device).expect("device"),
                records,
            };
            self.send(
                self.client
                    .post(self.url("/v1/sync/push"))
                    .bearer_auth(token)
                    .json(&req),
            )
            .await
        }

        pub async fn healthy(&self) {
            let (status, body) = self.send(self.client.get(self.url("/healthz"))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// Asserts an error answer's status and code; returns its message.
    pub fn expect_error(got: &(StatusCode, Value), status: StatusCode, code: &str) -> String {
        assert_eq!(got.0, status, "{}", got.1);
        assert_eq!(got.1["code"], code, "{}", got.1);
        let message = got.1["message"].as_str().expect("message").to_owned();
        assert!(!message.is_empty());
        message
    }

    pub fn statuses(body: &Value) -> Vec<String> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                let o = &r["outcome"];
                match (
                    o["status"].as_str(),
                    o["conflict"].as_bool(),
                    o["code"].as_str(),
                ) {
                    (Some("accepted"), Some(true), _) => "conflict".to_owned(),
                    (Some("rejected"), _, Some(code)) => format!("rejected:{code}"),
                    (Some(s), _, _) => s.to_owned(),
                    _ => panic!("bad outcome {o}"),
                }
            })
            .collect()
    }
}

/// `name::sqlite` and `name::postgres` for a test taking a fresh engine and a temp directory
/// (for a [`TestServer`]).
macro_rules! http_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (db, dir) = crate::common::server::sqlite().await;
                super::$name(db, dir).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((db, dir)) =
                    crate::common::server::postgres(concat!(module_path!(), "::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(db, dir).await;
            }
        }
    )*};
}

/// `name::sqlite` and `name::postgres` for a conformance test taking a fresh engine of either kind.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (_dir, db) = crate::common::sqlite_db().await;
                super::$name(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = crate::common::pg_db(concat!(module_path!(), "::", stringify!($name))).await
                else {
                    return;
                };
                super::$name(db).await;
            }
        }
    )*};
}
