//! `openpim serve --config FILE` and `openpim config check`: the configuration file.
//!
//! The file holds everything `serve`'s flags hold, as TOML (keys are the flags' names with `_`
//! for `-`, grouped in `[tls]`, `[notifications]` and `[limits]`; trusted issuers are
//! `[[issuer]]` sections in the `--oidc-config` format). A value given on the command line or
//! in an `OPENPIM_*` variable wins over the file's, which wins over the default: clap tells
//! which it was ([`clap::ArgMatches::value_source`]), so a flag left at its default never hides
//! the file's value. Unknown keys are refused (a misspelt key is an error naming it and its
//! line, not a silent default). Secrets can stay out of the file: `database_file`,
//! `notifications.webhook_file`, `notifications.smtp_url_file` and an issuer's
//! `client_secret_file` name a file holding the value.
//!
//! ```toml
//! listen = "0.0.0.0:8080"
//! data = "/var/lib/openpim"
//! database_file = "/run/secrets/openpim-database-url"   # or database = "postgres://..."
//! bootstrap_admin = "admin@example.com"
//! public_url = "https://pim.example.com"
//! approval_timeout = "24h"
//! audit_checkpoint_interval = "5m"
//! shutdown_timeout = "30s"
//! ready_max_lag = "30s"
//! log = "info,sqlx=warn"
//! log_json = true
//! metrics = "loopback"
//! local_issuer = true
//!
//! [tls]
//! cert = "/etc/openpim/tls/cert.pem"
//! key = "/etc/openpim/tls/key.pem"
//!
//! [notifications]
//! webhook = "https://hooks.example.com/pim"
//! smtp_url = "smtp://mail.example.com:25"
//! smtp_from = "pim@example.com"
//!
//! [limits]
//! refusals_per_minute = 600
//! signins_per_minute = 60
//!
//! [[issuer]]
//! url = "https://login.microsoftonline.com/TENANT-ID/v2.0"
//! audience = "api://openpim"
//! ```

use crate::ServeArgs;
use clap::parser::ValueSource;
use clap::ArgMatches;
use openpim_server::auth::external::{AudienceVia, IssuerConfig, UserClaim};
use openpim_server::auth::issuer_file::IssuerSection;
use openpim_server::limits::RateLimitConfig;
use openpim_server::metrics::MetricsAccess;
use openpim_server::notify::{NotificationConfig, SmtpConfig, SmtpSecrets};
use openpim_server::ServerConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// What `config check` prints in place of a secret.
pub const MASK: &str = "***";

/// The file, as written. Every value is optional: what it leaves out comes from the flags,
/// the environment or the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<Spanned<String>>,
    data: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    database_file: Option<Spanned<String>>,
    bootstrap_admin: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    approval_timeout: Option<Spanned<String>>,
    audit_checkpoint_interval: Option<Spanned<String>>,
    shutdown_timeout: Option<Spanned<String>>,
    ready_max_lag: Option<Spanned<String>>,
    log: Option<Spanned<String>>,
    log_json: Option<bool>,
    metrics: Option<Spanned<String>>,
    local_issuer: Option<bool>,
    oidc_config: Option<Spanned<String>>,
    tls: Option<TlsSection>,
    notifications: Option<NotificationsSection>,
    limits: Option<LimitsSection>,
    #[serde(default)]
    issuer: Vec<IssuerSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsSection {
    webhook: Option<Spanned<String>>,
    webhook_file: Option<Spanned<String>>,
    smtp_url: Option<Spanned<String>>,
    smtp_url_file: Option<Spanned<String>>,
    smtp_password_file: Option<Spanned<String>>,
    smtp_ca_file: Option<Spanned<String>>,
    smtp_from: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    refusals_per_minute: Option<u32>,
    signins_per_minute: Option<u32>,
}

/// A configuration file read and parsed.
pub struct Loaded {
    path: PathBuf,
    text: String,
    file: FileConfig,
}

/// Reads and parses the file; a TOML error (an unknown key, a wrong type) names the file, the
/// line and the key.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let file = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))?;
    Ok(Loaded { path: path.to_path_buf(), text, file })
}

/// Whether the command line or the environment gave `id` (then it wins over the file).
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
}

