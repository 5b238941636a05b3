//! HTTPS: the server's certificate and key (PEM files), served with rustls through axum-server,
//! and reloaded without a restart when the files change or the process receives SIGHUP.
//!
//! Certificates are renewed in place (certbot, cert-manager, an operator's `cp`), so the files are
//! watched by polling their modification time and size: it works on every filesystem, including
//! the symlink swaps of Kubernetes secret volumes, where inotify-style watching misses changes. A
//! pair that fails to load (a half-written file, a key that does not match the certificate) keeps
//! the previous certificate in service and is logged; the next change or SIGHUP tries again.

use axum_server::tls_rustls::RustlsConfig;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the certificate files are checked for changes.
pub const POLL: Duration = Duration::from_secs(2);

/// The PEM files of the server's certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate could not be put in service.
#[derive(Debug, thiserror::Error)]
#[error("TLS certificate {cert} with key {key}: {source}")]
pub struct TlsError {
    cert: PathBuf,
    key: PathBuf,
    source: std::io::Error,
}

impl TlsFiles {
    /// Loads the pair, refusing a missing file, bad PEM or a key that does not match.
    pub async fn load(&self) -> Result<RustlsConfig, TlsError> {
        RustlsConfig::from_pem_file(&self.cert, &self.key).await.map_err(|source| self.error(source))
    }

    async fn reload_into(&self, config: &RustlsConfig) -> Result<(), TlsError> {
        config.reload_from_pem_file(&self.cert, &self.key).await.map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> TlsError {
        TlsError { cert: self.cert.clone(), key: self.key.clone(), source }
    }

    /// What changes when either file is rewritten or replaced.
    fn fingerprint(&self) -> [Option<(SystemTime, u64)>; 2] {
        [stamp(&self.cert), stamp(&self.key)]
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads `config` from `files` on SIGHUP and whenever the files change, until `stop` is set.
pub fn spawn_reloader(files: TlsFiles, config: RustlsConfig, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut hangup = Hangup::new();
        let mut seen = files.fingerprint();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let why = tokio::select! {
                _ = stop.changed() => return,
                _ = hangup.recv() => "SIGHUP",
                _ = tick.tick() => {
                    let now = files.fingerprint();
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    "file change"
                }
            };
            match files.reload_into(&config).await {
                Ok(()) => tracing::info!(trigger = why, cert = %files.cert.display(), "TLS certificate reloaded"),
                Err(e) => tracing::warn!(
                    trigger = why,
                    error = %e,
                    "TLS certificate not reloaded; the previous one stays in service"
                ),
            }
        }
    })
}

/// SIGHUP where there is one; elsewhere a signal that never comes.
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS reloads on file change only"))
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
            // The signal stream ended: stop listening rather than spin.
            self.signal = None;
        }
        std::future::pending::<()>().await
    }
}
