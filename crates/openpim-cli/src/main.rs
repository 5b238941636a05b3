//! `openpim`: run the service, mint local tokens, and the client commands that drive a server over
//! its Graph-compatible HTTP API. This file is the command tree and the dispatch only.

mod client;
mod commands;
mod context;
mod duration;
mod error;
mod output;
mod profile;
mod resolve;

use anyhow::Context;
use clap::{Parser, Subcommand};
use commands::activation::{ActivateArgs, DeactivateArgs, MyCommand};
use commands::approvals::ApprovalsCommand;
use commands::assignments::AssignmentsCommand;
use commands::audit::AuditCommand;
use commands::policy::PolicyCommand;
use commands::requests::RequestsCommand;
use commands::roles::RolesCommand;
use error::CliError;
use openpim_server::auth::{parse_ttl, LocalIssuer, TokenAudience, TokenRequest};
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
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

/// How the client commands reach a server (`serve` and `token` ignore these).
#[derive(clap::Args)]
struct ConnArgs {
    /// Server URL [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "OPENPIM_SERVER", global = true, help_heading = "Connection")]
    server: Option<String>,
    /// Bearer token, or - to read it from standard input [default: the profile's].
    #[arg(long, env = "OPENPIM_TOKEN", global = true, hide_env_values = true, help_heading = "Connection")]
    token: Option<String>,
    /// Login profile to use (see `openpim login`).
    #[arg(long, env = "OPENPIM_PROFILE", global = true, default_value = "default", help_heading = "Connection")]
    profile: String,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum, global = true, help_heading = "Connection")]
    output: Option<output::Format>,
}

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

#[derive(Subcommand)]
enum Command {
    /// Run the OpenPIM service.
    Serve(ServeArgs),
    /// Print a bearer token from the local issuer (for bootstrap, scripts and tests).
    Token(TokenArgs),
    /// Break-glass recovery, offline (the server must be stopped): make a user Global Administrator.
    Recover(RecoverArgs),
    #[command(flatten)]
    Client(ClientCommand),
}

/// The commands that talk to a server over HTTP.
#[derive(Subcommand)]
enum ClientCommand {
    /// Check a token against a server and save both under a profile (file mode 0600).
    Login,
    /// Forget a saved profile.
    Logout,
    /// Role definitions: list, show, create custom roles.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Eligible and active assignments (admins).
    #[command(subcommand)]
    Assignments(AssignmentsCommand),
    /// Activate a role you are eligible for.
    Activate(ActivateArgs),
    /// End your activation of a role.
    Deactivate(DeactivateArgs),
    /// What you hold.
    #[command(subcommand)]
    My(MyCommand),
    /// Schedule requests: list, cancel.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Activations waiting for your approval.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// Role settings: activation limits, requirements, approvers.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Azure resources: register subscriptions with the resource hierarchy.
    #[command(subcommand)]
    Azure(commands::azure::AzureCommand),
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
    /// Who may read /metrics: loopback (direct connections from 127.0.0.1/::1 only), token (a
    /// bearer token whose user may read audit logs), or public.
    #[arg(long, env = "OPENPIM_METRICS", default_value = "loopback", value_name = "loopback|token|public")]
    metrics: openpim_server::metrics::MetricsAccess,
    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP and when the file changes).
    #[arg(long, env = "OPENPIM_TLS_CERT", requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "OPENPIM_TLS_KEY", requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    oidc: OidcArgs,
}

/// Trusted external OpenID Connect issuers (see README, "Signing in with your identity provider").
#[derive(clap::Args)]
#[command(next_help_heading = "OpenID Connect")]
struct OidcArgs {
    /// Accept access tokens from this issuer (repeatable, or comma-separated in the variable).
    /// https is required, except on loopback addresses.
    #[arg(long = "oidc-issuer", env = "OPENPIM_OIDC_ISSUER", value_delimiter = ',', value_name = "URL")]
    issuers: Vec<String>,
    /// The `aud` of OpenPIM's tokens from the --oidc-issuer in the same position (or one for all).
    #[arg(long = "oidc-audience", env = "OPENPIM_OIDC_AUDIENCE", value_delimiter = ',', value_name = "AUD")]
    audiences: Vec<String>,
    /// The claim naming the directory user: default (oid as object id, then preferred_username
    /// or upn as userPrincipalName), oid, sub, preferred_username, upn or email.
    #[arg(long = "oidc-user-claim", env = "OPENPIM_OIDC_USER_CLAIM", default_value = "default")]
    user_claim: openpim_server::auth::external::UserClaim,
    /// An `acr` value that means the sign-in used MFA (repeatable), besides `amr` containing `mfa`.
    #[arg(long = "oidc-mfa-acr", env = "OPENPIM_OIDC_MFA_ACR", value_delimiter = ',', value_name = "ACR")]
    mfa_acr_values: Vec<String>,
    /// Create a directory user (no roles) on the first sign-in of someone the directory lacks,
    /// instead of refusing them.
    #[arg(long = "oidc-jit", env = "OPENPIM_OIDC_JIT")]
    jit: bool,
}

