//! The UAA (the bank's OAuth2 authorization server): password and refresh_token grants at
//! `POST /oauth/token` issuing RS256 JWTs, the signing keys at `GET /.well-known/jwks.json`,
//! and user registration at `POST /users`.
//!
//! Access tokens carry exactly the contract's claims: `iss`, `sub` (the userId), `aud`, `exp`,
//! `iat`, `scope`. Keys rotate through the admin API; a rotated-out key stays in the JWKS until
//! it is retired, so tokens already issued keep verifying.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::faults::{UAA_JWKS, UAA_TOKEN, UAA_USERS};
use crate::{SimError, Simulator, after, before, lock};

/// UAA settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UaaConfig {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// The OAuth2 client allowed to use the token endpoint.
    pub client_id: String,
    /// Its secret (form field `client_secret` or HTTP basic).
    pub client_secret: String,
    /// Access token lifetime, seconds.
    pub access_token_ttl_s: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl_s: u64,
    /// Scope granted when the request names none.
    pub default_scope: String,
}

impl Default for UaaConfig {
    fn default() -> Self {
        Self {
            issuer: "https://uaa.banca.local/oauth/token".to_owned(),
            audience: "banca-api".to_owned(),
            client_id: "banca-web".to_owned(),
            client_secret: "banca-web-secret".to_owned(),
            access_token_ttl_s: 300,
            refresh_token_ttl_s: 3600,
            default_scope: "openid banking".to_owned(),
        }
    }
}

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The JWT `sub`.
    pub user_id: String,
    /// Login name.
    pub username: String,
    password: String,
    /// The core platform customer.
    pub customer_id: String,
    /// E-mail.
    pub email: String,
    /// E.164 phone.
    pub phone: String,
}

struct SigningKey {
    kid: String,
    pair: KeyPair,
}

pub(crate) struct UaaState {
    keys: Vec<SigningKey>,
    users: HashMap<String, User>,
    refresh: HashMap<String, (String, i64)>,
    next_kid: u64,
    next_user: u64,
    token_counter: u64,
}

/// The seeded demo user: `maria` / `Quito#2026`, customer `C-100234`.
pub const DEMO_USERNAME: &str = "maria";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "Quito#2026";

impl UaaState {
    pub(crate) fn new(_config: &UaaConfig) -> Result<Self, SimError> {
        let mut s = Self {
            keys: Vec::new(),
            users: HashMap::new(),
            refresh: HashMap::new(),
            next_kid: 1,
            next_user: 1,
            token_counter: 0,
        };
        s.rotate(false)?;
        s.reset_users();
        Ok(s)
    }

    pub(crate) fn reset_users(&mut self) {
        self.users.clear();
        self.refresh.clear();
        self.next_user = 1;
        let _ = self.register(
            DEMO_USERNAME,
            DEMO_PASSWORD,
            "C-100234",
            "maria@example.com",
            "+593991234567",
        );
    }

    fn register(
        &mut self,
        username: &str,
        password: &str,
        customer_id: &str,
        email: &str,
        phone: &str,
    ) -> Option<String> {
        if self.users.contains_key(username) {
            return None;
        }
        let user_id = format!("u-{:06}", self.next_user);
        self.next_user += 1;
        self.users.insert(
            username.to_owned(),
            User {
                user_id: user_id.clone(),
                username: username.to_owned(),
                password: password.to_owned(),
                customer_id: customer_id.to_owned(),
                email: email.to_owned(),
                phone: phone.to_owned(),
            },
        );
        Some(user_id)
    }

    fn rotate(&mut self, retire_previous: bool) -> Result<String, SimError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| SimError::Crypto)?;
        let kid = format!("sim-key-{}", self.next_kid);
        self.next_kid += 1;
        if retire_previous {
            self.keys.clear();
        }
        self.keys.push(SigningKey {
            kid: kid.clone(),
            pair,
        });
        Ok(kid)
    }

    fn sign(&self, claims: &serde_json::Value) -> Result<String, SimError> {
        let key = self.keys.last().ok_or(SimError::Crypto)?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; key.pair.public_modulus_len()];
        key.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| SimError::Crypto)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                let public = k.pair.public_key();
                serde_json::json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

impl Simulator {
    /// Generates a new signing key and makes it current; with `retire_previous` the old keys
    /// leave the JWKS (tokens they signed stop verifying). Returns the new `kid`.
    pub fn rotate_signing_key(&self, retire_previous: bool) -> Result<String, SimError> {
        lock(&self.uaa).rotate(retire_previous)
    }

    /// The current JWK set, as `GET /.well-known/jwks.json` serves it.
    pub fn jwks(&self) -> serde_json::Value {
        lock(&self.uaa).jwks()
    }

