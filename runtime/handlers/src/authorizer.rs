//! The API Gateway Lambda authorizer (REQUEST or TOKEN type): verifies the UAA access token and
//! the onboarding rule of the seed ("al no encontrar datos [de la foto], devuelve una negativa
//! de autorización y solicita cargar foto").
//!
//! Token rules, each a deny: not three base64url parts, or longer than [`MAX_TOKEN_LEN`];
//! header `alg` other than RS256 (so `none`, HS256 "signed" with the public key, ES256... all
//! fail before any key is touched); no `kid`; a `kid` not in the UAA's JWKS even after one
//! refresh (refreshes are rate-limited, [`MIN_REFRESH_INTERVAL_MS`], so a flood of random kids
//! cannot hammer the UAA); a bad signature; `iss` or `aud` other than configured; `exp`, `iat`,
//! `sub` missing; expired, or `nbf`/`iat` in the future, beyond [`DEFAULT_LEEWAY_SECS`].
//!
//! `nbf` is checked whenever present but not required: the UAA contract (and its tokens) carry
//! `iss, sub, aud, exp, iat, scope` only, so requiring `nbf` would deny every genuine token;
//! `iat` (required, not in the future) bounds the start of validity instead.
//!
//! Then the face record: missing or not active -> deny with context
//! `{"reason":"photo_required", ...}`; a lookup failure -> deny (`unavailable`); otherwise
//! allow with `userId` and `customerId` in the context for the backend handlers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerResponse;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use banca_contracts::fields::UserId;
use banca_runtime::lambda::Clock;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;

use crate::face::FaceStore;

/// Longest token accepted, bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Default clock skew tolerated on exp/nbf/iat, seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// How long a fetched JWKS is trusted without refetching, ms.
pub const JWKS_TTL_MS: i64 = 3_600_000;
/// Shortest interval between two JWKS fetches triggered by unknown kids, ms.
pub const MIN_REFRESH_INTERVAL_MS: i64 = 30_000;
/// Most keys kept from one JWKS.
pub const MAX_KEYS: usize = 20;

/// What the verifier checks.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Skew tolerance, seconds.
    pub leeway_secs: u64,
}

/// Why a token was refused (logged; never sent to the caller in detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No `Authorization: Bearer` token.
    #[error("no bearer token")]
    Missing,
    /// Not a compact JWS, too long, or a header that does not parse (`alg: none` lands here).
    #[error("malformed token")]
    Malformed,
    /// `alg` other than RS256.
    #[error("algorithm {0} not allowed")]
    Algorithm(String),
    /// No `kid`, or a `kid` the UAA does not publish.
    #[error("unknown signing key {0:?}")]
    UnknownKey(Option<String>),
    /// The JWKS could not be fetched.
    #[error("jwks unavailable: {0}")]
    Jwks(String),
    /// Signature or claims failed.
    #[error("token rejected: {0}")]
    Rejected(String),
}

struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fetched_at_ms: Option<i64>,
    last_attempt_ms: Option<i64>,
}

