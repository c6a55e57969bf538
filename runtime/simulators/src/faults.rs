//! Per-endpoint fault injection.
//!
//! Each endpoint has a [`FaultSpec`]. On every request the simulator first consumes the spec's
//! `script` (exact, for crash-matrix tests), then draws from the rates (for soaks). A draw is
//! either from one seeded generator shared by all requests or, with `keyed`, from a hash of
//! (seed, endpoint, request key, how many times that key was seen), so a soak replays the
//! same faults for the same transfer whatever order concurrent consumers arrive in.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use rand::{Rng as _, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// What one request suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// Served normally.
    Ok,
    /// Answered with the spec's `status` (a 5xx by default) **without** executing.
    Error,
    /// Executed, then answered with the spec's `status`: the caller cannot tell it worked.
    ErrorAfterExecute,
    /// Not executed; the connection hangs for `hangMs` (the caller's timeout fires first).
    Timeout,
    /// Executed, then the connection hangs for `hangMs`: the response is lost.
    Lost,
}

/// Faults of one endpoint. Every field has a harmless default, so `{}` means "no faults".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Extra latency before every request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Probability of [`Step::Error`].
    pub error_rate: f64,
    /// Probability of [`Step::ErrorAfterExecute`].
    pub error_after_execute_rate: f64,
    /// Probability of [`Step::Timeout`].
    pub timeout_rate: f64,
    /// Probability of [`Step::Lost`].
    pub lost_response_rate: f64,
    /// The HTTP status of injected errors (503 by default; 429 makes sense for Twilio).
    pub status: u16,
    /// How long timeouts and lost responses hang before the server gives up, in milliseconds.
    pub hang_ms: u64,
    /// Core `POST /transfers` only: executed movements become visible in
    /// `GET /accounts/{id}/movements` only this many milliseconds later.
    pub movement_delay_ms: u64,
    /// Draw per request key (the transfer reference, the account id) instead of globally.
    pub keyed: bool,
    /// Steps consumed in order before any rate applies.
    pub script: VecDeque<Step>,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            error_rate: 0.0,
            error_after_execute_rate: 0.0,
            timeout_rate: 0.0,
            lost_response_rate: 0.0,
            status: 503,
            hang_ms: 10_000,
            movement_delay_ms: 0,
            keyed: false,
            script: VecDeque::new(),
        }
    }
}

/// Why a fault spec was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The endpoint name is not one of [`ENDPOINTS`].
    #[error("unknown endpoint {0:?}; hint: one of {ENDPOINTS:?}")]
    UnknownEndpoint(String),
    /// Rates must be probabilities that add up to at most 1.
    #[error("fault rates must be within 0..=1 and add up to at most 1, got a sum of {0}")]
    Rates(f64),
    /// The injected status must be an error status.
    #[error("fault status must be 400-599, got {0}")]
    Status(u16),
}

/// Endpoint names accepted by the admin API.
pub const ENDPOINTS: &[&str] = &[
    CORE_CUSTOMER_BASIC,
    CORE_PRODUCTS,
    CORE_TRANSFERS_LATEST,
    CORE_MOVEMENTS,
    CORE_TRANSFERS,
    INDEPENDENT_CUSTOMER_COMPLETE,
    UAA_TOKEN,
    UAA_JWKS,
    UAA_USERS,
    TWILIO_MESSAGES,
];
/// `GET /customers/{id}/basic`.
pub const CORE_CUSTOMER_BASIC: &str = "core.customerBasic";
/// `GET /customers/{id}/products`.
pub const CORE_PRODUCTS: &str = "core.products";
/// `GET /customers/{id}/transfers/latest`.
pub const CORE_TRANSFERS_LATEST: &str = "core.transfersLatest";
/// `GET /accounts/{id}/movements`.
pub const CORE_MOVEMENTS: &str = "core.movements";
/// `POST /transfers`.
pub const CORE_TRANSFERS: &str = "core.transfers";
/// `GET /customers/{id}/complete`.
pub const INDEPENDENT_CUSTOMER_COMPLETE: &str = "independent.customerComplete";
/// `POST /oauth/token`.
pub const UAA_TOKEN: &str = "uaa.token";
/// `GET /.well-known/jwks.json`.
pub const UAA_JWKS: &str = "uaa.jwks";
/// `POST /users`.
pub const UAA_USERS: &str = "uaa.users";
/// `POST /2010-04-01/Accounts/{sid}/Messages.json`.
pub const TWILIO_MESSAGES: &str = "twilio.messages";

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub step: Step,
    pub latency_ms: u64,
    pub status: u16,
    pub hang_ms: u64,
    pub movement_delay_ms: u64,
}

pub(crate) struct Faults {
    seed: u64,
    inner: Mutex<FaultsInner>,
}