/// Everything `serve` needs, resolved from flags, environment, file and defaults.
pub struct Resolved {
    pub server: ServerConfig,
    pub shutdown_timeout: Duration,
    pub ready_max_lag: Duration,
    pub limits: RateLimitConfig,
    pub log_json: bool,
    /// The log filter, if one was given.
    pub log: Option<String>,
    /// As given, for display (masked).
    smtp_url: Option<String>,
    /// Where the SMTP password and private CA were read from, for display.
    smtp_password_file: Option<PathBuf>,
    smtp_ca_file: Option<PathBuf>,
}

impl Loaded {
    /// `key` at the line its value is on, for errors.
    fn at<T>(&self, key: &str, value: &Spanned<T>) -> String {
        let line = self.text[..value.span().start.min(self.text.len())].matches('\n').count() + 1;
        format!("{}, line {line}, `{key}`", self.path.display())
    }

    /// The contents of the file a `*_file` key names (relative paths are relative to the
    /// configuration file), trimmed.
    fn secret_file(&self, key: &str, value: &Spanned<String>, problems: &mut Vec<String>) -> Option<String> {
        let path = self.path.parent().unwrap_or(Path::new(".")).join(value.get_ref());
        match std::fs::read_to_string(&path) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) => {
                problems.push(format!("{}: cannot read {}: {e}", self.at(key, value), path.display()));
                None
            }
        }
    }

    /// One of `key` and `key_file`, or neither; both is a mistake.
    fn value_or_file(
        &self,
        key: &str,
        value: &Option<Spanned<String>>,
        file_key: &str,
        file: &Option<Spanned<String>>,
        problems: &mut Vec<String>,
    ) -> Option<String> {
        match (value, file) {
            (Some(v), Some(_)) => {
                problems.push(format!("{}: give `{key}` or `{file_key}`, not both", self.at(key, v)));
                None
            }
            (Some(v), None) => Some(v.get_ref().clone()),
            (None, Some(f)) => self.secret_file(file_key, f, problems),
            (None, None) => None,
        }
    }

    /// Parses a value with the flag's own parser, naming the key and line when it fails.
    fn parse<T>(
        &self,
        key: &str,
        value: &Spanned<String>,
        parse: impl Fn(&str) -> Result<T, String>,
        problems: &mut Vec<String>,
    ) -> Option<T> {
        match parse(value.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("{}: {e}", self.at(key, value)));
                None
            }
        }
    }

    /// Puts the file's values into `args` wherever neither a flag nor a variable gave one, and
    /// returns the file's issuers (which come after the flags' ones, like `--oidc-config`'s).
    pub fn apply(mut self, args: &mut ServeArgs, m: &ArgMatches, problems: &mut Vec<String>) -> Vec<IssuerConfig> {
        let sections = std::mem::take(&mut self.file.issuer);
        let f = &self.file;
        macro_rules! string {
            ($id:literal, $field:expr, $value:expr, $conv:expr) => {
                if !given(m, $id) {
                    if let Some(v) = $value {
                        $field = $conv(v.get_ref().clone());
                    }
                }
            };
        }
        macro_rules! parsed {
            ($id:literal, $key:literal, $field:expr, $value:expr, $parse:expr) => {
                if !given(m, $id) {
                    if let Some(v) = &$value {
                        if let Some(parsed) = self.parse($key, v, $parse, problems) {
                            $field = parsed;
                        }
                    }
                }
            };
        }
        parsed!("listen", "listen", args.listen, f.listen, |s: &str| s
            .parse::<std::net::SocketAddr>()
            .map_err(|e| format!("'{s}': {e}")));
        string!("data", args.data, &f.data, PathBuf::from);
        if !given(m, "database") {
            if let Some(url) = self.value_or_file("database", &f.database, "database_file", &f.database_file, problems)
            {
                args.database = Some(url);
            }
        }
        string!("bootstrap_admin", args.bootstrap_admin, &f.bootstrap_admin, |v| v);
        string!("public_url", args.public_url, &f.public_url, Some);
        let duration = |s: &str| openpim_server::auth::parse_ttl(s);
        parsed!("approval_timeout", "approval_timeout", args.approval_timeout, f.approval_timeout, duration);
        parsed!(
            "audit_checkpoint_interval",
            "audit_checkpoint_interval",
            args.audit_checkpoint_interval,
            f.audit_checkpoint_interval,
            duration
        );
        parsed!("shutdown_timeout", "shutdown_timeout", args.shutdown_timeout, f.shutdown_timeout, duration);
        parsed!("ready_max_lag", "ready_max_lag", args.ready_max_lag, f.ready_max_lag, duration);
        string!("log", args.log, &f.log, Some);
        if !given(m, "log_json") {
            if let Some(v) = f.log_json {
                args.log_json = v;
            }
        }
        parsed!("metrics", "metrics", args.metrics, f.metrics, |s: &str| s.parse::<MetricsAccess>());
        if !given(m, "local_issuer") {
            if let Some(v) = f.local_issuer {
                args.oidc.web.local_issuer = v;
            }
        }
        string!("config_file", args.oidc.config_file, &f.oidc_config, |v| Some(PathBuf::from(v)));
        if let Some(tls) = &f.tls {
            // The pair goes together: a flag for either replaces both of the file's.
            if !given(m, "tls_cert") && !given(m, "tls_key") {
                match (&tls.cert, &tls.key) {
                    (Some(cert), Some(key)) => {
                        args.tls_cert = Some(cert.get_ref().into());
                        args.tls_key = Some(key.get_ref().into());
                    }
                    (Some(one), None) | (None, Some(one)) => {
                        problems.push(format!("{}: [tls] needs both `cert` and `key`", self.at("tls", one)))
                    }
                    (None, None) => {}
                }
            }
        }
        if let Some(n) = &f.notifications {
            if !given(m, "notify_webhook") {
                if let Some(url) = self.value_or_file("webhook", &n.webhook, "webhook_file", &n.webhook_file, problems)
                {
                    args.notify_webhook = Some(url);
                }
            }
            if !given(m, "smtp_url") {
                if let Some(url) =
                    self.value_or_file("smtp_url", &n.smtp_url, "smtp_url_file", &n.smtp_url_file, problems)
                {
                    args.smtp_url = Some(url);
                }
            }
            string!("smtp_from", args.smtp_from, &n.smtp_from, Some);
            // Paths relative to the configuration file, as the other `*_file` keys.
            let beside = |v: String| Some(self.path.parent().unwrap_or(Path::new(".")).join(v));
            string!("smtp_password_file", args.smtp_password_file, &n.smtp_password_file, beside);
            string!("smtp_ca_file", args.smtp_ca_file, &n.smtp_ca_file, beside);
        }
        if let Some(limits) = &f.limits {
            if let (false, Some(v)) = (given(m, "refusals_per_minute"), limits.refusals_per_minute) {
                args.refusals_per_minute = v;
            }
            if let (false, Some(v)) = (given(m, "signins_per_minute"), limits.signins_per_minute) {
                args.signins_per_minute = v;
            }
        }
        let mut issuers = Vec::new();
        for (i, section) in sections.into_iter().enumerate() {
            // The section's own errors name its number and field; the file names itself.
            match section.into_config(i + 1) {
                Ok(config) => issuers.push(config),
                Err(e) => problems.push(format!("{}: {e}", self.path.display())),
            }
        }
        issuers
    }
}

