//! GET /me/summary: the synchronous path that opens the app.
//!
//! - Basic info: lazy-loading cache in Redis (the seed: "cargada únicamente tras ser
//!   solicitada"), kept `ttl` seconds; `?refresh=true` invalidates it on demand. The stored copy
//!   outlives the TTL by a grace period so that, when the core platform fails, the handler can
//!   still answer with the last copy, marked `stale`.
//! - The last 4 transfers: the core platform's light endpoint, never cached (they change with
//!   every transfer).
//! - Complete info: the independent system, only with `?include=complete`.
//!
//! A failure of one source degrades that part (`stale` or `unavailable`) instead of failing the
//! whole answer; the status of each part says where it came from.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use banca_contracts::api::{CustomerBasic, PartStatus, UserSummary};
use banca_contracts::fields::CustomerId;
use banca_runtime::lambda::Clock;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::apigw::{Problem, caller, json_response};
use crate::clients::{ClientError, GatewayClient};

/// Default cache TTL for basic info, seconds.
pub const DEFAULT_BASIC_TTL_SECS: u64 = 300;
/// How long past its TTL a copy is kept for degraded answers, seconds.
pub const DEFAULT_STALE_GRACE_SECS: u64 = 24 * 3600;
/// How many transfers the summary shows (the seed's "últimas 4 transferencias").
pub const LATEST_TRANSFERS: u32 = 4;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedBasic {
    stored_at_ms: i64,
    basic: CustomerBasic,
}

/// The basic-info cache.
#[derive(Clone)]
pub struct BasicInfoCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    ttl_secs: u64,
    stale_grace_secs: u64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BasicInfoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicInfoCache")
            .field("prefix", &self.prefix)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// Where a basic-info answer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The info, when any source had it.
    pub basic: Option<CustomerBasic>,
    /// Fresh, cached, stale or unavailable.
    pub status: PartStatus,
}

impl BasicInfoCache {
    /// A cache under `prefix`.
    pub fn new(
        conn: redis::aio::ConnectionManager,
        prefix: &str,
        ttl_secs: u64,
        stale_grace_secs: u64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            ttl_secs,
            stale_grace_secs,
            clock,
        }
    }

    fn key(&self, id: &CustomerId) -> String {
        format!("{}customer:{}:basic", self.prefix, id)
    }

    async fn read(&self, id: &CustomerId) -> Option<CachedBasic> {
        let mut conn = self.conn.clone();
        match conn.get::<_, Option<String>>(self.key(id)).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cache read failed; going to the source");
                None
            }
        }
    }

    async fn write(&self, id: &CustomerId, basic: &CustomerBasic) {
        let entry = CachedBasic {
            stored_at_ms: self.clock.now_ms(),
            basic: basic.clone(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        let mut conn = self.conn.clone();
        if let Err(e) = conn
            .set_ex::<_, _, ()>(self.key(id), text, self.ttl_secs + self.stale_grace_secs)
            .await
        {
            tracing::warn!(error = %e, "cache write failed");
        }
    }

    /// Drops the cached copy (on demand, or when the customer changed their data).
    pub async fn invalidate(&self, id: &CustomerId) -> Result<(), redis::RedisError> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(self.key(id)).await
    }

    /// Basic info: the cache within its TTL, else the core platform (then cached), else the
    /// last copy past its TTL (`stale`), else `unavailable`.
    pub async fn get(&self, core: &GatewayClient, id: &CustomerId) -> Result<Lookup, ClientError> {
        let cached = self.read(id).await;
        let now = self.clock.now_ms();
        let ttl_ms = i64::try_from(self.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        if let Some(c) = cached.as_ref().filter(|c| now - c.stored_at_ms < ttl_ms) {
            return Ok(Lookup {
                basic: Some(c.basic.clone()),
                status: PartStatus::Cached,
            });
        }
        match core.customer_basic(id).await {
            Ok(basic) => {
                self.write(id, &basic).await;
                Ok(Lookup {
                    basic: Some(basic),
                    status: PartStatus::Fresh,
                })
            }
            // An unknown customer is not an outage: do not serve an old copy for it.
            Err(e @ ClientError::NotFound(_)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "core platform failed; degrading basic info");
                Ok(match cached {
                    Some(c) => Lookup {
                        basic: Some(c.basic),
                        status: PartStatus::Stale,
                    },
                    None => Lookup {
                        basic: None,
                        status: PartStatus::Unavailable,
                    },
                })
            }
        }
    }
}

