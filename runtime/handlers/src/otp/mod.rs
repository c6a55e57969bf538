//! One-time passwords that confirm a transfer (/otpGenerate, /otpValidate).
//!
//! Security properties, and how each is obtained:
//! - codes come from the operating system's CSPRNG (`StdRng::try_from_os_rng`, ChaCha12),
//!   drawn digit by digit with rejection sampling (no modulo bias);
//! - only `HMAC-SHA256(pepper, userId | salt | code)` is stored, never the code, so a Redis
//!   dump does not reveal live codes (the pepper lives in Secrets Manager);
//! - the code is bound to the user (key and MAC input) and to the SHA-256 of the transfer draft:
//!   /otpValidate must present the same draft;
//! - comparison is constant-time (`Mac::verify_slice`);
//! - every check counts an attempt atomically in Redis (Lua) *before* the comparison, so
//!   attempts beyond the limit are refused even with the right code; failures also count per
//!   user in a lockout window that a new code does not reset;
//! - consumption is atomic and single-use: a Lua compare-and-delete on the record's random id,
//!   so two concurrent validations of one code enqueue at most one transfer;
//! - expiry is decided by the injected [`Clock`] (tests control time), with a Redis TTL slightly
//!   longer than the code's life to collect garbage;
//! - generation is rate-limited per user.

use std::sync::Arc;

use banca_contracts::api::{OTP_MAX_LEN, OTP_MIN_LEN, TransferDraft};
use banca_contracts::fields::UserId;
use banca_runtime::lambda::{Clock, Sensitive};
use hmac::{Hmac, Mac};
use rand::{Rng as _, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};

pub mod api;

type HmacSha256 = Hmac<Sha256>;

/// Default code length.
pub const DEFAULT_LENGTH: usize = 6;
/// Default code lifetime, seconds.
pub const DEFAULT_TTL_SECS: u64 = 180;
/// Longest configurable lifetime, seconds (the seed: "a few minutes").
pub const MAX_TTL_SECS: u64 = 600;
/// Default attempts per code.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default failures per user before lockout.
pub const DEFAULT_MAX_FAILURES: u32 = 5;
/// Default lockout window, seconds.
pub const DEFAULT_LOCKOUT_SECS: u64 = 900;
/// Default codes a user may request per rate window.
pub const DEFAULT_GENERATE_LIMIT: u32 = 3;
/// Default rate window, seconds.
pub const DEFAULT_GENERATE_WINDOW_SECS: u64 = 300;
/// Extra Redis TTL beyond the code's life, seconds: the Clock decides expiry, Redis only
/// collects garbage.
const REDIS_GRACE_SECS: u64 = 60;

/// OTP settings (from SSM via the environment).
#[derive(Clone)]
pub struct OtpConfig {
    /// Digits per code, `OTP_MIN_LEN..=OTP_MAX_LEN`.
    pub length: usize,
    /// Lifetime, seconds.
    pub ttl_secs: u64,
    /// Attempts per code.
    pub max_attempts: u32,
    /// Failures per user within `lockout_secs` before the user is locked out.
    pub max_failures: u32,
    /// Lockout window, seconds.
    pub lockout_secs: u64,
    /// Codes per user per `generate_window_secs`.
    pub generate_limit: u32,
    /// Rate window, seconds.
    pub generate_window_secs: u64,
    /// Redis key prefix (tests use a unique one).
    pub key_prefix: String,
    /// HMAC key.
    pub pepper: Sensitive<Vec<u8>>,
}

impl std::fmt::Debug for OtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpConfig")
            .field("length", &self.length)
            .field("ttl_secs", &self.ttl_secs)
            .field("max_attempts", &self.max_attempts)
            .field("max_failures", &self.max_failures)
            .field("lockout_secs", &self.lockout_secs)
            .field("generate_limit", &self.generate_limit)
            .field("generate_window_secs", &self.generate_window_secs)
            .field("key_prefix", &self.key_prefix)
            .field("pepper", &self.pepper)
            .finish()
    }
}

/// A configuration value out of its safe range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("otp config: {0}")]
pub struct OtpConfigError(String);

impl OtpConfig {
    /// Defaults with the given pepper and prefix.
    pub fn new(pepper: Sensitive<Vec<u8>>, key_prefix: &str) -> Self {
        Self {
            length: DEFAULT_LENGTH,
            ttl_secs: DEFAULT_TTL_SECS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_failures: DEFAULT_MAX_FAILURES,
            lockout_secs: DEFAULT_LOCKOUT_SECS,
            generate_limit: DEFAULT_GENERATE_LIMIT,
            generate_window_secs: DEFAULT_GENERATE_WINDOW_SECS,
            key_prefix: key_prefix.to_owned(),
            pepper,
        }
    }

