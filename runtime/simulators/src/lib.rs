//! banca-simulators: faithful local stand-ins for the systems outside banca, following
//! `shared/contracts/existing-systems.openapi.yaml` exactly, with fault injection.
//!
//! One HTTP server serves all four systems (their paths do not collide), so the core platform,
//! independent system, UAA and Twilio base URLs are all [`SimHandle::base_url`]:
//!
//! | system | paths |
//! |---|---|
//! | core platform | `GET /customers/{id}/basic`, `GET /customers/{id}/products`, `GET /customers/{id}/transfers/latest`, `GET /accounts/{id}/movements`, `POST /transfers` |
//! | independent system | `GET /customers/{id}/complete` |
//! | UAA | `POST /oauth/token` (password and refresh_token grants, RS256 JWTs), `GET /.well-known/jwks.json`, `POST /users` |
//! | Twilio | `POST /2010-04-01/Accounts/{sid}/Messages.json` |
//! | admin (tests, other processes) | `/__admin/...`, see [`admin`] |
//!
//! Core and independent system check the gateway headers `X-Client-Id`/`X-Client-Secret`;
//! Twilio checks HTTP basic auth `AccountSid:AuthToken`; UAA checks the OAuth2 client.
//! The credentials are in [`SimConfig`].
//!
//! Faults are set per endpoint ([`FaultSpec`], names in [`faults::ENDPOINTS`]): latency, 5xx,
//! timeouts, executed-but-response-lost, executed-then-5xx, and movements that become visible
//! only after a delay. The core ledger counts every `POST /transfers` per `reference` and how
//! many of them moved money ([`LedgerEntry`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), banca_simulators::SimError> {
//! use banca_simulators::{FaultSpec, SimConfig, Step, faults};
//!
//! let sim = banca_simulators::start(SimConfig::default()).await?;
//! sim.simulator().set_fault(faults::CORE_TRANSFERS, FaultSpec {
//!     script: [Step::Lost].into(),
//!     ..FaultSpec::default()
//! })?;
//! println!("core platform at {}", sim.base_url());
//! # Ok(()) }
//! ```
//!
//! Invariants: the simulators listen on loopback unless told otherwise; an account's
//! balance never goes negative; a `reference` in the ledger counts every POST that reached the
//! server, executed or not.
#![warn(missing_docs)]

pub mod admin;
pub mod core;
pub mod faults;
mod time;
pub mod twilio;
pub mod uaa;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use crate::core::{Account, Customer, LedgerEntry, Movement};
use crate::faults::{Decision, Faults};
pub use crate::faults::{FaultError, FaultSpec, Step};

/// Everything configurable about the simulators. `Default` gives working test values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// Seed of every random draw (fault rates, ids), so a run can be replayed.
    pub seed: u64,
    /// The `X-Client-Id` the core platform and independent system accept.
    pub gateway_client_id: String,
    /// The `X-Client-Secret` they accept.
    pub gateway_client_secret: String,
    /// Accept any well-formed account or customer id, creating it on first use with a large
    /// balance (soaks and local runs); otherwise only seeded or admin-created ones exist.
    pub open_accounts: bool,
    /// The largest amount one transfer may move before `LIMIT_EXCEEDED`.
    pub transfer_limit: rust_decimal::Decimal,
    /// UAA settings.
    pub uaa: uaa::UaaConfig,
    /// Twilio settings.
    pub twilio: twilio::TwilioConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            gateway_client_id: "banca".to_owned(),
            gateway_client_secret: "banca-gateway-secret".to_owned(),
            open_accounts: false,
            transfer_limit: rust_decimal::Decimal::new(1_000_000, 2),
            uaa: uaa::UaaConfig::default(),
            twilio: twilio::TwilioConfig::default(),
        }
    }
}

impl SimConfig {
    /// The default configuration with [`SimConfig::open_accounts`] set.
    pub fn open() -> Self {
        Self {
            open_accounts: true,
            ..Self::default()
        }
    }