/// The UAA's signing keys, fetched from its JWKS endpoint and cached.
pub struct JwksCache {
    http: reqwest::Client,
    url: String,
    state: RwLock<KeySet>,
    clock: Arc<dyn Clock>,
    fetches: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache of the JWKS at `url`.
    pub fn new(http: reqwest::Client, url: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            url: url.to_owned(),
            state: RwLock::new(KeySet {
                keys: HashMap::new(),
                fetched_at_ms: None,
                last_attempt_ms: None,
            }),
            clock,
            fetches: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// How many times the JWKS was fetched (for tests and metrics).
    pub fn fetches(&self) -> u32 {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn fetch(&self) -> Result<(), TokenError> {
        let now = self.clock.now_ms();
        if let Ok(mut s) = self.state.write() {
            s.last_attempt_ms = Some(now);
        }
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let resp = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|_| TokenError::Jwks("unreachable".into()))?;
        if !resp.status().is_success() {
            return Err(TokenError::Jwks(format!("http {}", resp.status().as_u16())));
        }
        let set: JwkSet = resp
            .json()
            .await
            .map_err(|e| TokenError::Jwks(format!("not a JWK set: {e}")))?;
        let mut keys = HashMap::new();
        for jwk in set.keys.iter().take(MAX_KEYS) {
            // Only RSA signing keys meant for RS256 (or unlabelled) enter the cache.
            let rsa = matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_)
            );
            let alg_ok = jwk
                .common
                .key_algorithm
                .is_none_or(|a| a == jsonwebtoken::jwk::KeyAlgorithm::RS256);
            let use_ok = jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature);
            let (Some(kid), true, true, true) = (jwk.common.key_id.clone(), rsa, alg_ok, use_ok)
            else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, key);
            }
        }
        let mut s = self
            .state
            .write()
            .map_err(|_| TokenError::Jwks("poisoned".into()))?;
        s.keys = keys;
        s.fetched_at_ms = Some(now);
        Ok(())
    }

    /// The key for `kid`: from the cache while fresh; refetched when stale, or once per
    /// [`MIN_REFRESH_INTERVAL_MS`] when the kid is unknown (key rotation).
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let now = self.clock.now_ms();
        let (cached, fresh, may_refresh) = {
            let s = self
                .state
                .read()
                .map_err(|_| TokenError::Jwks("poisoned".into()))?;
            (
                s.keys.get(kid).cloned(),
                s.fetched_at_ms.is_some_and(|t| now - t < JWKS_TTL_MS),
                s.last_attempt_ms
                    .is_none_or(|t| now - t >= MIN_REFRESH_INTERVAL_MS),
            )
        };
        match (cached, fresh) {
            (Some(k), true) => return Ok(k),
            (Some(k), false) => {
                // Stale but known: try to refresh, keep using the key if the UAA is down.
                if may_refresh && self.fetch().await.is_err() {
                    return Ok(k);
                }
            }
            (None, _) => {
                if !may_refresh {
                    return Err(TokenError::UnknownKey(Some(kid.to_owned())));
                }
                self.fetch().await?;
            }
        }
        let s = self
            .state
            .read()
            .map_err(|_| TokenError::Jwks("poisoned".into()))?;
        s.keys
            .get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(Some(kid.to_owned())))
    }
}

/// The claims banca relies on.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expires, seconds.
    pub exp: i64,
    /// Not before, seconds.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user id (`sub`).
    pub user_id: UserId,
    /// Scopes.
    pub scope: String,
}

/// Verifies a UAA access token.
pub async fn verify(
    token: &str,
    config: &JwtConfig,
    jwks: &JwksCache,
) -> Result<Verified, TokenError> {
    if token.len() > MAX_TOKEN_LEN || token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey(None))?;
    let key = jwks.key(&kid).await?;
    let mut v = Validation::new(Algorithm::RS256);
    v.algorithms = vec![Algorithm::RS256];
    v.set_issuer(&[&config.issuer]);
    v.set_audience(&[&config.audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.leeway = config.leeway_secs;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &v)
        .map_err(|e| TokenError::Rejected(format!("{:?}", e.kind())))?;
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
    let leeway = i64::try_from(config.leeway_secs).unwrap_or(0);
    if data.claims.iat > now + leeway {
        return Err(TokenError::Rejected("issued in the future".into()));
    }
    let user_id = data
        .claims
        .sub
        .parse()
        .map_err(|_| TokenError::Rejected("sub is not a user id".into()))?;
    Ok(Verified {
        user_id,
        scope: data.claims.scope.unwrap_or_default(),
    })
}

/// Everything the authorizer needs.
#[derive(Debug, Clone)]
pub struct AuthorizerDeps {
    /// Token rules.
    pub jwt: JwtConfig,
    /// Keys.
    pub jwks: Arc<JwksCache>,
    /// Face records.
    pub faces: FaceStore,
    /// S3 prefix the app uploads the photo under (told to the app on "photo required").
    pub upload_prefix: String,
}

/// The authorizer's decision, before it becomes an IAM policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through.
    Allow {
        /// The user.
        user_id: String,
        /// The customer.
        customer_id: String,
        /// Scopes.
        scope: String,
    },
    /// Refuse it.
    Deny {
        /// Stable reason: `invalid_token`, `photo_required`, `unavailable`, `profile_incomplete`.
        reason: &'static str,
        /// The user, when the token was valid.
        user_id: Option<String>,
    },
}

