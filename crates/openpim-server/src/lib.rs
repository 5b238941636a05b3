//! The OpenPIM HTTP server: Microsoft Graph v1.0-compatible routes over the OpenPIM core.

pub mod alerts;
pub mod arm;
pub mod audit_chain;
mod audit_detail;
pub mod auth;
pub mod azure;
pub mod backup;
pub mod bootstrap;
pub mod datadir;
pub mod directory;
pub mod error;
pub mod follower;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod normalize;
pub mod notify;
pub mod odata;
pub mod pim;
pub mod ready;
pub mod recover;
mod routes;
pub mod state;
pub mod supervise;
pub mod tls;
pub mod transport;
mod ui;
pub mod wire;

use crate::auth::LocalIssuer;
use crate::error::ApiError;
use crate::state::{AppState, Clock, Inner, SystemClock};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use openpim_core::access::AccessIndex;
use openpim_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::RwLock;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePathLayer;

/// Largest accepted request body. Graph bodies for these APIs are a few KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Holds the SQLite database (unless `database_url` is set) and the token issuer key.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub bootstrap_admin: String,
    /// Absolute URL clients reach this server at, for `@odata.context` and next links.
    pub public_url: Option<String>,
    /// The longest an activation waits for approval (default 24 hours).
    pub approval_timeout: std::time::Duration,
    /// Webhook and e-mail notifications (off by default).
    pub notifications: notify::NotificationConfig,
    /// Who may read `/metrics` (default: loopback clients only).
    pub metrics_access: metrics::MetricsAccess,
    /// Serve HTTPS with this certificate and key; plain HTTP when `None`.
    pub tls: Option<tls::TlsFiles>,
    /// External OpenID Connect issuers whose access tokens are accepted.
    pub oidc_issuers: Vec<auth::external::IssuerConfig>,
    /// Accept tokens of the local issuer from clients (`openpim token`, token paste). When
    /// false, people sign in through an external provider only.
    pub local_issuer: bool,
    /// How often the audit chain's head is signed when records were added (default 5 minutes,
    /// [`DEFAULT_AUDIT_CHECKPOINT_INTERVAL`]); must not be zero.
    pub audit_checkpoint_interval: std::time::Duration,
}

/// Default for [`ServerConfig::approval_timeout`].
pub const DEFAULT_APPROVAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Default for [`ServerConfig::audit_checkpoint_interval`].
pub const DEFAULT_AUDIT_CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// How long [`RunningServer::stop`] lets in-flight requests finish (`openpim serve
/// --shutdown-timeout`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The listening address could not be bound; raised before the data directory is touched.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct ListenError {
    pub addr: SocketAddr,
    reason: String,
    #[source]
    source: std::io::Error,
}

impl ListenError {
    fn new(addr: SocketAddr, source: std::io::Error) -> Self {
        let reason = match source.kind() {
            std::io::ErrorKind::AddrInUse => "address in use".to_string(),
            std::io::ErrorKind::AddrNotAvailable => "address not available on this host".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => source.to_string(),
        };
        Self { addr, reason, source }
    }
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// UPN of the administrator created by this start, if it bootstrapped the store.
    pub created_admin: Option<String>,
    shutdown: oneshot::Sender<()>,
    stop_jobs: tokio::sync::watch::Sender<bool>,
    join: JoinHandle<std::io::Result<()>>,
    /// The supervisors of the background loops.
    jobs: Vec<JoinHandle<()>>,
    /// Released after the store is closed, when this value is dropped.
    _data_dir_lock: datadir::DataDirLock,
}

impl RunningServer {
    /// [`RunningServer::stop_within`] the default bound.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_within(DEFAULT_SHUTDOWN_TIMEOUT).await
    }

    /// Stops accepting connections (and `/readyz` answers 503), lets in-flight requests finish
    /// for at most `timeout`, stops the background loops, and closes the store. A writer still
    /// running when the bound is reached is dropped: its transaction (or, under group commit,
    /// its savepoint) rolls back, so nothing half-done is left.
    pub async fn stop_within(self, timeout: std::time::Duration) -> anyhow::Result<()> {
        self.state.readiness.begin_draining();
        let _ = self.shutdown.send(());
        let _ = self.stop_jobs.send(true);
        let mut join = self.join;
        match tokio::time::timeout(timeout, &mut join).await {
            Ok(served) => served??,
            Err(_) => {
                tracing::warn!(?timeout, "requests still running at the shutdown timeout; closing their connections");
                join.abort();
            }
        }
        for job in self.jobs {
            job.await?;
        }
        // The pool waits for its connections to come back; one held by a request cut off above
        // comes back when that task is dropped, so this is bounded too.
        if tokio::time::timeout(timeout, self.state.store.close()).await.is_err() {
            tracing::warn!("the store did not close within the shutdown timeout");
        }
        Ok(())
    }
}

