//! Per-caller rate limits (GCRA, from the `governor` crate) on the two things a hostile or
//! broken client can repeat cheaply and that cost the server a durable write each: refused
//! attempts (every denied or refused request is audited) and sign-ins.
//!
//! - **Refusals**, keyed by the caller's object id: each denied (403) or refused (400 from the
//!   PIM rules) attempt spends one unit. A caller who has spent the budget is answered
//!   `429 TooManyRequests` with `Retry-After` on every request, before any work, until a unit
//!   is back. Successful requests spend nothing.
//! - **Sign-ins** (`POST /signin` of the web UI), keyed by the client's IP address.
//!
//! Both are on by default with generous limits, can be changed with
//! `OPENPIM_REFUSALS_PER_MINUTE` / `OPENPIM_SIGNINS_PER_MINUTE` (0 turns one off) or at run time
//! with [`RateLimits::configure`] (tests use it).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use openpim_core::ObjectId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Refused attempts a caller may make per minute (and in one burst) by default.
pub const DEFAULT_REFUSALS_PER_MINUTE: u32 = 600;
/// Sign-ins one address may make per minute (and in one burst) by default.
pub const DEFAULT_SIGNINS_PER_MINUTE: u32 = 60;
/// Past this many tracked keys, forgotten ones (whose budget is full again) are dropped.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// 0: no limit.
    pub refusals_per_minute: u32,
    /// 0: no limit.
    pub signins_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { refusals_per_minute: DEFAULT_REFUSALS_PER_MINUTE, signins_per_minute: DEFAULT_SIGNINS_PER_MINUTE }
    }
}

impl RateLimitConfig {
    /// The defaults, overridden by `OPENPIM_REFUSALS_PER_MINUTE` / `OPENPIM_SIGNINS_PER_MINUTE`.
    pub fn from_env() -> Self {
        let read = |name: &str, default: u32| match std::env::var(name) {
            Ok(v) => v.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(%name, value = %v, default, "not a number; using the default");
                default
            }),
            Err(_) => default,
        };
        Self {
            refusals_per_minute: read("OPENPIM_REFUSALS_PER_MINUTE", DEFAULT_REFUSALS_PER_MINUTE),
            signins_per_minute: read("OPENPIM_SIGNINS_PER_MINUTE", DEFAULT_SIGNINS_PER_MINUTE),
        }
    }
}

struct Limiters {
    refusals: Option<DefaultKeyedRateLimiter<ObjectId>>,
    signins: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Callers over their refusal budget, and until when.
    blocked: Mutex<HashMap<ObjectId, Instant>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
}

/// How long until `limiter` lets `key` through again, or `None` if it does now (spending a unit).
fn spend<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration> {
    if limiter.len() > MAX_TRACKED {
        limiter.retain_recent();
    }
    limiter.check_key(key).err().map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

pub struct RateLimits(RwLock<Limiters>);

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        Self(RwLock::new(Self::build(config)))
    }

    fn build(config: RateLimitConfig) -> Limiters {
        Limiters {
            refusals: limiter(config.refusals_per_minute),
            signins: limiter(config.signins_per_minute),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the limits (and forgets what was counted so far).
    pub fn configure(&self, config: RateLimitConfig) {
        *self.0.write().expect("rate limits lock") = Self::build(config);
    }

    /// Before serving `caller`: how long they must still wait, if they spent their refusals.
    pub fn caller_wait(&self, caller: ObjectId) -> Option<Duration> {
        let limits = self.0.read().expect("rate limits lock");
        let mut blocked = limits.blocked.lock().expect("blocked callers lock");
        let now = Instant::now();
        match blocked.get(&caller) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                blocked.remove(&caller);
                None
            }
            None => None,
        }
    }

    /// Counts a refused or denied attempt of `caller`; past the budget, the caller is blocked
    /// until a unit is back.
    pub fn note_refusal(&self, caller: ObjectId) {
        let limits = self.0.read().expect("rate limits lock");
        let Some(refusals) = &limits.refusals else { return };
        if let Some(wait) = spend(refusals, &caller) {
            let mut blocked = limits.blocked.lock().expect("blocked callers lock");
            if blocked.len() > MAX_TRACKED {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(caller, Instant::now() + wait);
        }
    }

    /// A sign-in from `ip`: how long it must wait, if that address spent its sign-ins.
    pub fn signin_wait(&self, ip: IpAddr) -> Option<Duration> {
        let limits = self.0.read().expect("rate limits lock");
        limits.signins.as_ref().and_then(|l| spend(l, &ip))
    }
}

/// Middleware for the sign-in form: a `POST` from an address over its budget is answered 429
/// before the token is even verified.
pub async fn limit_signins(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.method() == axum::http::Method::POST {
        if let Some(refused) = spend_signin(&state, &req) {
            return refused;
        }
    }
    next.run(req).await
}

/// Middleware for "Sign in with <provider>": each start spends a sign-in of the address (it
/// stores a pending sign-in and may reach out to the provider), whatever the method.
pub async fn limit_signin_starts(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match spend_signin(&state, &req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// The 429 for a request whose address spent its sign-ins, if it did.
fn spend_signin(state: &crate::state::AppState, req: &axum::extract::Request) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    let ip = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())?;
    let wait = state.limits.signin_wait(ip)?;
    Some(
        crate::error::ApiError::too_many_requests("Too many sign-in attempts from this address.", wait).into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_blocked_once_over_the_refusal_budget_and_others_are_not() {
        let limits = RateLimits::new(RateLimitConfig { refusals_per_minute: 3, signins_per_minute: 2 });
        let (mallory, alice) = (ObjectId::new_v4(), ObjectId::new_v4());
        for _ in 0..3 {
            assert_eq!(limits.caller_wait(mallory), None);
            limits.note_refusal(mallory);
        }
        assert_eq!(limits.caller_wait(mallory), None, "three refusals are within the budget");
        limits.note_refusal(mallory);
        let wait = limits.caller_wait(mallory).expect("the fourth refusal blocks");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert_eq!(limits.caller_wait(alice), None, "limits are per caller");
        let ip = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(limits.signin_wait(ip), None);
        assert_eq!(limits.signin_wait(ip), None);
        assert!(limits.signin_wait(ip).is_some(), "the third sign-in in a minute waits");
        limits.configure(RateLimitConfig { refusals_per_minute: 0, signins_per_minute: 0 });
        assert_eq!(limits.caller_wait(mallory), None, "reconfiguring forgets what was counted");
        for _ in 0..100 {
            limits.note_refusal(mallory);
            assert_eq!(limits.signin_wait(ip), None, "0 turns the limit off");
        }
        assert_eq!(limits.caller_wait(mallory), None);
    }
}
