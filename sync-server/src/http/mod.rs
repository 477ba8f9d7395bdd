//! The HTTP API (axum): routes, shared state, error normalisation, compression, graceful
//! shutdown.

mod archive;
mod assessment;
mod audit;
mod auth;
pub mod error;
mod events;
mod extract;
mod lists;
mod notices;
pub mod openapi;
mod photos;
mod pull;
mod push;
mod review;
mod stream_body;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridwalk_core::{Catalog, Policy};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::Passwords;
use crate::config::ServerConfig;
use crate::db::{AnyDb, Database, DbError};
use crate::photos::{PhotoError, PhotoStore};

pub use extract::parse_strict;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Photos(#[from] PhotoError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("the shipped catalog is invalid: {0}")]
    Catalog(#[from] gridwalk_core::CatalogError),
    #[error("the rules policy is invalid: {0}")]
    Policy(#[from] gridwalk_core::PolicyError),
    #[error(transparent)]
    Rules(#[from] crate::rater::RulesError),
}

#[derive(Debug)]
struct Shared {
    db: AnyDb,
    config: ServerConfig,
    catalog: Catalog,
    /// The rules policy the server judges by (presence, assessment).
    policy: Policy,
    server_id: String,
    photos: PhotoStore,
    passwords: Arc<Passwords>,
    pushes_in_flight: AtomicUsize,
    push_turns: crate::sync::turns::PushTurns,
    rules: Arc<crate::rater::Rules>,
    rater_bell: crate::rater::RaterBell,
    /// The rater and the sweep, stopped with the last handle on the state.
    _background: crate::sweep::Background,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Prepares the state for a migrated database.
    pub async fn new(db: AnyDb, config: ServerConfig) -> Result<Self, ServeError> {
        db.check_schema().await?;
        let server_id = db.server_id().await?;
        let photos = PhotoStore::open(&config.data_dir)?;
        let params = config.password_hash.clone();
        let passwords = tokio::task::spawn_blocking(move || Passwords::new(&params))
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))??;
        let catalog = Catalog::default_catalog()?;
        let policy = Policy::default_policy()?;
        policy.check_against(&catalog)?;
        let rules = Arc::new(crate::rater::Rules::shipped()?);
        let rater_bell = crate::rater::RaterBell::default();
        let background = crate::sweep::Background::start(&db, &rules, &rater_bell, &config.stars);
        Ok(Self(Arc::new(Shared {
            db,
            config,
            catalog,
            policy,
            server_id,
            photos,
            passwords: Arc::new(passwords),
            pushes_in_flight: AtomicUsize::new(0),
            push_turns: crate::sync::turns::PushTurns::default(),
            rules,
            rater_bell,
            _background: background,
        })))
    }

    /// The catalog and policy the rater and the lists apply.
    pub fn rules(&self) -> &Arc<crate::rater::Rules> {
        &self.0.rules
    }

    /// Wakes the background rater (after a push queued buildings).
    pub fn rater_bell(&self) -> &crate::rater::RaterBell {
        &self.0.rater_bell
    }

    /// Keeps a device's pipelined push batches in the order of their numbers.
    pub fn push_turns(&self) -> &crate::sync::turns::PushTurns {
        &self.0.push_turns
    }

    pub fn db(&self) -> &AnyDb {
        &self.0.db
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    pub fn server_id(&self) -> &str {
        &self.0.server_id
    }

    pub fn photos(&self) -> &PhotoStore {
        &self.0.photos
    }

    pub fn passwords(&self) -> Arc<Passwords> {
        self.0.passwords.clone()
    }

    /// Pushes being applied right now (graceful shutdown waits for them).
    pub fn pushes_in_flight(&self) -> usize {
        self.0.pushes_in_flight.load(Ordering::SeqCst)
    }

    fn push_started(&self) -> InFlight {
        self.0.pushes_in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

struct InFlight(AppState);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.pushes_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every route of the API. Keep in step with [`openapi::document`] (a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/v1/openapi.json"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/auth/me"),
    ("post", "/v1/admin/users/{username}/revoke-tokens"),
    ("post", "/v1/sync/push"),
    ("get", "/v1/sync/pull"),
    ("put", "/v1/photos/{sha256}"),
    ("get", "/v1/photos/{sha256}"),
    ("get", "/v1/photos/{sha256}/status"),
    ("get", "/v1/buildings/{code}"),
    ("get", "/v1/conflicts"),
    ("get", "/v1/review/queue"),
    ("post", "/v1/review/{record}"),
    ("get", "/v1/review/conflicts"),
    ("get", "/v1/assessment/workers/{worker}"),
    ("get", "/v1/assessment/grids/{grid}"),
    ("get", "/v1/audit"),
    ("get", "/v1/departments/{id}/events"),
    ("post", "/v1/events/{id}/status"),
    ("get", "/v1/notices"),
    ("get", "/v1/buildings/{code}/rating-history"),
    ("get", "/v1/lists/{list}"),
];

pub fn router(state: AppState) -> Router {
    let max_body = state.config().max_body_bytes;
    // Checked to be 1–9 when the configuration is loaded.
    let gzip_level = i32::try_from(state.config().response_gzip_level).unwrap_or(1);
    Router::new()
        .route("/healthz", get(health))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/me", get(auth::me))
        .route(
            "/v1/admin/users/{username}/revoke-tokens",
            post(auth::revoke_user_tokens),
        )
        .route("/v1/sync/push", post(push::push))
        .route("/v1/sync/pull", get(pull::pull))
        .route(
            "/v1/photos/{sha256}",
            axum::routing::put(photos::upload).get(photos::download),
        )
        .route("/v1/photos/{sha256}/status", get(photos::status))
        .route("/v1/buildings/{code}", get(archive::building))
        .route("/v1/conflicts", get(archive::conflicts))
        .route("/v1/review/queue", get(review::queue))
        .route("/v1/review/conflicts", get(review::conflicts))
        .route("/v1/review/{record}", post(review::decide))
        .route("/v1/assessment/workers/{worker}", get(assessment::worker))
        .route("/v1/assessment/grids/{grid}", get(assessment::grid))
        .route("/v1/audit", get(audit::query))
        .route("/v1/departments/{id}/events", get(events::queue))
        .route("/v1/events/{id}/status", post(events::move_status))
        .route("/v1/notices", get(notices::list))
        .route(
            "/v1/buildings/{code}/rating-history",
            get(lists::rating_history),
        )
        .route("/v1/lists/{list}", get(lists::list))
        .fallback(|| async { error::for_status(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { error::for_status(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit::audit_writes,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestDecompressionLayer::new())
        .layer(middleware::from_fn(json_errors))
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(gzip_level)))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Turns any error answer without a JSON body (from a layer or the router) into `{code, message}`.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == HeaderValue::from_static("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return error::for_status(status).into_response();
    }
    resp
}

async fn health(State(state): State<AppState>) -> Response {
    match state.db().check_schema().await {
        Ok(()) => {
            Json(serde_json::json!({"status": "ok", "engine": state.db().engine()})).into_response()
        }
        Err(e) => error::ApiFailure::from(e).into_response(),
    }
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl ServerHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))??;
        Ok(())
    }

    /// Asks the server to stop without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server to end (after [`ServerHandle::begin_shutdown`] or an external signal).
    pub async fn wait(self) -> Result<(), ServeError> {
        self.task
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))??;
        Ok(())
    }
}

/// Binds `addr` (port 0 picks a free port) and serves until the handle's shutdown or
/// `external_stop` completes.
pub async fn spawn(
    state: AppState,
    addr: SocketAddr,
    external_stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<ServerHandle, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = rx => {}
                    () = external_stop => {}
                }
                tracing::info!("shutting down: finishing in-flight requests");
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(ServerHandle {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}