/// Opens the store, bootstraps it if empty, loads the access index and starts serving.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    start_with_clock(config, Box::new(SystemClock)).await
}

pub async fn start_with_clock(config: ServerConfig, clock: Box<dyn Clock>) -> anyhow::Result<RunningServer> {
    // The metrics recorder before anything is counted (until it exists, counts are dropped).
    metrics::handle();
    anyhow::ensure!(!config.audit_checkpoint_interval.is_zero(), "the audit checkpoint interval must not be zero");
    // The port first: a taken one is the commonest start-up mistake, and it must fail before
    // anything is created or locked in the data directory. Connections wait in the backlog
    // until the index is loaded and serving begins.
    let listener = TcpListener::bind(config.listen).await.map_err(|e| ListenError::new(config.listen, e))?;
    // Then the data directory's lock: a second process on the same directory stops here.
    let data_dir_lock = datadir::DataDirLock::acquire(&config.data_dir)?;
    let store = match &config.database_url {
        Some(url) => Store::connect(url).await?,
        None => {
            data_dir_lock.precreate_sqlite()?;
            Store::open_sqlite_dir(&config.data_dir).await?
        }
    };
    let issuer = LocalIssuer::load_or_create(&config.data_dir)?;
    let boot = bootstrap::ensure(&store, &config.bootstrap_admin, clock.now()).await?;
    let azure = bootstrap::ensure_azure_catalog(&store, clock.now()).await?;
    if azure.added + azure.updated > 0 {
        tracing::info!(added = azure.added, updated = azure.updated, "loaded the built-in Azure roles");
    }
    bootstrap::ensure_root_management_group(&store, boot.tenant_id, clock.now()).await?;
    // Read the feed head before loading the index: changes committed meanwhile are replayed by
    // the follower (replays are harmless), so nothing falls in between.
    let feed_head = store.feed_head().await?;
    let mut index = AccessIndex::new();
    if store.access_history_start().await?.is_some() {
        // The usual start: the rows stream straight into the index, with no copy of them.
        store.load_index_into(|update| index.apply(update)).await?;
    } else {
        // The first start after the access history was deployed records what is held now, from
        // the same updates the index is built of.
        let updates = store.load_index().await?;
        store.start_access_history(clock.now(), &updates).await?;
        for update in updates {
            index.apply(update);
        }
    }
    // Loaded before binding, so a bad certificate stops the start with its reason.
    let tls = match &config.tls {
        Some(files) => Some((files.clone(), files.load().await?)),
        None => None,
    };
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if config.public_url.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "no --public-url: @odata.context and @odata.nextLink use the listen address; \
             set --public-url to the URL clients reach this server at"
        );
    }
    let state = AppState::new(Inner {
        store,
        index: RwLock::new(index),
        issuer,
        local_issuer_enabled: config.local_issuer,
        external: auth::external::ExternalIssuers::new(config.oidc_issuers.clone()),
        callers: crate::auth::CallerCache::new(),
        clock,
        tenant_id: boot.tenant_id,
        public_url: config.public_url.clone(),
        listen_origin: format!("{scheme}://{addr}"),
        metrics_access: config.metrics_access,
        approval_timeout: time::Duration::try_from(config.approval_timeout).unwrap_or(time::Duration::hours(24)),
        notifications: config.notifications.clone(),
        feed_position: std::sync::atomic::AtomicI64::new(feed_head),
        follower_paused: std::sync::atomic::AtomicBool::new(false),
        loops: Default::default(),
        limits: limits::RateLimits::new(limits::RateLimitConfig::from_env()),
        readiness: Default::default(),
        sign_ins: Default::default(),
    });
    let app = NormalizePathLayer::trim_trailing_slash().layer(case_insensitive_paths().layer(router(state.clone())));
    let (tx, rx) = oneshot::channel::<()>();
    // The peer's address keys the sign-in rate limit and lets `/metrics` tell loopback clients
    // apart (`--metrics loopback`).
    // The outer Router accepts any request body type, as axum-server's TLS connections need.
    let app = Router::new().fallback_service(app).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_jobs, stop_rx) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    let join = match tls {
        Some((files, tls_config)) => {
            loops.push(tls::spawn_reloader(files, tls_config.clone(), stop_rx.clone()));
            let handle = axum_server::Handle::new();
            let server = axum_server::from_tcp_rustls(listener.into_std()?, tls_config)?.handle(handle.clone());
            tokio::spawn(async move {
                tokio::spawn(async move {
                    let _ = rx.await;
                    handle.graceful_shutdown(None);
                });
                server.serve(app).await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        }),
    };
    // Each loop in a task of its own under a supervisor: a panic in one restarts that one (with
    // backoff) and shows in /healthz, instead of silently stopping the others.
    loops.push(supervise::spawn(state.clone(), supervise::TIDY, jobs::INTERVAL * 8, stop_rx.clone(), jobs::run));
    loops.push(supervise::spawn(state.clone(), alerts::LOOP, alerts::INTERVAL * 4, stop_rx.clone(), alerts::run));
    if state.notifications.enabled() {
        loops.push(supervise::spawn(
            state.clone(),
            supervise::NOTIFICATIONS,
            notify::POLL * 30,
            stop_rx.clone(),
            notify::run,
        ));
    }
    let every = config.audit_checkpoint_interval;
    loops.push(supervise::spawn(
        state.clone(),
        supervise::AUDIT_CHECKPOINTS,
        every * 8,
        stop_rx.clone(),
        move |state, stop| audit_chain::run(state, stop, every),
    ));
    if state.store.backend() == openpim_store::Backend::Postgres {
        // Only several nodes sharing PostgreSQL have other nodes' writes to follow.
        loops.push(supervise::spawn(state.clone(), supervise::FOLLOWER, follower::POLL * 60, stop_rx, follower::run));
    }
    Ok(RunningServer {
        addr,
        state,
        created_admin: boot.created_admin,
        shutdown: tx,
        stop_jobs,
        join,
        jobs: loops,
        _data_dir_lock: data_dir_lock,
    })
}