struct FaultsInner {
    specs: BTreeMap<String, FaultSpec>,
    rng: StdRng,
    seen: HashMap<(String, String), u64>,
    requests: BTreeMap<String, u64>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: Mutex::new(FaultsInner {
                specs: BTreeMap::new(),
                rng: StdRng::seed_from_u64(seed),
                seen: HashMap::new(),
                requests: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultsInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set(&self, endpoint: &str, spec: FaultSpec) -> Result<(), FaultError> {
        if !ENDPOINTS.contains(&endpoint) {
            return Err(FaultError::UnknownEndpoint(endpoint.to_owned()));
        }
        let rates = [
            spec.error_rate,
            spec.error_after_execute_rate,
            spec.timeout_rate,
            spec.lost_response_rate,
        ];
        let sum: f64 = rates.iter().sum();
        if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || sum > 1.0 {
            return Err(FaultError::Rates(sum));
        }
        if !(400..=599).contains(&spec.status) {
            return Err(FaultError::Status(spec.status));
        }
        self.lock().specs.insert(endpoint.to_owned(), spec);
        Ok(())
    }

    pub(crate) fn get(&self, endpoint: &str) -> FaultSpec {
        self.lock().specs.get(endpoint).cloned().unwrap_or_default()
    }

    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.specs.clear();
        g.seen.clear();
        g.rng = StdRng::seed_from_u64(self.seed);
    }

    pub(crate) fn requests(&self) -> BTreeMap<String, u64> {
        self.lock().requests.clone()
    }

    /// Decides the fate of one request to `endpoint` carrying `key` (if any).
    pub(crate) fn decide(&self, endpoint: &str, key: Option<&str>) -> Decision {
        let mut g = self.lock();
        *g.requests.entry(endpoint.to_owned()).or_default() += 1;
        let Some(spec) = g.specs.get_mut(endpoint) else {
            return Decision {
                step: Step::Ok,
                latency_ms: 0,
                status: 503,
                hang_ms: 0,
                movement_delay_ms: 0,
            };
        };
        let scripted = spec.script.pop_front();
        let spec = spec.clone();
        let step = match scripted {
            Some(step) => step,
            None => {
                let u: f64 = match (spec.keyed, key) {
                    (true, Some(k)) => {
                        let n = g
                            .seen
                            .entry((endpoint.to_owned(), k.to_owned()))
                            .or_default();
                        let draw = keyed_draw(self.seed, endpoint, k, *n);
                        *n += 1;
                        draw
                    }
                    _ => g.rng.random::<f64>(),
                };
                pick(&spec, u)
            }
        };
        Decision {
            step,
            latency_ms: spec.latency_ms,
            status: spec.status,
            hang_ms: spec.hang_ms,
            movement_delay_ms: spec.movement_delay_ms,
        }
    }
}

fn pick(spec: &FaultSpec, u: f64) -> Step {
    let mut edge = 0.0;
    for (rate, step) in [
        (spec.error_rate, Step::Error),
        (spec.error_after_execute_rate, Step::ErrorAfterExecute),
        (spec.timeout_rate, Step::Timeout),
        (spec.lost_response_rate, Step::Lost),
    ] {
        edge += rate;
        if u < edge {
            return step;
        }
    }
    Step::Ok
}

/// A uniform draw in `[0, 1)` from (seed, endpoint, key, n): FNV-1a then splitmix64.
fn keyed_draw(seed: u64, endpoint: &str, key: &str, n: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in endpoint
        .bytes()
        .chain([0])
        .chain(key.bytes())
        .chain(n.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_first_then_rates() {
        let f = Faults::new(1);
        let spec = FaultSpec {
            script: [Step::Lost, Step::Error].into(),
            ..FaultSpec::default()
        };
        f.set(CORE_TRANSFERS, spec).unwrap();
        assert_eq!(f.decide(CORE_TRANSFERS, None).step, Step::Lost);
        assert_eq!(f.decide(CORE_TRANSFERS, None).step, Step::Error);
        assert_eq!(f.decide(CORE_TRANSFERS, None).step, Step::Ok);
        assert_eq!(f.decide(CORE_MOVEMENTS, None).step, Step::Ok);
        assert_eq!(f.requests()[CORE_TRANSFERS], 3);
    }

    #[test]
    fn rates_are_roughly_honoured_and_keyed_draws_replay() {
        let spec = FaultSpec {
            error_rate: 0.2,
            lost_response_rate: 0.1,
            keyed: true,
            ..FaultSpec::default()
        };
        let run = |order: &[usize]| {
            let f = Faults::new(99);
            f.set(CORE_TRANSFERS, spec.clone()).unwrap();
            let mut out = vec![Step::Ok; order.len()];
            for &i in order {
                out[i] = f.decide(CORE_TRANSFERS, Some(&format!("ref-{i}"))).step;
            }
            out
        };
        let forward: Vec<usize> = (0..2000).collect();
        let backward: Vec<usize> = (0..2000).rev().collect();
        let a = run(&forward);
        assert_eq!(
            a,
            run(&backward),
            "keyed draws do not depend on arrival order"
        );
        let errors = a.iter().filter(|s| **s == Step::Error).count();
        let lost = a.iter().filter(|s| **s == Step::Lost).count();
        assert!((300..500).contains(&errors), "{errors}");
        assert!((130..270).contains(&lost), "{lost}");
    }

    #[test]
    fn refuses_bad_specs() {
        let f = Faults::new(1);
        assert!(matches!(
            f.set("core.nope", FaultSpec::default()),
            Err(FaultError::UnknownEndpoint(_))
        ));
        let too_much = FaultSpec {
            error_rate: 0.7,
            timeout_rate: 0.7,
            ..FaultSpec::default()
        };
        assert!(matches!(
            f.set(CORE_TRANSFERS, too_much),
            Err(FaultError::Rates(_))
        ));
        let ok_status = FaultSpec {
            status: 200,
            ..FaultSpec::default()
        };
        assert!(matches!(
            f.set(CORE_TRANSFERS, ok_status),
            Err(FaultError::Status(200))
        ));
    }
}