impl OidcArgs {
    /// One issuer configuration per --oidc-issuer, each with its audience.
    fn issuers(self) -> anyhow::Result<Vec<openpim_server::auth::external::IssuerConfig>> {
        let audience_for = |i: usize| match self.audiences.len() {
            1 => Ok(self.audiences[0].clone()),
            n if n == self.issuers.len() => Ok(self.audiences[i].clone()),
            n => Err(anyhow::anyhow!(
                "{} --oidc-issuer but {n} --oidc-audience: give one audience per issuer, in the same order, \
                 or one for all",
                self.issuers.len()
            )),
        };
        self.issuers
            .iter()
            .enumerate()
            .map(|(i, issuer)| {
                let mut config = openpim_server::auth::external::IssuerConfig::new(issuer, vec![audience_for(i)?])
                    .map_err(anyhow::Error::msg)?;
                config.user_claim = self.user_claim;
                config.mfa_acr_values = self.mfa_acr_values.clone();
                config.jit = self.jit;
                Ok(config)
            })
            .collect()
    }
}

#[derive(clap::Args)]
struct TokenArgs {
    /// Data directory of the server whose issuer signs the token.
    #[arg(long, env = "OPENPIM_DATA", default_value = "./openpim-data")]
    data: PathBuf,
    /// Database URL of that server (sqlite://PATH or postgres://...); defaults to SQLite in the
    /// data directory. The user is looked up there: the token names it by object id.
    #[arg(long, env = "OPENPIM_DATABASE_URL")]
    database: Option<String>,
    /// User principal name the token is for (it must exist and be enabled).
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
    /// The API the token is for: https://graph.microsoft.com (default) or
    /// https://management.azure.com/ (Azure Resource Manager; also its other spellings).
    #[arg(long, default_value = "https://graph.microsoft.com", value_parser = TokenAudience::parse)]
    audience: TokenAudience,
}

#[derive(clap::Args)]
struct RecoverArgs {
    /// Data directory of the stopped server (its lock is taken, so a running server is refused).
    #[arg(long, env = "OPENPIM_DATA", default_value = "./openpim-data")]
    data: PathBuf,
    /// Database URL (sqlite://PATH or postgres://...); defaults to SQLite in the data directory.
    #[arg(long, env = "OPENPIM_DATABASE_URL")]
    database: Option<String>,
    /// UPN to create or re-enable and give a permanent tenant-wide Global Administrator assignment.
    #[arg(long, value_name = "UPN")]
    grant_global_admin: String,
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

/// Installs the SIGTERM and SIGINT handlers and returns what resolves on either. Called before
/// the server starts: a signal that arrives as soon as it listens (a supervisor, a test) must
/// stop it gracefully, not find the default action still in place and kill it.
#[cfg(unix)]
fn install_shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
    })
}

#[cfg(not(unix))]
fn install_shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let shutdown = install_shutdown_signal()?;
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
        metrics_access: args.metrics,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(openpim_server::tls::TlsFiles { cert, key }),
            _ => None,
        },
        oidc_issuers: args.oidc.issuers()?,
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
    eprintln!("OpenPIM listening on {}", server.state.listen_origin);
    shutdown.await;
    tracing::info!("shutting down");
    server.stop().await
}

/// Mints a token bound to the object id of the user who holds `--user` now, looked up in the
/// server's store (the data directory's SQLite database unless `--database` says otherwise).
async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let issuer = LocalIssuer::load(&args.data)?;
    let store = match &args.database {
        Some(url) => openpim_store::Store::connect(url).await,
        None => openpim_store::Store::open_sqlite_dir(&args.data).await,
    }
    .context("opening the store to look the user up")?;
    let req = TokenRequest::for_upn(&store, &args.user, args.mfa, args.acrs, args.ttl).await;
    store.close().await;
    println!("{}", issuer.mint_for(&req?, args.audience, time::OffsetDateTime::now_utc()));
    Ok(())
}

async fn recover(args: RecoverArgs) -> anyhow::Result<()> {
    let operator = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let config = openpim_server::recover::RecoverConfig {
        data_dir: args.data.clone(),
        database_url: args.database,
        upn: args.grant_global_admin.clone(),
        operator,
    };
    let done = openpim_server::recover::run(&config, time::OffsetDateTime::now_utc()).await?;
    let upn = &args.grant_global_admin;
    if done.created_user {
        eprintln!("Created user {upn} ({}).", done.user_id);
    } else if done.re_enabled {
        eprintln!("Re-enabled user {upn} ({}).", done.user_id);
    }
    if done.granted {
        eprintln!("Granted {upn} a permanent Global Administrator assignment at scope /.");
    } else {
        eprintln!("{upn} already holds a permanent Global Administrator assignment at scope /.");
    }
    eprintln!(
        "Audited as \"{}\". Start the server, then mint a token with:\n  openpim token --data {} --user {upn} --mfa",
        openpim_server::recover::ACTIVITY,
        args.data.display()
    );
    Ok(())
}