/// Everything user-summary needs.
#[derive(Clone, Debug)]
pub struct SummaryDeps {
    /// Basic-info cache.
    pub cache: BasicInfoCache,
    /// Core platform.
    pub core: GatewayClient,
    /// Independent system.
    pub independent: GatewayClient,
}

/// Which parts the caller asked for (`?include=basic,transfers,complete`, default
/// `basic,transfers`; `?refresh=true` drops the cached basic info first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    /// Basic info.
    pub basic: bool,
    /// Last transfers.
    pub transfers: bool,
    /// Complete info.
    pub complete: bool,
    /// Invalidate the cache first.
    pub refresh: bool,
}

/// Parses the query string.
pub fn parse_include(req: &ApiGatewayProxyRequest) -> Result<Include, Problem> {
    let mut inc = Include {
        basic: true,
        transfers: true,
        complete: false,
        refresh: false,
    };
    if let Some(list) = req.query_string_parameters.first("include") {
        inc.basic = false;
        inc.transfers = false;
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "basic" => inc.basic = true,
                "transfers" => inc.transfers = true,
                "complete" => inc.complete = true,
                other => {
                    return Err(Problem::invalid(format!(
                        "include: must list basic, transfers or complete, got {other:?}"
                    )));
                }
            }
        }
    }
    match req.query_string_parameters.first("refresh") {
        None | Some("false") => {}
        Some("true") => inc.refresh = true,
        Some(other) => {
            return Err(Problem::invalid(format!(
                "refresh: must be true or false, got {other:?}"
            )));
        }
    }
    Ok(inc)
}

/// Builds the summary.
pub async fn summarize(
    deps: &SummaryDeps,
    id: &CustomerId,
    inc: Include,
) -> Result<UserSummary, Problem> {
    if inc.refresh
        && let Err(e) = deps.cache.invalidate(id).await
    {
        tracing::warn!(error = %e, "cache invalidation failed");
    }
    let (basic, basic_status) = if inc.basic {
        match deps.cache.get(&deps.core, id).await {
            Ok(l) => (l.basic, l.status),
            Err(ClientError::NotFound(_)) => {
                return Err(Problem::new(
                    404,
                    "customer_not_found",
                    format!("customer {id} is unknown to the core platform"),
                ));
            }
            Err(_) => (None, PartStatus::Unavailable),
        }
    } else {
        (None, PartStatus::Skipped)
    };
    let (latest_transfers, transfers_status) = if inc.transfers {
        match deps.core.latest_transfers(id, LATEST_TRANSFERS).await {
            Ok(mut t) => {
                t.truncate(LATEST_TRANSFERS as usize);
                (Some(t), PartStatus::Fresh)
            }
            Err(e) => {
                tracing::warn!(error = %e, "latest transfers unavailable");
                (None, PartStatus::Unavailable)
            }
        }
    } else {
        (None, PartStatus::Skipped)
    };
    let (complete, complete_status) = if inc.complete {
        match deps.independent.customer_complete(id).await {
            Ok(c) => (Some(c), PartStatus::Fresh),
            Err(e) => {
                tracing::warn!(error = %e, "independent system unavailable");
                (None, PartStatus::Unavailable)
            }
        }
    } else {
        (None, PartStatus::Skipped)
    };
    Ok(UserSummary {
        customer_id: id.clone(),
        basic,
        basic_status,
        latest_transfers,
        transfers_status,
        complete,
        complete_status,
    })
}

/// The user-summary handler. 200 with per-part statuses, 503 only when every requested part
/// is unavailable.
pub async fn handle(deps: &SummaryDeps, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let who = match caller(&req) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let inc = match parse_include(&req) {
        Ok(i) => i,
        Err(p) => return p.into_response(),
    };
    match summarize(deps, &who.customer_id, inc).await {
        Ok(s) => {
            let parts = [s.basic_status, s.transfers_status, s.complete_status];
            let requested: Vec<_> = parts
                .iter()
                .filter(|p| **p != PartStatus::Skipped)
                .collect();
            let status = if !requested.is_empty()
                && requested.iter().all(|p| **p == PartStatus::Unavailable)
            {
                503
            } else {
                200
            };
            json_response(status, &s)
        }
        Err(p) => p.into_response(),
    }
}