/// Graph matches paths' fixed segments ignoring case; this rewrites them to the route table's
/// casing before routing (see [`normalize`]).
pub fn case_insensitive_paths(
) -> tower::util::MapRequestLayer<impl FnMut(axum::extract::Request) -> axum::extract::Request + Clone> {
    let canon = normalize::PathCanon::new(&routes::graph_routes().patterns);
    tower::util::MapRequestLayer::new(move |req| canon.apply(req))
}

/// The whole HTTP surface: the Graph API and the web UI that calls it in-process.
pub fn router(state: AppState) -> Router {
    ui::mount(api_router(state.clone()), state)
        .layer(axum::middleware::from_fn(transport::limits))
        // Outermost, so every response (a 414 or 431 too) carries the request's ids.
        .layer(axum::middleware::from_fn(transport::request_ids))
}

/// The Graph API, health and metrics.
fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(routes::graph_routes().router)
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready::readyz))
        .route("/openpim/signin-configuration", get(routes::signin::configuration))
        .route("/metrics", get(metrics::endpoint))
        .route_layer(axum::middleware::from_fn(transport::matched_route))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(error::graph_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
            transport::log_panic(&*panic);
            ApiError::internal().into_response()
        }))
        // The web UI's in-process calls to an ARM path get ARM's error shape too.
        .layer(axum::middleware::from_fn(transport::arm_errors))
        .with_state(state)
}

/// Paths no Graph route matched: Azure Resource Manager's (`/subscriptions...`, `/providers/...`,
/// any casing; its paths carry the scope in the middle, see [`arm`]), the web UI's HTML 404 for
/// a browser's page request (`ui::is_page_request`), else Graph's 404.
async fn fallback(state: State<AppState>, req: axum::extract::Request) -> axum::response::Response {
    if arm::is_arm_path(req.uri().path()) {
        arm::dispatch(state, req).await
    } else if ui::is_page_request(&req) {
        ui::not_found()
    } else {
        routes::not_found().await.into_response()
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

/// Liveness: the process answers and every background loop is healthy (running, not panicking
/// again and again, a successful pass within its bound); 503 when one is not, since restarting
/// the process is what mends a wedged loop. A database outage alone does not fail it (a restart
/// would not mend that; `/readyz` reports it), but shows as `"store": "unreachable"` and status
/// `degraded`. On PostgreSQL it also shows how far this node's index is behind the change feed.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    let store_ok = match s.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "health check: the store does not answer");
            false
        }
    };
    let loops = s.loops.report();
    let mut body = serde_json::json!({
        "status": if loops.healthy && store_ok { "ok" } else { "degraded" },
        "store": if store_ok { "ok" } else { "unreachable" },
        "tenantId": s.tenant_id,
        "loops": loops.loops,
    });
    if store_ok && s.store.backend() == openpim_store::Backend::Postgres {
        body["follower"] = match follower::lag(&s).await {
            Ok(lag) => serde_json::json!({
                "position": lag.position,
                "head": lag.head,
                "seqBehind": lag.seq_behind,
                "secondsBehind": lag.seconds_behind,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "health check: could not measure the follower lag");
                serde_json::Value::Null
            }
        };
    }
    let status = if loops.healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