    /// Refuses unsafe settings: short codes, long lives, unbounded attempts, a weak pepper.
    pub fn validate(&self) -> Result<(), OtpConfigError> {
        if !(OTP_MIN_LEN..=OTP_MAX_LEN).contains(&self.length) {
            return Err(OtpConfigError(format!(
                "length must be {OTP_MIN_LEN} to {OTP_MAX_LEN} digits, got {}",
                self.length
            )));
        }
        if !(30..=MAX_TTL_SECS).contains(&self.ttl_secs) {
            return Err(OtpConfigError(format!(
                "ttl must be 30 to {MAX_TTL_SECS} seconds, got {}",
                self.ttl_secs
            )));
        }
        if !(1..=10).contains(&self.max_attempts) || !(1..=20).contains(&self.max_failures) {
            return Err(OtpConfigError(format!(
                "attempts must be 1 to 10 and failures 1 to 20, got {} and {}",
                self.max_attempts, self.max_failures
            )));
        }
        if self.lockout_secs == 0 || self.generate_limit == 0 || self.generate_window_secs == 0 {
            return Err(OtpConfigError(
                "lockout window, generate limit and generate window must be positive".into(),
            ));
        }
        if self.pepper.expose().len() < 16 {
            return Err(OtpConfigError(
                "pepper must be at least 16 bytes\nhint: store 32 random bytes in the OTP pepper secret".into(),
            ));
        }
        Ok(())
    }
}

/// SHA-256 of the draft's canonical JSON (fields in declaration order, amount as "125.50").
pub fn payload_hash(draft: &TransferDraft) -> [u8; 32] {
    let bytes = serde_json::to_vec(draft).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn mac(pepper: &[u8], user: &UserId, salt: &[u8], code: &str) -> Result<HmacSha256, OtpError> {
    let mut m =
        HmacSha256::new_from_slice(pepper).map_err(|_| OtpError::Internal("hmac key".into()))?;
    m.update(user.as_str().as_bytes());
    m.update(&[0]);
    m.update(salt);
    m.update(&[0]);
    m.update(code.as_bytes());
    Ok(m)
}

/// A code drawn from the OS-seeded CSPRNG. `random_range` samples uniformly (no modulo bias).
pub fn generate_code(length: usize) -> Result<Sensitive<String>, OtpError> {
    let mut rng = StdRng::try_from_os_rng().map_err(|e| OtpError::Internal(e.to_string()))?;
    let code: String = (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    Ok(Sensitive::new(code))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], OtpError> {
    let mut rng = StdRng::try_from_os_rng().map_err(|e| OtpError::Internal(e.to_string()))?;
    let mut out = [0u8; N];
    rng.fill(&mut out[..]);
    Ok(out)
}

/// What went wrong, in terms the API maps to statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// Too many codes requested in the window.
    #[error("too many codes requested; try again in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_secs: u64,
    },
    /// Too many failures: locked until the window ends.
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    LockedOut {
        /// Seconds until the lockout ends.
        retry_after_secs: u64,
    },
    /// No code is pending for this user (never generated, already used, or replaced).
    #[error("no pending code; request a new one")]
    NoCode,
    /// The code's life is over.
    #[error("the code has expired; request a new one")]
    Expired,
    /// This code has been tried too often.
    #[error("this code has been tried too many times; request a new one")]
    AttemptsExhausted,
    /// Wrong code.
    #[error("the code is not correct; {remaining} attempts left")]
    Mismatch {
        /// Attempts left for this code.
        remaining: u32,
    },
    /// The code was issued for another transfer.
    #[error("the code was issued for a different transfer")]
    PayloadMismatch,
    /// Redis or randomness failed.
    #[error("otp store unavailable: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for OtpError {
    fn from(e: redis::RedisError) -> Self {
        Self::Internal(format!("redis: {e}"))
    }
}

/// A freshly issued code: hand `code` to the SMS notification and forget it.
#[derive(Debug)]
pub struct Issued {
    /// The digits (redacted in logs).
    pub code: Sensitive<String>,
    /// Record id: the transfer id of the transfer this code will confirm derives from it.
    pub id: String,
    /// When it stops working, Unix ms.
    pub expires_at_ms: i64,
}

/// A validated, consumed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// The record id (unique per issued code): the transfer's business key.
    pub id: String,
}

// KEYS[1] rate key. ARGV: now_ms, window_ms, limit. Fixed window kept in the Clock's time.
// Returns {allowed(0/1), retry_after_ms}.
const RATE_SCRIPT: &str = r#"
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
if start < 0 or now - start >= window then
  redis.call('HSET', KEYS[1], 'start', now, 'count', 0); start = now
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], window + 60000)
if count > limit then return {0, window - (now - start)} end
return {1, 0}
"#;