/// The SMTP password and private CA from their files (`--smtp-password-file`, `--smtp-ca-file`);
/// `None` after recording a file that cannot be read.
fn smtp_secrets(args: &ServeArgs, problems: &mut Vec<String>) -> Option<SmtpSecrets> {
    let mut ok = true;
    let password = args.smtp_password_file.as_ref().and_then(|f| {
        std::fs::read_to_string(f)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| {
                problems.push(format!("smtp_password_file: cannot read {}: {e}", f.display()));
                ok = false;
            })
            .ok()
    });
    let ca_pem = args.smtp_ca_file.as_ref().and_then(|f| {
        std::fs::read(f)
            .map_err(|e| {
                problems.push(format!("smtp_ca_file: cannot read {}: {e}", f.display()));
                ok = false;
            })
            .ok()
    });
    ok.then_some(SmtpSecrets { password, ca_pem })
}

/// Checks everything `serve` would check before it touches anything (no port, no data
/// directory, no database), collecting every problem instead of stopping at the first.
pub async fn resolve(
    args: ServeArgs,
    file_issuers: Vec<IssuerConfig>,
    mut problems: Vec<String>,
) -> Result<Resolved, Vec<String>> {
    let smtp = match (&args.smtp_url, &args.smtp_from) {
        (Some(url), Some(from)) => match smtp_secrets(&args, &mut problems) {
            Some(secrets) => SmtpConfig::new(url, from, secrets)
                .map_err(|e| problems.push(format!("smtp url: {}", mask_in(&e.to_string(), url))))
                .ok(),
            None => None,
        },
        (Some(_), None) => {
            problems.push("an SMTP URL is given without a sender address (smtp_from / --smtp-from)".into());
            None
        }
        _ => None,
    };
    if let Some(filter) = &args.log {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(filter) {
            problems.push(format!("log: '{filter}' is not a log filter: {e}"));
        }
    }
    if let Some(url) = &args.database {
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push(format!("database: '{}' is not a sqlite: or postgres:// URL", mask_url(url)));
        }
    }
    if let Some(url) = &args.public_url {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => problems.push(format!("public_url: '{url}' is not an absolute http(s) URL")),
        }
    }
    if let Some(url) = &args.notify_webhook {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => problems.push(format!("notifications webhook: '{}' is not an http(s) URL", mask_webhook(url))),
        }
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let files = openpim_server::tls::TlsFiles { cert: cert.clone(), key: key.clone() };
            // Loading them is the only way to know the pair is usable (readable, PEM, matching).
            if let Err(e) = files.load().await {
                problems.push(format!("tls: {e:#}"));
            }
            Some(files)
        }
        _ => None,
    };
    let mut issuers = match args.oidc.issuers() {
        Ok(issuers) => issuers,
        Err(e) => {
            problems.push(format!("{e:#}"));
            Vec::new()
        }
    };
    issuers.extend(file_issuers);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Resolved {
        server: ServerConfig {
            listen: args.listen,
            data_dir: args.data,
            database_url: args.database,
            bootstrap_admin: args.bootstrap_admin,
            public_url: args.public_url,
            approval_timeout: args.approval_timeout,
            notifications: NotificationConfig { webhook_url: args.notify_webhook, smtp },
            metrics_access: args.metrics,
            tls,
            oidc_issuers: issuers,
            local_issuer: args.oidc.web.local_issuer,
            audit_checkpoint_interval: args.audit_checkpoint_interval,
        },
        shutdown_timeout: args.shutdown_timeout,
        ready_max_lag: args.ready_max_lag,
        limits: RateLimitConfig {
            refusals_per_minute: args.refusals_per_minute,
            signins_per_minute: args.signins_per_minute,
        },
        log_json: args.log_json,
        log: args.log,
        smtp_url: args.smtp_url,
        smtp_password_file: args.smtp_password_file,
        smtp_ca_file: args.smtp_ca_file,
    })
}

