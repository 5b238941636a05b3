//! `openpim`: run the service, mint local tokens, and the client commands that drive a server over
//! its Graph-compatible HTTP API. This file is the command tree and the dispatch only.

mod client;
mod commands;
mod config;
mod context;
mod device_flow;
mod duration;
mod error;
mod health;
mod output;
mod profile;
mod resolve;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use commands::activation::{ActivateArgs, DeactivateArgs, MyCommand};
use commands::approvals::ApprovalsCommand;
use commands::assignments::AssignmentsCommand;
use commands::audit::AuditCommand;
use commands::policy::PolicyCommand;
use commands::requests::RequestsCommand;
use commands::roles::RolesCommand;
use error::CliError;
use openpim_server::auth::{parse_ttl, LocalIssuer, TokenAudience, TokenRequest};
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
    /// Bearer token for Azure Resource Manager's routes (`openpim azure`), e.g. from `openpim
    /// token --audience https://management.azure.com/`; - reads it from standard input
    /// [default: the --token/profile token, which an identity provider's token for OpenPIM's
    /// audience is valid for].
    #[arg(long, env = "OPENPIM_ARM_TOKEN", global = true, hide_env_values = true, help_heading = "Connection")]
    arm_token: Option<String>,
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
    // Boxed: its flags outweigh every other command's (clippy::large_enum_variant).
    Serve(Box<ServeArgs>),
    /// Print a bearer token from the local issuer (for bootstrap, scripts and tests).
    Token(TokenArgs),
    /// Break-glass recovery, offline (the server must be stopped): make a user Global Administrator.
    Recover(RecoverArgs),
    /// Back up a SQLite data directory into one file, while its server runs (PostgreSQL: use
    /// pg_dump, see docs/OPERATIONS.md).
    Backup(BackupArgs),
    /// Restore a backup into a new, empty data directory (then start the server on it).
    Restore(RestoreArgs),
    /// Sign in to a server: with --token, check it and save it; without, sign in at the server's
    /// identity provider (device flow). Saved under the profile (file mode 0600).
    Login(LoginArgs),
    /// Forget a saved profile.
    Logout,
    /// The configuration file: check it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Probe a server's /healthz (or /readyz with --ready): exit 0 on 200, else 1 (container
    /// health checks).
    Health(health::HealthArgs),
    #[command(flatten)]
    Client(ClientCommand),
}