// KEYS[1] code record, KEYS[2] failure record. ARGV: now_ms, max_attempts, max_failures,
// lockout_ms. Counts the attempt before the caller compares, so the limit holds even for the
// right code. Returns {status, ...}.
const CHECK_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local fstart = tonumber(redis.call('HGET', KEYS[2], 'start') or '-1')
local fcount = tonumber(redis.call('HGET', KEYS[2], 'count') or '0')
if fstart >= 0 and now - fstart < tonumber(ARGV[4]) and fcount >= tonumber(ARGV[3]) then
  return {'locked', tostring(tonumber(ARGV[4]) - (now - fstart))}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local exp = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if now >= exp then redis.call('DEL', KEYS[1]); return {'expired'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[2]) then return {'exhausted'} end
local f = redis.call('HMGET', KEYS[1], 'mac', 'salt', 'payload', 'id')
return {'ok', f[1], f[2], f[3], f[4], tostring(attempts)}
"#;

// KEYS[1] failure record. ARGV: now_ms, lockout_ms. Returns the failure count in the window.
const FAIL_SCRIPT: &str = r#"
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2])
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
if start < 0 or now - start >= window then
  redis.call('HSET', KEYS[1], 'start', now, 'count', 0)
end
local c = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], window + 60000)
return c
"#;

// KEYS[1] code record. ARGV[1] record id. Compare-and-delete: single use even under races.
const CONSUME_SCRIPT: &str = r#"
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
return 0
"#;