    /// This configuration with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// The simulators could not start or refused a request from the library API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A fault spec was refused.
    #[error("fault spec refused")]
    Fault(#[from] FaultError),
    /// A signing key could not be generated.
    #[error("rsa key generation failed")]
    Crypto,
    /// Something the admin API was asked to create is invalid.
    #[error("{0}")]
    Invalid(String),
}

/// The state of all four simulated systems. Shared by the HTTP server and the library API.
pub struct Simulator {
    config: SimConfig,
    faults: Faults,
    clock_offset_ms: AtomicI64,
    core: std::sync::Mutex<core::CoreState>,
    uaa: std::sync::Mutex<uaa::UaaState>,
    twilio: std::sync::Mutex<twilio::TwilioState>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.config.seed)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in one handler must not take the whole simulator down for later requests.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Simulator {
    /// A simulator with the seeded demo data.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        let uaa = uaa::UaaState::new(&config.uaa)?;
        Ok(Self {
            faults: Faults::new(config.seed),
            clock_offset_ms: AtomicI64::new(0),
            core: std::sync::Mutex::new(core::CoreState::seeded()),
            uaa: std::sync::Mutex::new(uaa),
            twilio: std::sync::Mutex::new(twilio::TwilioState::default()),
            config,
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulators' clock: wall time plus whatever [`Simulator::advance_clock`] added.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        wall + self.clock_offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the simulators' clock forward (delayed movements, token expiry) without waiting.
    pub fn advance_clock(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.clock_offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the faults of one endpoint (replacing earlier ones).
    pub fn set_fault(&self, endpoint: &str, spec: FaultSpec) -> Result<(), SimError> {
        Ok(self.faults.set(endpoint, spec)?)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// How many requests each endpoint received.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.faults.requests()
    }

    /// Back to the seeded state: no faults, empty ledger, no messages, fresh accounts.
    pub fn reset(&self) {
        self.faults.clear();
        *lock(&self.core) = core::CoreState::seeded();
        lock(&self.twilio).clear();
        lock(&self.uaa).reset_users();
    }

    fn decide(&self, endpoint: &str, key: Option<&str>) -> Decision {
        self.faults.decide(endpoint, key)
    }
}

/// Applies the part of a fault decision that happens before the request is served.
async fn before(d: &Decision) -> Option<Response> {
    if d.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(d.latency_ms)).await;
    }
    match d.step {
        Step::Error => Some(injected(d.status)),
        Step::Timeout => Some(hang(d.hang_ms).await),
        _ => None,
    }
}

/// Applies the part of a fault decision that happens after the request was executed.
async fn after(d: &Decision, served: Response) -> Response {
    match d.step {
        Step::ErrorAfterExecute => injected(d.status),
        Step::Lost => hang(d.hang_ms).await,
        _ => served,
    }
}

async fn hang(ms: u64) -> Response {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    injected(504)
}

fn injected(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = if status == 429 {
        serde_json::json!({"code": 20429, "message": "Too Many Requests", "status": 429})
    } else {
        serde_json::json!({"error": "injected fault", "status": status})
    };
    (code, axum::Json(body)).into_response()
}

/// The router of all four systems plus the admin API, over `sim`.
pub fn router(sim: Arc<Simulator>) -> Router {
    Router::new()
        .merge(core::routes())
        .merge(uaa::routes())
        .merge(twilio::routes())
        .merge(admin::routes())
        .with_state(sim)
}

/// A running simulator server; dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Simulator>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the base URL of every simulated system.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulator's state, for in-process control and assertions.
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.sim
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Hanging fault responses would otherwise delay a graceful stop; nobody waits here.
            task.abort();
        }
    }
}

/// Starts the simulators on an ephemeral loopback port.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
}

/// Starts the simulators on `addr`.
pub async fn start_on(addr: SocketAddr, config: SimConfig) -> Result<SimHandle, SimError> {
    let sim = Arc::new(Simulator::new(config)?);
    serve(addr, sim).await
}

/// Serves an existing simulator state on `addr` (e.g. to restart the server over the same state).
pub async fn serve(addr: SocketAddr, sim: Arc<Simulator>) -> Result<SimHandle, SimError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(sim.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr: bound,
        sim,
        shutdown: Some(tx),
        task: Some(task),
    })
}