/// The commands that talk to a server over HTTP.
#[derive(Subcommand)]
enum ClientCommand {
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
    /// PIM security alerts: list, show, dismiss, refresh, config (`--scope` for an Azure scope's).
    Alerts(commands::alerts::AlertsArgs),
    /// Azure resources: PIM for Azure roles (roles, assignments, activate, deactivate, my roles,
    /// approvals, policy) over ARM, and registering subscriptions.
    #[command(subcommand)]
    Azure(commands::azure::AzureCommand),
    /// Access checks (now or at a past instant) and the access history: who held which role when.
    #[command(subcommand)]
    Access(commands::access::AccessCommand),
    /// Policy as code: write the tenant's roles, groups, settings and assignments as YAML.
    Export(commands::as_code::ExportArgs),
    /// Policy as code: what applying a file would change (exit 0 none, 2 changes, 1 invalid file).
    Plan(commands::as_code::PlanArgs),
    /// Policy as code: make the tenant match a file, through the API, stopping at a refusal.
    Apply(commands::as_code::ApplyArgs),
    /// Policy as code: check a file offline, or print its JSON Schema.
    Validate(commands::as_code::ValidateArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration `serve` would run with (--config file, flags, OPENPIM_*
    /// variables, defaults) and print it as TOML with secrets masked; exit 2 listing every
    /// problem. Touches no port, data directory or database.
    Check(Box<ServeArgs>),
}

#[derive(clap::Args)]
struct LoginArgs {
    /// The identity provider to sign in with, when the server trusts several (its issuer URL).
    #[arg(long, value_name = "URL", conflicts_with = "token")]
    issuer: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file holding any of these settings (see docs/OPERATIONS.md); flags
    /// and OPENPIM_* variables override it.
    #[arg(long, env = "OPENPIM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// How often the audit chain's head is signed as a checkpoint when records were added (e.g.
    /// 5m, 1h; 1s to 30d).
    #[arg(long, env = "OPENPIM_AUDIT_CHECKPOINT_INTERVAL", default_value = "5m", value_parser = parse_ttl)]
    audit_checkpoint_interval: std::time::Duration,
    /// POST every notification as JSON to this URL (off by default).
    #[arg(long, env = "OPENPIM_NOTIFY_WEBHOOK")]
    notify_webhook: Option<String>,
    /// Send notification e-mails through this SMTP server (off by default): smtps://user@host:465
    /// (implicit TLS), smtp://user@host:587?tls=starttls (STARTTLS required), or smtp://host:25
    /// (plain, for a local relay). A password may be in the URL; --smtp-password-file is better.
    #[arg(long, env = "OPENPIM_SMTP_URL", requires = "smtp_from", hide_env_values = true)]
    smtp_url: Option<String>,
    /// File holding the SMTP password (kept out of the process list); the URL names the user.
    #[arg(long, env = "OPENPIM_SMTP_PASSWORD_FILE", requires = "smtp_url", value_name = "FILE")]
    smtp_password_file: Option<PathBuf>,
    /// PEM bundle of a private CA that signed the SMTP server's certificate (besides public CAs).
    #[arg(long, env = "OPENPIM_SMTP_CA_FILE", requires = "smtp_url", value_name = "FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// Sender address of notification e-mails.
    #[arg(long, env = "OPENPIM_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Log filter in `tracing` syntax, e.g. info,openpim_server=debug [default: info,sqlx=warn,tower_http=warn].
    #[arg(long, env = "OPENPIM_LOG", value_name = "FILTER")]
    log: Option<String>,
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
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before their
    /// connections are closed.
    #[arg(long, env = "OPENPIM_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_ttl)]
    shutdown_timeout: std::time::Duration,
    /// /readyz fails when this node's index is further behind the change feed (PostgreSQL).
    #[arg(long, env = "OPENPIM_READY_MAX_LAG", default_value = "30s", value_parser = parse_ttl)]
    ready_max_lag: std::time::Duration,
    /// Refused (403/400) attempts one caller may make per minute before being answered 429 (0: no limit).
    #[arg(long, env = "OPENPIM_REFUSALS_PER_MINUTE", default_value_t = openpim_server::limits::DEFAULT_REFUSALS_PER_MINUTE)]
    refusals_per_minute: u32,
    /// Web sign-ins one client address may make per minute (0: no limit).
    #[arg(long, env = "OPENPIM_SIGNINS_PER_MINUTE", default_value_t = openpim_server::limits::DEFAULT_SIGNINS_PER_MINUTE)]
    signins_per_minute: u32,
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
    // CLI sign-in (`openpim login`, device flow).
    /// The provider's public client for `openpim login` (device authorization grant), for the
    /// --oidc-issuer in the same position (or one for all).
    #[arg(long = "oidc-cli-client-id", env = "OPENPIM_OIDC_CLI_CLIENT_ID", value_delimiter = ',', value_name = "ID")]
    cli_client_ids: Vec<String>,
    /// How clients ask the --oidc-issuer in the same position (or all) for OpenPIM's audience:
    /// resource (RFC 8707 parameter), scope ({audience}/.default, Entra ID) or none.
    #[arg(
        long = "oidc-cli-audience-via",
        env = "OPENPIM_OIDC_CLI_AUDIENCE_VIA",
        value_delimiter = ',',
        value_name = "resource|scope|none"
    )]
    cli_audience_via: Vec<openpim_server::auth::external::AudienceVia>,
    /// TOML file with one [[issuer]] section per trusted issuer and every per-issuer setting;
    /// its issuers come after the --oidc-issuer ones (see README).
    #[arg(long = "oidc-config", env = "OPENPIM_OIDC_CONFIG", value_name = "FILE")]
    config_file: Option<PathBuf>,
    #[command(flatten)]
    web: WebSigninArgs,
}