/// The OTP store in Redis.
#[derive(Clone)]
pub struct OtpStore {
    conn: redis::aio::ConnectionManager,
    config: Arc<OtpConfig>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OtpStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OtpStore {
    /// A store over `conn`.
    pub fn new(
        conn: redis::aio::ConnectionManager,
        config: Arc<OtpConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            config,
            clock,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OtpConfig {
        &self.config
    }

    fn key(&self, kind: &str, user: &UserId) -> String {
        // The user id is in braces so a Redis Cluster keeps one user's keys in one slot
        // (Lua scripts touch two of them).
        format!("{}otp:{{{}}}:{kind}", self.config.key_prefix, user)
    }

    /// Whether the user is locked out now, and for how long.
    async fn lockout(&self, user: &UserId) -> Result<Option<u64>, OtpError> {
        let mut conn = self.conn.clone();
        let (start, count): (Option<i64>, Option<u32>) = redis::cmd("HMGET")
            .arg(self.key("fail", user))
            .arg("start")
            .arg("count")
            .query_async(&mut conn)
            .await?;
        let now = self.clock.now_ms();
        let window = ms(self.config.lockout_secs);
        match (start, count) {
            (Some(s), Some(c)) if now - s < window && c >= self.config.max_failures => {
                Ok(Some(secs_ceil(window - (now - s))))
            }
            _ => Ok(None),
        }
    }

    /// Issues a new code for `user` bound to `draft`, replacing any pending one.
    pub async fn issue(&self, user: &UserId, draft: &TransferDraft) -> Result<Issued, OtpError> {
        if let Some(retry_after_secs) = self.lockout(user).await? {
            return Err(OtpError::LockedOut { retry_after_secs });
        }
        let now = self.clock.now_ms();
        let mut conn = self.conn.clone();
        let (allowed, retry_ms): (i64, i64) = redis::Script::new(RATE_SCRIPT)
            .key(self.key("rate", user))
            .arg(now)
            .arg(ms(self.config.generate_window_secs))
            .arg(self.config.generate_limit)
            .invoke_async(&mut conn)
            .await?;
        if allowed == 0 {
            return Err(OtpError::RateLimited {
                retry_after_secs: secs_ceil(retry_ms),
            });
        }
        let code = generate_code(self.config.length)?;
        let salt = random_bytes::<16>()?;
        let id = uuid::Uuid::from_bytes(random_bytes::<16>()?);
        // A v4 UUID: the transfer id derived from it travels to the core platform.
        let id = uuid::Builder::from_random_bytes(*id.as_bytes())
            .into_uuid()
            .to_string();
        let tag = mac(self.config.pepper.expose(), user, &salt, code.expose())?
            .finalize()
            .into_bytes();
        let expires_at_ms = now + ms(self.config.ttl_secs);
        let key = self.key("code", user);
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(
                &key,
                &[
                    ("mac", hex(&tag)),
                    ("salt", hex(&salt)),
                    ("payload", hex(&payload_hash(draft))),
                    ("id", id.clone()),
                    ("attempts", "0".to_owned()),
                    ("expiresAt", expires_at_ms.to_string()),
                ],
            )
            .expire(
                &key,
                i64::try_from(self.config.ttl_secs + REDIS_GRACE_SECS).unwrap_or(i64::MAX),
            )
            .query_async::<()>(&mut conn)
            .await?;
        Ok(Issued {
            code,
            id,
            expires_at_ms,
        })
    }

    async fn record_failure(&self, user: &UserId) -> Result<u32, OtpError> {
        let mut conn = self.conn.clone();
        let count: u32 = redis::Script::new(FAIL_SCRIPT)
            .key(self.key("fail", user))
            .arg(self.clock.now_ms())
            .arg(ms(self.config.lockout_secs))
            .invoke_async(&mut conn)
            .await?;
        Ok(count)
    }

    /// Checks `code` for `user` and `draft`; on success consumes it (once, atomically).
    pub async fn validate(
        &self,
        user: &UserId,
        code: &str,
        draft: &TransferDraft,
    ) -> Result<Consumed, OtpError> {
        let mut conn = self.conn.clone();
        let code_key = self.key("code", user);
        let reply: Vec<String> = redis::Script::new(CHECK_SCRIPT)
            .key(&code_key)
            .key(self.key("fail", user))
            .arg(self.clock.now_ms())
            .arg(self.config.max_attempts)
            .arg(self.config.max_failures)
            .arg(ms(self.config.lockout_secs))
            .invoke_async(&mut conn)
            .await?;
        let status = reply.first().map(String::as_str).unwrap_or("");
        match status {
            "locked" => {
                let left: i64 = reply.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                return Err(OtpError::LockedOut {
                    retry_after_secs: secs_ceil(left),
                });
            }
            "missing" => return Err(OtpError::NoCode),
            "expired" => return Err(OtpError::Expired),
            "exhausted" => {
                self.record_failure(user).await?;
                return Err(OtpError::AttemptsExhausted);
            }
            "ok" => {}
            other => {
                return Err(OtpError::Internal(format!(
                    "unexpected script reply {other:?}"
                )));
            }
        }
        let field = |i: usize| reply.get(i).and_then(|s| unhex(s));
        let (Some(tag), Some(salt), Some(payload), Some(id)) =
            (field(1), field(2), field(3), reply.get(4).cloned())
        else {
            return Err(OtpError::Internal("corrupt otp record".into()));
        };
        let attempts: u32 = reply
            .get(5)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX);
        let code_ok = code.len() == self.config.length
            && mac(self.config.pepper.expose(), user, &salt, code)?
                .verify_slice(&tag)
                .is_ok();
        let payload_ok = ct_eq(&payload, &payload_hash(draft));
        if !code_ok {
            self.record_failure(user).await?;
            return Err(OtpError::Mismatch {
                remaining: self.config.max_attempts.saturating_sub(attempts),
            });
        }
        if !payload_ok {
            // The right code for another transfer: someone altered the draft in between.
            self.record_failure(user).await?;
            return Err(OtpError::PayloadMismatch);
        }
        let consumed: i64 = redis::Script::new(CONSUME_SCRIPT)
            .key(&code_key)
            .arg(&id)
            .invoke_async(&mut conn)
            .await?;
        if consumed != 1 {
            // Another validation consumed it between our check and now.
            return Err(OtpError::NoCode);
        }
        let _: () = redis::cmd("DEL")
            .arg(self.key("fail", user))
            .query_async(&mut conn)
            .await?;
        Ok(Consumed { id })
    }
}

/// Equality whose running time does not depend on where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn secs_ceil(ms: i64) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000)
}

/// Masks a phone for display: `+593991234567` -> `+59399****567`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_configured_length_and_vary() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let c = generate_code(8).unwrap().into_inner();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            seen.insert(c);
        }
        assert!(
            seen.len() > 45,
            "50 codes of 8 digits should almost never collide"
        );
    }

    #[test]
    fn config_refuses_short_codes_long_lives_and_weak_peppers() {
        let mut c = OtpConfig::new(Sensitive::new(vec![7; 32]), "t:");
        c.validate().unwrap();
        c.length = 4;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("length must be 6 to 10")
        );
        c.length = 6;
        c.ttl_secs = 3600;
        assert!(c.validate().is_err());
        c.ttl_secs = 180;
        c.pepper = Sensitive::new(vec![1; 4]);
        assert!(c.validate().is_err());
        assert!(!format!("{c:?}").contains("[1, 1"));
    }

    #[test]
    fn hex_round_trips_and_masks() {
        assert_eq!(unhex(&hex(&[0, 255, 16])).unwrap(), vec![0, 255, 16]);
        assert!(unhex("zz").is_none());
        assert_eq!(mask_phone("+593991234567"), "+59399****567");
    }
}