/// The server's origin, for deciding whether a saved token belongs to it.
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

fn read_token_from_stdin() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::local("StdinUnreadable", format!("reading the token from standard input: {e}")))?;
    Ok(line.trim().to_string())
}

/// Runs a client command. A saved profile's token is only sent to the profile's own server.
async fn client(conn: ConnArgs, command: ClientCommand) -> Result<(), CliError> {
    let format = output::Format::resolve(conn.output);
    let mut conn = conn;
    // `--token -` reads the token from standard input, keeping it out of the process list.
    if conn.token.as_deref() == Some("-") {
        conn.token = Some(read_token_from_stdin()?);
    }
    let saved = commands::session::saved(&conn.profile)?;
    let server = conn
        .server
        .clone()
        .or_else(|| saved.as_ref().map(|p| p.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let token = conn.token.clone().or_else(|| saved.filter(|p| same_server(&p.server, &server)).map(|p| p.token));
    // Login checks and saves the token it was given, never one already saved.
    let connect = || client::Client::new(&server, token.clone()).map(|c| context::Ctx::new(c, format));
    match command {
        ClientCommand::Login => commands::session::login(&server, conn.token, &conn.profile, format).await,
        ClientCommand::Logout => commands::session::logout(&conn.profile, format),
        ClientCommand::Roles(c) => commands::roles::run(&connect()?, c).await,
        ClientCommand::Assignments(c) => commands::assignments::run(&connect()?, c).await,
        ClientCommand::Activate(a) => commands::activation::activate(&connect()?, a).await,
        ClientCommand::Deactivate(a) => commands::activation::deactivate(&connect()?, a).await,
        ClientCommand::My(c) => commands::activation::my(&connect()?, c).await,
        ClientCommand::Requests(c) => commands::requests::run(&connect()?, c).await,
        ClientCommand::Approvals(c) => commands::approvals::run(&connect()?, c).await,
        ClientCommand::Policy(c) => commands::policy::run(&connect()?, c).await,
        ClientCommand::Audit(c) => commands::audit::run(&connect()?, c).await,
        ClientCommand::Azure(c) => commands::azure::run(&connect()?, c).await,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Token(args) => token(args).await,
        Command::Recover(args) => recover(args).await,
        Command::Client(command) => {
            return match client(cli.conn, command).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    e.exit_code()
                }
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openpim: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["openpim", "serve"].iter().chain(args)).expect("arguments parse");
        match cli.command {
            Command::Serve(args) => args,
            _ => unreachable!("parsed a serve command"),
        }
    }

    #[test]
    fn oidc_issuers_pair_with_their_audiences() {
        let issuers = serve_args(&[
            "--oidc-issuer",
            "https://a.example.com",
            "--oidc-audience",
            "api://a",
            "--oidc-issuer",
            "https://b.example.com",
            "--oidc-audience",
            "api://b",
            "--oidc-mfa-acr",
            "gold",
            "--oidc-jit",
        ])
        .oidc
        .issuers()
        .unwrap();
        let pairs: Vec<_> = issuers.iter().map(|i| (i.issuer.as_str(), i.audiences.clone(), i.jit)).collect();
        assert_eq!(
            pairs,
            vec![
                ("https://a.example.com", vec!["api://a".to_string()], true),
                ("https://b.example.com", vec!["api://b".to_string()], true)
            ]
        );
        assert_eq!(issuers[1].mfa_acr_values, vec!["gold"]);
        // One audience serves every issuer.
        let shared = serve_args(&[
            "--oidc-issuer",
            "https://a.example.com",
            "--oidc-issuer",
            "https://b.example.com",
            "--oidc-audience",
            "api://x",
        ])
        .oidc
        .issuers()
        .unwrap();
        assert!(shared.iter().all(|i| i.audiences == vec!["api://x".to_string()]));
        // Two issuers, three audiences: which goes where is unclear, so refused.
        let e = serve_args(&[
            "--oidc-issuer",
            "https://a.example.com",
            "--oidc-issuer",
            "https://b.example.com",
            "--oidc-audience",
            "1",
            "--oidc-audience",
            "2",
            "--oidc-audience",
            "3",
        ])
        .oidc
        .issuers()
        .unwrap_err();
        assert!(e.to_string().contains("one audience per issuer"), "{e}");
        // No audience at all, or plain http to a remote host: refused.
        assert!(serve_args(&["--oidc-issuer", "https://a.example.com"]).oidc.issuers().is_err());
        assert!(serve_args(&["--oidc-issuer", "http://a.example.com", "--oidc-audience", "x"]).oidc.issuers().is_err());
        // TLS files come in pairs.
        assert!(Cli::try_parse_from(["openpim", "serve", "--tls-cert", "c.pem"]).is_err());
        assert!(serve_args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).tls_key.is_some());
    }
}