/// Web UI sign-in through the issuers ("Sign in with <provider>"), and the local issuer's
/// token sign-in. Per-issuer values pair with --oidc-issuer by position; `-` leaves a place empty.
#[derive(clap::Args)]
struct WebSigninArgs {
    /// The web UI's client id at the --oidc-issuer in the same position (`-`: no web sign-in
    /// there). Its redirect URI is {public URL}/signin/oidc/callback.
    #[arg(
        long = "oidc-client-id",
        allow_hyphen_values = true,
        env = "OPENPIM_OIDC_CLIENT_ID",
        value_delimiter = ',',
        value_name = "ID"
    )]
    client_ids: Vec<String>,
    /// The secret of the --oidc-client-id in the same position (`-` or none: a public client,
    /// PKCE alone).
    #[arg(
        long = "oidc-client-secret",
        allow_hyphen_values = true,
        env = "OPENPIM_OIDC_CLIENT_SECRET",
        value_delimiter = ',',
        hide_env_values = true,
        value_name = "SECRET",
        conflicts_with = "client_secret_files"
    )]
    client_secrets: Vec<String>,
    /// Like --oidc-client-secret, read from a file (kept out of the process list).
    #[arg(
        long = "oidc-client-secret-file",
        allow_hyphen_values = true,
        env = "OPENPIM_OIDC_CLIENT_SECRET_FILE",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    client_secret_files: Vec<String>,
    /// The provider's name on the sign-in page [default: the issuer's host].
    #[arg(
        long = "oidc-display-name",
        allow_hyphen_values = true,
        env = "OPENPIM_OIDC_DISPLAY_NAME",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    display_names: Vec<String>,
    /// Accept tokens of this server's local issuer (`openpim token`, token paste on the sign-in
    /// page). With false, people sign in through an --oidc-issuer only.
    #[arg(long = "local-issuer", env = "OPENPIM_LOCAL_ISSUER", default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    local_issuer: bool,
}

impl WebSigninArgs {
    /// Adds the web clients and display names to `issuers`, by position.
    fn apply(&self, issuers: &mut [openpim_server::auth::external::IssuerConfig]) -> anyhow::Result<()> {
        let n = issuers.len();
        // `-` (or an empty value) leaves that issuer without one.
        let given = |values: &[String], i: usize, flag: &str| -> anyhow::Result<Option<String>> {
            Ok(positional(values, n, i, flag)?.map(|v| v.trim().to_string()).filter(|v| !v.is_empty() && v != "-"))
        };
        for (i, issuer) in issuers.iter_mut().enumerate() {
            let secret = if self.client_secret_files.is_empty() {
                given(&self.client_secrets, i, "--oidc-client-secret")?
            } else {
                given(&self.client_secret_files, i, "--oidc-client-secret-file")?
                    .map(|f| {
                        std::fs::read_to_string(&f)
                            .map(|s| s.trim().to_string())
                            .with_context(|| format!("reading --oidc-client-secret-file {f}"))
                    })
                    .transpose()?
            };
            if let Some(name) = given(&self.display_names, i, "--oidc-display-name")? {
                issuer.display_name = Some(name);
            }
            issuer.web_client = match (given(&self.client_ids, i, "--oidc-client-id")?, secret) {
                (Some(client_id), client_secret) => {
                    Some(openpim_server::auth::external::WebClient { client_id, client_secret })
                }
                (None, Some(_)) => anyhow::bail!("a client secret is given for issuer {} without a client id", i + 1),
                (None, None) => None,
            };
        }
        Ok(())
    }
}

/// The value of a per-issuer flag for issuer `i` of `issuers`: none given, one for all, or one
/// per issuer in the same order; any other count is ambiguous and refused.
fn positional<T: Clone>(values: &[T], issuers: usize, i: usize, flag: &str) -> anyhow::Result<Option<T>> {
    match values.len() {
        0 => Ok(None),
        1 => Ok(Some(values[0].clone())),
        n if n == issuers => Ok(Some(values[i].clone())),
        n => Err(anyhow::anyhow!(
            "{issuers} --oidc-issuer but {n} {flag}: give one per issuer, in the same order, or one for all"
        )),
    }
}