/// A URL with its password masked. Something that does not parse as a URL is masked whole: it
/// may be a secret.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(MASK));
            }
            u.to_string()
        }
        Err(_) => MASK.to_string(),
    }
}

/// A webhook URL masked: its password and its query, where such URLs carry their token.
pub fn mask_webhook(raw: &str) -> String {
    match url::Url::parse(&mask_url(raw)) {
        Ok(mut u) if u.query().is_some() => {
            u.set_query(Some(MASK));
            u.to_string()
        }
        _ => mask_url(raw),
    }
}

/// `message` with `url` in it masked.
fn mask_in(message: &str, url: &str) -> String {
    message.replace(url, &mask_url(url))
}

/// A duration as `parse_ttl` reads it back (the largest unit that divides it).
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "0s".to_string(),
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The configuration `config check` prints: a configuration file that would give the same
/// settings, except that secrets read `***`.
#[derive(Serialize)]
struct Effective {
    listen: String,
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    bootstrap_admin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    approval_timeout: String,
    audit_checkpoint_interval: String,
    shutdown_timeout: String,
    ready_max_lag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    log_json: bool,
    metrics: &'static str,
    local_issuer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<EffectiveTls>,
    notifications: EffectiveNotifications,
    limits: EffectiveLimits,
    issuer: Vec<EffectiveIssuer>,
}

#[derive(Serialize)]
struct EffectiveTls {
    cert: String,
    key: String,
}

#[derive(Serialize)]
struct EffectiveNotifications {
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_password_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_ca_file: Option<String>,
}

#[derive(Serialize)]
struct EffectiveLimits {
    refusals_per_minute: u32,
    signins_per_minute: u32,
}

#[derive(Serialize)]
struct EffectiveIssuer {
    url: String,
    audience: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    user_claim: &'static str,
    mfa_acr: Vec<String>,
    jit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cli_client_id: Option<String>,
    cli_audience_via: &'static str,
    min_key_refetch_secs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'static str>,
}

fn metrics_name(m: MetricsAccess) -> &'static str {
    match m {
        MetricsAccess::Public => "public",
        MetricsAccess::Loopback => "loopback",
        MetricsAccess::Token => "token",
    }
}