/// Extracts the bearer token from a TOKEN authorizer's `authorizationToken` or a REQUEST
/// authorizer's `Authorization` header.
pub fn bearer(event: &serde_json::Value) -> Option<String> {
    let raw = match event.get("type").and_then(|t| t.as_str()) {
        Some("TOKEN") => event.get("authorizationToken")?.as_str()?.to_owned(),
        Some("REQUEST") => {
            let headers = event.get("headers")?.as_object()?;
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?
                .1
                .as_str()?
                .to_owned()
        }
        _ => return None,
    };
    let (scheme, token) = raw.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Decides for one event.
pub async fn decide(deps: &AuthorizerDeps, event: &serde_json::Value) -> Decision {
    let Some(token) = bearer(event) else {
        tracing::info!(reason = "no bearer token", "deny");
        return Decision::Deny {
            reason: "invalid_token",
            user_id: None,
        };
    };
    let verified = match verify(&token, &deps.jwt, &deps.jwks).await {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(reason = %e, "deny");
            return Decision::Deny {
                reason: "invalid_token",
                user_id: None,
            };
        }
    };
    let user_id = verified.user_id.to_string();
    match deps.faces.get(&verified.user_id).await {
        Err(e) => {
            tracing::error!(error = %e, "face record lookup failed; deny");
            Decision::Deny {
                reason: "unavailable",
                user_id: Some(user_id),
            }
        }
        Ok(Some(r)) if r.has_face() => match r.customer_id {
            Some(c) => Decision::Allow {
                user_id,
                customer_id: c.to_string(),
                scope: verified.scope,
            },
            None => Decision::Deny {
                reason: "profile_incomplete",
                user_id: Some(user_id),
            },
        },
        Ok(_) => Decision::Deny {
            reason: "photo_required",
            user_id: Some(user_id),
        },
    }
}

/// The policy resource: every method of the stage, so a cached decision serves the whole API
/// (`arn:aws:execute-api:region:account:api/stage/VERB/path` -> `.../api/stage/*/*`).
pub fn stage_wildcard(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if api.starts_with("arn:") => format!("{api}/{stage}/*/*"),
        // Unparseable: scope the policy to exactly what was asked.
        _ => method_arn.to_owned(),
    }
}

/// The authorizer response for a decision.
pub fn to_response(
    decision: &Decision,
    method_arn: &str,
    upload_prefix: &str,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.resource = vec![stage_wildcard(method_arn)];
    let mut context = serde_json::Map::new();
    let principal = match decision {
        Decision::Allow {
            user_id,
            customer_id,
            scope,
        } => {
            statement.effect = IamPolicyEffect::Allow;
            context.insert("userId".into(), user_id.clone().into());
            context.insert("customerId".into(), customer_id.clone().into());
            context.insert("scope".into(), scope.clone().into());
            user_id.clone()
        }
        Decision::Deny { reason, user_id } => {
            statement.effect = IamPolicyEffect::Deny;
            context.insert("reason".into(), (*reason).into());
            let message = match *reason {
                "photo_required" => {
                    "photo required: upload a photo of your face to finish onboarding"
                }
                "unavailable" => "authorization is temporarily unavailable; try again",
                "profile_incomplete" => "your profile is incomplete; contact the bank",
                _ => "invalid or expired token; sign in again",
            };
            context.insert("message".into(), message.into());
            if let (true, Some(u)) = (*reason == "photo_required", user_id) {
                context.insert("uploadPrefix".into(), format!("{upload_prefix}{u}/").into());
            }
            user_id.clone().unwrap_or_else(|| "anonymous".to_owned())
        }
    };
    let mut policy = aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut r = ApiGatewayCustomAuthorizerResponse::default();
    r.principal_id = Some(principal);
    r.policy_document = policy;
    r.context = serde_json::Value::Object(context);
    r
}

/// The authorizer handler.
pub async fn handle(
    deps: &AuthorizerDeps,
    event: serde_json::Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let method_arn = event
        .get("methodArn")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_owned();
    let decision = decide(deps, &event).await;
    to_response(&decision, &method_arn, &deps.upload_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_from_both_event_types() {
        let t =
            serde_json::json!({"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"x"});
        assert_eq!(bearer(&t).as_deref(), Some("abc"));
        let r = serde_json::json!({"type":"REQUEST","headers":{"authorization":"bearer  xyz "}});
        assert_eq!(bearer(&r).as_deref(), Some("xyz"));
        for bad in [
            serde_json::json!({"type":"TOKEN","authorizationToken":"Basic abc"}),
            serde_json::json!({"type":"TOKEN","authorizationToken":"Bearer "}),
            serde_json::json!({"type":"REQUEST","headers":{}}),
            serde_json::json!({"type":"OTHER"}),
        ] {
            assert_eq!(bearer(&bad), None, "{bad}");
        }
    }

    #[test]
    fn policy_covers_the_stage() {
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/me/summary"),
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"
        );
        assert_eq!(stage_wildcard("garbage"), "garbage");
    }
}