    /// Signs arbitrary claims with the current key (tests of expired, foreign-audience or
    /// otherwise odd tokens).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String, SimError> {
        lock(&self.uaa).sign(claims)
    }

    /// A registered user by username.
    pub fn user(&self, username: &str) -> Option<User> {
        lock(&self.uaa).users.get(username).cloned()
    }

    /// Registers a user directly; `None` when the username is taken.
    pub fn register_user(
        &self,
        username: &str,
        password: &str,
        customer_id: &str,
        email: &str,
        phone: &str,
    ) -> Option<String> {
        lock(&self.uaa).register(username, password, customer_id, email, phone)
    }
}

pub(crate) fn routes() -> Router<Arc<Simulator>> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/users", post(users))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn jwks(State(sim): State<Arc<Simulator>>) -> Response {
    let d = sim.decide(UAA_JWKS, None);
    if let Some(r) = before(&d).await {
        return r;
    }
    let served = Json(sim.jwks()).into_response();
    after(&d, served).await
}

pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let d = sim.decide(UAA_TOKEN, None);
    if let Some(r) = before(&d).await {
        return r;
    }
    let served = issue(&sim, &headers, &body);
    after(&d, served).await
}

fn issue(sim: &Simulator, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: HashMap<String, String> = parse_form(body);
    let cfg = &sim.config.uaa;
    let (client_id, client_secret) = match basic_credentials(headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        ),
    };
    if client_id.as_deref() != Some(cfg.client_id.as_str())
        || client_secret.as_deref() != Some(cfg.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let now_s = sim.now_ms() / 1000;
    let mut uaa = lock(&sim.uaa);
    let user = match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            let (Some(username), Some(password)) = (form.get("username"), form.get("password"))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                );
            };
            match uaa.users.get(username) {
                Some(u) if &u.password == password => u.clone(),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "bad credentials",
                    );
                }
            }
        }
        Some("refresh_token") => {
            let Some(rt) = form.get("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            // Refresh tokens rotate: each is good for one use.
            match uaa.refresh.remove(rt) {
                Some((username, exp)) if exp > now_s => match uaa.users.get(&username) {
                    Some(u) => u.clone(),
                    None => {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "user no longer exists",
                        );
                    }
                },
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "invalid or expired refresh token",
                    );
                }
            }
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be password or refresh_token",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    };
    let scope = form
        .get("scope")
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| cfg.default_scope.clone());
    let ttl = i64::try_from(cfg.access_token_ttl_s).unwrap_or(300);
    let claims = serde_json::json!({
        "iss": cfg.issuer, "sub": user.user_id, "aud": cfg.audience,
        "exp": now_s + ttl, "iat": now_s, "scope": scope,
    });
    let access_token = match uaa.sign(&claims) {
        Ok(t) => t,
        Err(_) => {
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            );
        }
    };
    uaa.token_counter += 1;
    let mut raw = [0u8; 24];
    let _ = aws_lc_rs::rand::fill(&mut raw);
    let refresh_token = format!("rt-{}-{}", uaa.token_counter, URL_SAFE_NO_PAD.encode(raw));
    let refresh_ttl = i64::try_from(cfg.refresh_token_ttl_s).unwrap_or(3600);
    uaa.refresh.insert(
        refresh_token.clone(),
        (user.username.clone(), now_s + refresh_ttl),
    );
    Json(serde_json::json!({
        "access_token": access_token, "token_type": "bearer", "expires_in": ttl,
        "refresh_token": refresh_token, "scope": scope,
    }))
    .into_response()
}

/// Parses `application/x-www-form-urlencoded`; a repeated key keeps its first value.
pub(crate) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let k = decode_component(it.next().unwrap_or_default());
        let v = decode_component(it.next().unwrap_or_default());
        out.entry(k).or_insert(v);
    }
    out
}

fn decode_component(raw: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < raw.len() => {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        bytes.push(b);
                        i += 2;
                    }
                    None => bytes.push(b'%'),
                }
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    username: String,
    password: String,
    customer_id: String,
    email: String,
    phone: String,
}

async fn users(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    let d = sim.decide(UAA_USERS, None);
    if let Some(r) = before(&d).await {
        return r;
    }
    let served = register(&sim, &body);
    after(&d, served).await
}

fn register(sim: &Simulator, body: &[u8]) -> Response {
    let bad = |m: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": m})),
        )
            .into_response()
    };
    let u: NewUser = match serde_json::from_slice(body) {
        Ok(u) => u,
        Err(e) => return bad(format!("invalid user: {e}")),
    };
    if u.username.trim().is_empty() || u.password.is_empty() || u.customer_id.trim().is_empty() {
        return bad("username, password and customerId must not be empty".to_owned());
    }
    if !is_email(&u.email) {
        return bad(format!(
            "email must be an e-mail address, got {:?}",
            u.email
        ));
    }
    if !crate::twilio::is_e164(&u.phone) {
        return bad(format!(
            "phone must be E.164 like +593991234567, got {:?}",
            u.phone
        ));
    }
    match lock(&sim.uaa).register(&u.username, &u.password, &u.customer_id, &u.email, &u.phone) {
        Some(user_id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"userId": user_id})),
        )
            .into_response(),
        None => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": format!("username {:?} already exists", u.username)})),
        )
            .into_response(),
    }
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}