fn user_claim_name(c: UserClaim) -> &'static str {
    match c {
        UserClaim::Default => "default",
        UserClaim::Oid => "oid",
        UserClaim::Sub => "sub",
        UserClaim::PreferredUsername => "preferred_username",
        UserClaim::Upn => "upn",
        UserClaim::Email => "email",
    }
}

fn audience_via_name(v: AudienceVia) -> &'static str {
    match v {
        AudienceVia::Resource => "resource",
        AudienceVia::Scope => "scope",
        AudienceVia::None => "none",
    }
}

/// Renders `r` as the TOML of a configuration file, with every secret masked.
pub fn effective(r: &Resolved) -> String {
    let s = &r.server;
    let smtp_url = r.smtp_url.as_deref().map(mask_url);
    let view = Effective {
        listen: s.listen.to_string(),
        data: s.data_dir.display().to_string(),
        database: s.database_url.as_deref().map(mask_url),
        bootstrap_admin: s.bootstrap_admin.clone(),
        public_url: s.public_url.clone(),
        approval_timeout: duration(s.approval_timeout),
        audit_checkpoint_interval: duration(s.audit_checkpoint_interval),
        shutdown_timeout: duration(r.shutdown_timeout),
        ready_max_lag: duration(r.ready_max_lag),
        log: r.log.clone(),
        log_json: r.log_json,
        metrics: metrics_name(s.metrics_access),
        local_issuer: s.local_issuer,
        tls: s
            .tls
            .as_ref()
            .map(|t| EffectiveTls { cert: t.cert.display().to_string(), key: t.key.display().to_string() }),
        notifications: EffectiveNotifications {
            webhook: s.notifications.webhook_url.as_deref().map(mask_webhook),
            smtp_url,
            smtp_from: s.notifications.smtp.as_ref().map(|c| c.from.clone()),
            smtp_password_file: r.smtp_password_file.as_ref().map(|p| p.display().to_string()),
            smtp_ca_file: r.smtp_ca_file.as_ref().map(|p| p.display().to_string()),
        },
        limits: EffectiveLimits {
            refusals_per_minute: r.limits.refusals_per_minute,
            signins_per_minute: r.limits.signins_per_minute,
        },
        issuer: s
            .oidc_issuers
            .iter()
            .map(|i| EffectiveIssuer {
                url: i.issuer.clone(),
                audience: i.audiences.clone(),
                display_name: i.display_name.clone(),
                user_claim: user_claim_name(i.user_claim),
                mfa_acr: i.mfa_acr_values.clone(),
                jit: i.jit,
                cli_client_id: i.cli.client_id.clone(),
                cli_audience_via: audience_via_name(i.cli.audience_via),
                min_key_refetch_secs: i.min_key_refetch.as_secs(),
                client_id: i.web_client.as_ref().map(|w| w.client_id.clone()),
                client_secret: i.web_client.as_ref().and_then(|w| w.client_secret.as_ref()).map(|_| MASK),
            })
            .collect(),
    };
    toml::to_string(&view).unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_masked() {
        assert_eq!(
            mask_url("postgres://pim:hunter2@db:5432/pim?sslmode=require"),
            "postgres://pim:***@db:5432/pim?sslmode=require"
        );
        assert_eq!(mask_url("postgres://db/pim"), "postgres://db/pim", "nothing to mask");
        assert_eq!(mask_url("not a url with hunter2"), MASK, "what does not parse is masked whole");
        assert_eq!(mask_webhook("https://u:p@hooks.example.com/x?token=abc"), "https://u:***@hooks.example.com/x?***");
        assert_eq!(mask_webhook("https://hooks.example.com/x"), "https://hooks.example.com/x");
    }

    #[test]
    fn durations_print_as_parse_ttl_reads_them() {
        for (d, text) in [(30, "30s"), (90, "90s"), (120, "2m"), (7200, "2h"), (86400, "1d"), (172800, "2d")] {
            let d = Duration::from_secs(d);
            assert_eq!(duration(d), text);
            assert_eq!(openpim_server::auth::parse_ttl(text), Ok(d));
        }
    }

    #[test]
    fn a_value_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "# comment\n\nmetrics = \"everyone\"\n").unwrap();
        let loaded = load(&path).unwrap();
        let mut problems = Vec::new();
        let metrics = loaded.file.metrics.as_ref().unwrap();
        assert!(loaded.parse("metrics", metrics, |s: &str| s.parse::<MetricsAccess>(), &mut problems).is_none());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("line 3, `metrics`: 'everyone' is not one of"), "{}", problems[0]);
    }
}