impl OidcArgs {
    /// One issuer configuration per --oidc-issuer, each with its audience, then the issuer
    /// file's.
    fn issuers(&self) -> anyhow::Result<Vec<openpim_server::auth::external::IssuerConfig>> {
        use openpim_server::auth::external::{CliSignIn, IssuerConfig};
        let n = self.issuers.len();
        let mut configs = self
            .issuers
            .iter()
            .enumerate()
            .map(|(i, issuer)| {
                let audience = positional(&self.audiences, n, i, "--oidc-audience")?.unwrap_or_default();
                let mut config = IssuerConfig::new(issuer, vec![audience]).map_err(anyhow::Error::msg)?;
                config.user_claim = self.user_claim;
                config.mfa_acr_values = self.mfa_acr_values.clone();
                config.jit = self.jit;
                config.cli = CliSignIn {
                    client_id: positional(&self.cli_client_ids, n, i, "--oidc-cli-client-id")?,
                    audience_via: positional(&self.cli_audience_via, n, i, "--oidc-cli-audience-via")?
                        .unwrap_or_default(),
                };
                Ok(config)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(path) = &self.config_file {
            configs.extend(openpim_server::auth::issuer_file::load(path)?);
        }
        self.web.apply(&mut configs[..n])?;
        Ok(configs)
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
struct BackupArgs {
    /// Data directory of the (running or stopped) server.
    #[arg(long, env = "OPENPIM_DATA", default_value = "./openpim-data")]
    data: PathBuf,
    /// The backup file to write (never overwritten; mode 0600: it holds the issuer key).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Leave the token issuer key out of the file; `restore --issuer-key` then needs it.
    #[arg(long)]
    without_issuer_key: bool,
    /// Refused unless SQLite: a PostgreSQL store is backed up with pg_dump.
    #[arg(long, env = "OPENPIM_DATABASE_URL", hide = true)]
    database: Option<String>,
}

#[derive(clap::Args)]
struct RestoreArgs {
    /// The backup file written by `openpim backup`.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The data directory to create (it must not exist or be empty).
    #[arg(long, env = "OPENPIM_DATA")]
    data: PathBuf,
    /// The issuer key (issuer-key.p8) for a backup taken with --without-issuer-key; checked
    /// against the fingerprint the backup records.
    #[arg(long, value_name = "FILE")]
    issuer_key: Option<PathBuf>,
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

fn init_logging(json: bool, filter: Option<&str>) {
    // `filter` is --log / OPENPIM_LOG / the file's `log`, checked by `config check` already.
    let filter = filter
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        // One JSON object per line, the event's fields at the top level (`"status":200`) and
        // the request span's (`"span":{"request_id":..}`) alongside.
        builder.json().flatten_event(true).init();
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

/// The configuration `serve` runs with: the --config file's values under the flags' and the
/// environment's (`matches` tells which were given), checked. Every problem, or the settings.
async fn resolve_config(mut args: ServeArgs, matches: &clap::ArgMatches) -> Result<config::Resolved, Vec<String>> {
    let mut problems = Vec::new();
    let file_issuers = match args.config.clone() {
        Some(path) => match config::load(&path) {
            Ok(loaded) => loaded.apply(&mut args, matches, &mut problems),
            Err(e) => {
                problems.push(e);
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    config::resolve(args, file_issuers, problems).await
}

/// `config check`: the effective configuration on standard output, or every problem on standard
/// error and exit status 2.
async fn config_check(args: ServeArgs, matches: &clap::ArgMatches) -> std::process::ExitCode {
    match resolve_config(args, matches).await {
        Ok(resolved) => {
            print!("{}", config::effective(&resolved));
            std::process::ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("openpim: the configuration has {} problem(s):", problems.len());
            for p in problems {
                eprintln!("  - {p}");
            }
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let resolved = resolve_config(args, matches).await.map_err(|problems| anyhow::anyhow!(problems.join("; ")))?;
    init_logging(resolved.log_json, resolved.log.as_deref());
    let shutdown = install_shutdown_signal()?;
    let data_dir = resolved.server.data_dir.clone();
    let server = openpim_server::start(resolved.server).await.context("starting the server")?;
    // (Started with the OPENPIM_* variables' limits; the flags' and file's replace them before
    // the address is announced.)
    server.state.limits.configure(resolved.limits);
    server.state.readiness.set_max_lag(resolved.ready_max_lag);
    if let Some(admin) = &server.created_admin {
        tracing::info!(%admin, "new store bootstrapped: built-in roles created, {admin} is Global Administrator");
        eprintln!(
            "Bootstrapped a new tenant. Mint the administrator's token with:\n  openpim token --data {} --user {admin}",
            data_dir.display()
        );
    }
    tracing::info!(addr = %server.addr, "OpenPIM listening");
    eprintln!("OpenPIM listening on {}", server.state.listen_origin);
    shutdown.await;
    tracing::info!(timeout = ?resolved.shutdown_timeout, "shutting down: draining in-flight requests");
    server.stop_within(resolved.shutdown_timeout).await?;
    tracing::info!("stopped");
    Ok(())
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

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    if let Some(url) = args.database.as_deref().filter(|u| !u.starts_with("sqlite:")) {
        let scheme = url.split(':').next().unwrap_or(url);
        anyhow::bail!(
            "`openpim backup` copies a SQLite data directory; this server's store is {scheme}: back it up with \
             pg_dump (docs/OPERATIONS.md, \"Backups and restore\"), and keep a copy of {}/issuer-key.p8 and issuer.json",
            args.data.display()
        );
    }
    let request = openpim_server::backup::BackupRequest {
        data_dir: args.data,
        to: args.to.clone(),
        without_issuer_key: args.without_issuer_key,
    };
    let manifest = openpim_server::backup::backup(&request, time::OffsetDateTime::now_utc()).await?;
    eprintln!(
        "Backed up to {} ({} bytes of database, schema {}, issuer key {}{}).",
        args.to.display(),
        manifest.database_bytes,
        manifest.schema_version,
        manifest.issuer_key_sha256,
        if manifest.includes_issuer_key { " included" } else { " NOT included: keep it safe elsewhere" }
    );
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let request = openpim_server::backup::RestoreRequest {
        from: args.from,
        data_dir: args.data.clone(),
        issuer_key: args.issuer_key,
    };
    let restored = openpim_server::backup::restore(&request).await?;
    eprintln!(
        "Restored the backup of {} into {} (integrity check ok, schema {}, issuer key {}). Start the server with:\n  openpim serve --data {}",
        restored.manifest.created_date_time,
        args.data.display(),
        restored.facts.schema_version,
        restored.manifest.issuer_key_sha256,
        args.data.display()
    );
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

/// `--token -` reads the token from standard input, keeping it out of the process list.
fn read_token_arg(conn: &mut ConnArgs) -> Result<(), CliError> {
    if conn.token.as_deref() == Some("-") && conn.arm_token.as_deref() == Some("-") {
        return Err(CliError::usage("--token - and --arm-token - cannot both read standard input"));
    }
    if conn.token.as_deref() == Some("-") {
        conn.token = Some(read_token_from_stdin()?);
    }
    if conn.arm_token.as_deref() == Some("-") {
        conn.arm_token = Some(read_token_from_stdin()?);
    }
    Ok(())
}

/// `login`: checks and saves the token it was given, or gets one at the server's provider; never
/// reuses one already saved.
async fn login(mut conn: ConnArgs, args: LoginArgs) -> Result<(), CliError> {
    let format = output::Format::resolve(conn.output);
    read_token_arg(&mut conn)?;
    let saved = commands::session::saved(&conn.profile)?;
    let server = conn.server.or_else(|| saved.map(|p| p.server)).unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let credential = match conn.token {
        Some(token) => commands::session::Credential::Token(token),
        None => commands::session::Credential::DeviceFlow { issuer: args.issuer },
    };
    commands::session::login(&server, credential, &conn.profile, format).await
}

/// Runs a client command. A saved profile's token is only sent to the profile's own server, and
/// refreshed first when it came from an identity provider and is near its end.
async fn client(mut conn: ConnArgs, command: ClientCommand) -> Result<(), CliError> {
    let format = output::Format::resolve(conn.output);
    read_token_arg(&mut conn)?;
    let saved = commands::session::saved(&conn.profile)?;
    let server = conn
        .server
        .clone()
        .or_else(|| saved.as_ref().map(|p| p.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let token = match (conn.token.clone(), saved.filter(|p| same_server(&p.server, &server))) {
        (Some(token), _) => Some(token),
        (None, Some(profile)) => Some(commands::session::current_token(&conn.profile, profile).await?),
        (None, None) => None,
    };
    // ARM routes take a token for ARM's audience; without one, the Graph token is tried (an
    // identity provider's token for OpenPIM's configured audience is valid on both).
    let arm_token = conn.arm_token.clone().or_else(|| token.clone());
    let connect = || {
        Ok::<_, CliError>(context::Ctx::new(
            client::Client::new(&server, token.clone())?,
            client::Client::new(&server, arm_token.clone())?,
            format,
        ))
    };
    match command {
        ClientCommand::Roles(c) => commands::roles::run(&connect()?, c).await,
        ClientCommand::Assignments(c) => commands::assignments::run(&connect()?, c).await,
        ClientCommand::Activate(a) => commands::activation::activate(&connect()?, a).await,
        ClientCommand::Deactivate(a) => commands::activation::deactivate(&connect()?, a).await,
        ClientCommand::My(c) => commands::activation::my(&connect()?, c).await,
        ClientCommand::Requests(c) => commands::requests::run(&connect()?, c).await,
        ClientCommand::Approvals(c) => commands::approvals::run(&connect()?, c).await,
        ClientCommand::Policy(c) => commands::policy::run(&connect()?, c).await,
        ClientCommand::Audit(c) => commands::audit::run(&connect()?, c).await,
        ClientCommand::Alerts(c) => commands::alerts::run(&connect()?, c).await,
        ClientCommand::Azure(c) => commands::azure::run(&connect()?, c).await,
        ClientCommand::Access(c) => commands::access::run(&connect()?, c).await,
        ClientCommand::Export(a) => commands::as_code::export(&connect()?, a).await,
        ClientCommand::Plan(a) => commands::as_code::plan(&connect()?, a).await,
        ClientCommand::Apply(a) => commands::as_code::apply(&connect()?, a).await,
        ClientCommand::Validate(a) => commands::as_code::validate(&connect()?, a),
    }
}

/// A client command's exit status, its error (if any) on standard error.
fn exit(result: Result<(), CliError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `openpim plan` with changes: its output already said so.
        Err(e) if e.kind == error::Kind::ChangesPending => e.exit_code(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The matches are kept: `serve` and `config check` ask them whether a value came from the
    // command line or the environment (then it beats the configuration file's).
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Serve(args) => serve(*args, matches.subcommand_matches("serve").expect("serve matches")).await,
        Command::Config(ConfigCommand::Check(args)) => {
            let check = matches.subcommand_matches("config").and_then(|m| m.subcommand_matches("check"));
            return config_check(*args, check.expect("config check matches")).await;
        }
        Command::Health(args) => return health::run(args).await,
        Command::Token(args) => token(args).await,
        Command::Recover(args) => recover(args).await,
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(args).await,
        Command::Login(args) => return exit(login(cli.conn, args).await),
        Command::Logout => {
            let format = output::Format::resolve(cli.conn.output);
            return exit(commands::session::logout(&cli.conn.profile, format).await);
        }
        Command::Client(command) => return exit(client(cli.conn, command).await),
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

    #[test]
    fn issuer_file_sections_come_after_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("issuers.toml");
        std::fs::write(&file, "[[issuer]]\nurl = \"https://file.example.com\"\naudience = \"api://f\"\njit = true\n")
            .unwrap();
        let file_arg = file.to_str().unwrap();
        let issuers = serve_args(&[
            "--oidc-issuer",
            "https://flag.example.com",
            "--oidc-audience",
            "api://x",
            "--oidc-config",
            file_arg,
        ])
        .oidc
        .issuers()
        .unwrap();
        let got: Vec<_> = issuers.iter().map(|i| (i.issuer.as_str(), i.audiences[0].as_str(), i.jit)).collect();
        assert_eq!(
            got,
            vec![("https://flag.example.com", "api://x", false), ("https://file.example.com", "api://f", true)]
        );
        // The file alone is enough, and its errors name it.
        assert_eq!(serve_args(&["--oidc-config", file_arg]).oidc.issuers().unwrap().len(), 1);
        std::fs::write(&file, "[[issuer]]\nurl = \"https://file.example.com\"\n").unwrap();
        let e = serve_args(&["--oidc-config", file_arg]).oidc.issuers().unwrap_err().to_string();
        assert!(e.contains(file_arg) && e.contains("`audience`"), "{e}");
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["openpim", "serve"].iter().chain(args)).expect("arguments parse");
        match cli.command {
            Command::Serve(args) => *args,
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
        assert!(e.to_string().contains("3 --oidc-audience: give one per issuer"), "{e}");
        // No audience at all, or plain http to a remote host: refused.
        assert!(serve_args(&["--oidc-issuer", "https://a.example.com"]).oidc.issuers().is_err());
        assert!(serve_args(&["--oidc-issuer", "http://a.example.com", "--oidc-audience", "x"]).oidc.issuers().is_err());
        // The CLI's client ids pair the same way; the audience style may be one for all.
        let issuers = serve_args(&[
            "--oidc-issuer",
            "https://a.example.com",
            "--oidc-issuer",
            "https://b.example.com",
            "--oidc-audience",
            "api://x",
            "--oidc-cli-client-id",
            "cli-a",
            "--oidc-cli-client-id",
            "cli-b",
            "--oidc-cli-audience-via",
            "scope",
        ])
        .oidc
        .issuers()
        .unwrap();
        let cli: Vec<_> = issuers.iter().map(|i| (i.cli.client_id.as_deref(), i.cli.audience_via)).collect();
        use openpim_server::auth::external::AudienceVia;
        assert_eq!(cli, vec![(Some("cli-a"), AudienceVia::Scope), (Some("cli-b"), AudienceVia::Scope)]);
        assert!(Cli::try_parse_from(["openpim", "serve", "--oidc-cli-audience-via", "header"]).is_err());
        // Web clients pair with issuers by position; `-` leaves one without.
        let web = serve_args(&[
            "--oidc-issuer",
            "https://a.example.com",
            "--oidc-issuer",
            "https://b.example.com",
            "--oidc-audience",
            "api://x",
            "--oidc-client-id",
            "-,web-b",
            "--oidc-client-secret",
            "-,s3cret",
            "--oidc-display-name",
            "A,Bee",
        ]);
        assert!(web.oidc.web.local_issuer, "the local issuer stays on by default");
        let web = web.oidc.issuers().unwrap();
        assert!(web[0].web_client.is_none());
        let b = web[1].web_client.as_ref().unwrap();
        assert_eq!((b.client_id.as_str(), b.client_secret.as_deref()), ("web-b", Some("s3cret")));
        assert_eq!(web[1].provider_name(), "Bee");
        assert!(!format!("{:?}", web[1]).contains("s3cret"), "secrets stay out of logs");
        let e =
            serve_args(&["--oidc-issuer", "https://a.example.com", "--oidc-audience", "x", "--oidc-client-id", "a,b"])
                .oidc
                .issuers()
                .unwrap_err();
        assert!(e.to_string().contains("one per issuer"), "{e}");
        assert!(!serve_args(&["--local-issuer", "false"]).oidc.web.local_issuer);
        // TLS files come in pairs.
        assert!(Cli::try_parse_from(["openpim", "serve", "--tls-cert", "c.pem"]).is_err());
        assert!(serve_args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).tls_key.is_some());
    }
}
