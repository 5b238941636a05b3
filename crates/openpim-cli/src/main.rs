//! `openpim`: run the service, mint local tokens.

use anyhow::Context;
use clap::{Parser, Subcommand};
use openpim_server::auth::{parse_ttl, LocalIssuer, TokenRequest};
use openpim_server::notify::{NotificationConfig, SmtpConfig};
use openpim_server::ServerConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "openpim",
    version,
    about = "OpenPIM: self-hosted Privileged Identity Management with a Microsoft Graph-compatible API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the OpenPIM service.
    Serve(ServeArgs),
    /// Print a bearer token from the local issuer (for bootstrap, scripts and tests).
    Token(TokenArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OPENPIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory: the SQLite database (by default) and the token issuer key.
    #[arg(long, env = "OPENPIM_DATA", default_value = "./openpim-data")]
    data: PathBuf,
    /// Database URL (sqlite://PATH or postgres://...); defaults to SQLite in the data directory.
    #[arg(long, env = "OPENPIM_DATABASE_URL")]
    database: Option<String>,
    /// UPN of the first Global Administrator, created when the store is empty.
    #[arg(long, env = "OPENPIM_BOOTSTRAP_ADMIN", default_value = "admin@openpim.local")]
    bootstrap_admin: String,
    /// Public base URL (e.g. https://pim.example.com) used in @odata.context and next links.
    #[arg(long, env = "OPENPIM_PUBLIC_URL")]
    public_url: Option<String>,
    /// How long an activation may wait for approval before it times out (e.g. 24h, 2d).
    #[arg(long, env = "OPENPIM_APPROVAL_TIMEOUT", default_value = "24h", value_parser = parse_ttl)]
    approval_timeout: std::time::Duration,
    /// POST every notification as JSON to this URL (off by default).
    #[arg(long, env = "OPENPIM_NOTIFY_WEBHOOK")]
    notify_webhook: Option<String>,
    /// Send notification e-mails through this SMTP server, e.g. smtp://127.0.0.1:25 (off by default).
    #[arg(long, env = "OPENPIM_SMTP_URL", requires = "smtp_from")]
    smtp_url: Option<String>,
    /// Sender address of notification e-mails.
    #[arg(long, env = "OPENPIM_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "OPENPIM_LOG_JSON")]
    log_json: bool,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// Data directory of the server whose issuer signs the token.
    #[arg(long, env = "OPENPIM_DATA", default_value = "./openpim-data")]
    data: PathBuf,
    /// User principal name the token is for.
    #[arg(long)]
    user: String,
    /// Mark the session as MFA-authenticated (amr contains "mfa").
    #[arg(long)]
    mfa: bool,
    /// Authentication context class references the session satisfies (repeatable), e.g. c1.
    #[arg(long = "acr")]
    acrs: Vec<String>,
    /// Lifetime, e.g. 30m, 1h, 1d (at most 30d).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: std::time::Duration,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENPIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let config = ServerConfig {
        listen: args.listen,
        data_dir: args.data.clone(),
        database_url: args.database,
        bootstrap_admin: args.bootstrap_admin,
        public_url: args.public_url,
        approval_timeout: args.approval_timeout,
        notifications: NotificationConfig {
            webhook_url: args.notify_webhook,
            smtp: match (&args.smtp_url, &args.smtp_from) {
                (Some(url), Some(from)) => {
                    Some(SmtpConfig::parse(url, from).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?)
                }
                _ => None,
            },
        },
    };
    let server = openpim_server::start(config).await.context("starting the server")?;
    if let Some(admin) = &server.created_admin {
        tracing::info!(%admin, "new store bootstrapped: built-in roles created, {admin} is Global Administrator");
        eprintln!(
            "Bootstrapped a new tenant. Mint the administrator's token with:\n  openpim token --data {} --user {admin}",
            args.data.display()
        );
    }
    tracing::info!(addr = %server.addr, "OpenPIM listening");
    eprintln!("OpenPIM listening on http://{}", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let issuer = LocalIssuer::load(&args.data)?;
    let req = TokenRequest { upn: args.user, mfa: args.mfa, acrs: args.acrs, ttl: args.ttl };
    println!("{}", issuer.mint(&req, time::OffsetDateTime::now_utc()));
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Token(args) => token(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openpim: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
