//! The `gridwalk-server` command line: serve, migrate, sweep, user add/revoke, import, demo.
//! Precedence for settings: command-line flag > environment variable > config file > default.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gridwalk_core::protocol::{Role, Scope};

use crate::auth::{self, AuthError, Passwords};
use crate::config::{ConfigError, LogFormat, ServerConfig};
use crate::db::{self, Database, DbError};
use crate::demo::{self, DemoError};
use crate::http::{self, AppState, ServeError};
use crate::import::{self, Format, ImportError};

#[derive(Debug, Parser)]
#[command(
    name = "gridwalk-server",
    version,
    about = "The gridwalk district sync server"
)]
pub struct Cli {
    /// TOML configuration file (see `ServerConfig` for the keys).
    #[arg(long, global = true, env = "GRIDWALK_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct Place {
    /// Data directory (SQLite database and photos).
    #[arg(long, env = "GRIDWALK_DATA")]
    pub data: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, env = "GRIDWALK_DB")]
    pub db: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (migrates the database first unless --no-migrate).
    Serve {
        #[command(flatten)]
        place: Place,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "GRIDWALK_LISTEN")]
        listen: Option<SocketAddr>,
        /// Refuse to start unless the schema is already current.
        #[arg(long)]
        no_migrate: bool,
        /// Log format: text or json.
        #[arg(long, env = "GRIDWALK_LOG_FORMAT", value_parser = parse_log_format)]
        log_format: Option<LogFormat>,
        /// URL the notice webhook POSTs each notice to (config: notices.webhook_url).
        #[arg(long, env = "GRIDWALK_NOTICE_WEBHOOK_URL")]
        notice_webhook_url: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        place: Place,
    },
    /// Run the overdue sweep once: mark hazards and micro-events past their deadline overdue and
    /// rate every queued building (the downgrades apply). Safe to repeat and to interrupt.
    Sweep {
        #[command(flatten)]
        place: Place,
        /// The local day to sweep as of (YYYY-MM-DD) [default: today in the district's time].
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import the address base from CSV or GeoJSON (all rows or none).
    Import {
        /// The file (.csv, .geojson or .json).
        file: PathBuf,
        /// csv or geojson (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
        /// Check the file and report what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        place: Place,
    },
    /// Start an embedded demo server over a synthetic district with one account per role.
    Demo {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "GRIDWALK_LISTEN")]
        listen: Option<SocketAddr>,
        /// Data directory [default: gridwalk-demo].
        #[arg(long)]
        data: Option<PathBuf>,
        /// The full district: 4,833 grids and 175,700 buildings.
        #[arg(long)]
        full: bool,
        /// Seed of the synthetic district.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from the first line of stdin, or from the
    /// environment variable named by --password-env.
    Add {
        username: String,
        /// worker, officer, supervisor, admin or department.
        #[arg(long)]
        role: String,
        /// grid:ID, community:ID, street:ID or district.
        #[arg(long)]
        scope: String,
        /// The handling department (catalog id, e.g. fire) of a department account.
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        password_env: Option<String>,
        #[command(flatten)]
        place: Place,
    },
    /// Revoke every token of an account (its phones must log in again).
    Revoke {
        username: String,
        #[command(flatten)]
        place: Place,
    },
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("use text or json".into()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Webhook(#[from] crate::notices::WebhookError),
    #[error(transparent)]
    Rules(#[from] crate::rater::RulesError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn load_config(
    cli_config: &Option<PathBuf>,
    place: Option<&Place>,
) -> Result<ServerConfig, CliError> {
    let mut c = match cli_config {
        Some(p) => ServerConfig::load(p)?,
        None => ServerConfig::default(),
    };
    if let Some(place) = place {
        if let Some(d) = &place.data {
            c.data_dir = d.clone();
        }
        if let Some(u) = &place.db {
            c.database_url = Some(u.clone());
        }
    }
    c.validate()?;
    Ok(c)
}

async fn open_db(c: &ServerConfig) -> Result<db::AnyDb, CliError> {
    Ok(db::open(&c.database_url()).await?)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn read_password(env_name: Option<&str>) -> Result<String, CliError> {
    if let Some(name) = env_name {
        return std::env::var(name)
            .map_err(|_| CliError::Usage(format!("environment variable {name} is not set")));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            place,
            listen,
            no_migrate,
            log_format,
            notice_webhook_url,
        } => {
            let mut c = load_config(&cli.config, Some(&place))?;
            if let Some(l) = listen {
                c.listen = l;
            }
            if let Some(u) = notice_webhook_url {
                c.notices.webhook_url = Some(u);
                c.validate()?;
            }
            if let Some(f) = log_format {
                c.log_format = f;
            }
            init_logging(c.log_format);
            let db = open_db(&c).await?;
            if !no_migrate {
                let applied = db.migrate().await?;
                if !applied.is_empty() {
                    tracing::info!(?applied, "migrations applied");
                }
            }
            tracing::info!(engine = db.engine(), url = %db::redact_url(&c.database_url()), "database");
            let listen = c.listen;
            let notices = crate::notices::worker::start_webhook(&db, &c.notices)?;
            let state = AppState::new(db, c).await?;
            let handle = http::spawn(state, listen, shutdown_signal()).await?;
            handle.wait().await?;
            if let Some(w) = notices {
                w.stop().await;
            }
            Ok(())
        }
        Command::Migrate { place } => {
            let c = load_config(&cli.config, Some(&place))?;
            let db = open_db(&c).await?;
            let applied = db.migrate().await?;
            if applied.is_empty() {
                println!("schema is current");
            } else {
                println!("applied migrations {applied:?}");
            }
            Ok(())
        }
        Command::Sweep { place, on } => {
            let c = load_config(&cli.config, Some(&place))?;
            let db = open_db(&c).await?;
            db.check_schema().await?;
            let rules = std::sync::Arc::new(crate::rater::Rules::shipped()?);
            let day = on.unwrap_or_else(|| rules.today(chrono::Utc::now()));
            let r = crate::sweep::sweep_overdue(&db, &rules, day, c.stars.options()).await?;
            println!(
                "swept as of {day}: {} events newly overdue; {} buildings rated, {} changed, {} ratings recorded",
                r.events_overdue, r.rating.rated, r.rating.changed, r.rating.history
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            role,
            scope,
            department,
            password_env,
            place,
        }) => {
            let c = load_config(&cli.config, Some(&place))?;
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown role '{role}': use worker, officer, supervisor, admin or department"
                ))
            })?;
            let department =
                crate::scope::department_for_role(role, department).map_err(CliError::Usage)?;
            let scope = Scope::parse(&scope).ok_or_else(|| {
                CliError::Usage(format!(
                    "bad scope '{scope}': use grid:ID, community:ID, street:ID or district"
                ))
            })?;
            let password = read_password(password_env.as_deref())?;
            let db = open_db(&c).await?;
            db.check_schema().await?;
            let params = c.password_hash.clone();
            let passwords = tokio::task::spawn_blocking(move || Passwords::new(&params))
                .await
                .map_err(|e| CliError::Usage(e.to_string()))??;
            auth::add_user(
                &db,
                passwords.into(),
                &username,
                password,
                role,
                scope.clone(),
            )
            .await?;
            db.append_audit(crate::audit::cli_entry(
                "user add",
                format!("user {username}"),
            ))
            .await?;
            if let Some(d) = &department {
                db.set_user_department(&username, d).await?;
            }
            println!("created {} {username} ({scope})", role.as_str());
            Ok(())
        }
        Command::User(UserCommand::Revoke { username, place }) => {
            let c = load_config(&cli.config, Some(&place))?;
            let db = open_db(&c).await?;
            let n = db
                .revoke_user_sessions(&username, chrono::Utc::now())
                .await?;
            db.append_audit(crate::audit::cli_entry(
                "user revoke",
                format!("user {username}"),
            ))
            .await?;
            println!("revoked {n} tokens of {username}");
            Ok(())
        }
        Command::Import {
            file,
            format,
            dry_run,
            place,
        } => {
            let c = load_config(&cli.config, Some(&place))?;
            let format = format
                .map(|f| {
                    Format::parse(&f).ok_or_else(|| {
                        CliError::Usage(format!("unknown format '{f}': use csv or geojson"))
                    })
                })
                .transpose()?;
            let db = open_db(&c).await?;
            db.check_schema().await?;
            let started = std::time::Instant::now();
            match import::import_file(&db, &file, format, dry_run).await {
                Ok(s) => {
                    if !s.dry_run {
                        let target = format!("{} ({} buildings)", file.display(), s.total);
                        db.append_audit(crate::audit::cli_entry("import", target))
                            .await?;
                    }
                    println!(
                        "{}{} buildings: {} new, {} updated ({} reassigned), {} unchanged in {:.1} s",
                        if s.dry_run { "dry run: " } else { "" },
                        s.total,
                        s.inserted,
                        s.updated,
                        s.reassigned,
                        s.unchanged,
                        started.elapsed().as_secs_f64()
                    );
                    Ok(())
                }
                Err(ImportError::BadRows { errors, total }) => {
                    let mut err = std::io::stderr().lock();
                    for e in &errors {
                        let _ = writeln!(err, "{}: line {}: {}", file.display(), e.line, e.message);
                    }
                    if total > errors.len() {
                        let _ = writeln!(err, "… and {} more", total - errors.len());
                    }
                    Err(ImportError::BadRows { errors, total }.into())
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Demo {
            listen,
            data,
            full,
            seed,
        } => {
            let mut c = load_config(&cli.config, None)?;
            c.data_dir = data.unwrap_or_else(|| PathBuf::from("gridwalk-demo"));
            c.database_url = None;
            if let Some(l) = listen {
                c.listen = l;
            }
            init_logging(c.log_format);
            let db = open_db(&c).await?;
            let params = c.password_hash.clone();
            let passwords = tokio::task::spawn_blocking(move || Passwords::new(&params))
                .await
                .map_err(|e| CliError::Usage(e.to_string()))??;
            let started = std::time::Instant::now();
            let (summary, accounts) = demo::prepare(&db, passwords.into(), seed, full).await?;
            let listen = c.listen;
            let data_dir = c.data_dir.clone();
            let state = AppState::new(db, c).await?;
            let handle = http::spawn(state, listen, shutdown_signal()).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "gridwalk demo: {} buildings ({} new) loaded in {:.1} s into {}",
                summary.total,
                summary.inserted,
                started.elapsed().as_secs_f64(),
                data_dir.display()
            )?;
            writeln!(
                out,
                "listening on {}  (API description: {}/v1/openapi.json)",
                handle.url(),
                handle.url()
            )?;
            writeln!(
                out,
                "accounts (POST {}/v1/auth/login with username, password, device_id):",
                handle.url()
            )?;
            for a in &accounts {
                writeln!(
                    out,
                    "  {:<16} password {:<14} {:<10} {}",
                    a.username,
                    a.password,
                    a.role.as_str(),
                    a.scope
                )?;
            }
            writeln!(out, "Ctrl-C stops the server.")?;
            drop(out);
            handle.wait().await?;
            Ok(())
        }
    }
}
