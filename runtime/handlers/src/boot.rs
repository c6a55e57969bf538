//! Cold-start wiring: each binary builds its dependencies from the environment once, then
//! serves every invocation with them. Variable names are the contract with the stacks crate
//! (which sets them from SSM parameters and resource references). Secrets are *ids* of Secrets
//! Manager secrets, never values; the values are fetched at start and cached ([`SECRET_TTL`]).
//! AWS endpoints follow the SDK's standard variables (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_<SERVICE>`), so the same binaries run against moto.
//!
//! | binary | required | optional (default) |
//! |---|---|---|
//! | notify-email | `SES_FROM_ADDRESS`, `ANALYSIS_QUEUE_URL` | `SES_CONFIGURATION_SET`, `REDIS_URL` (dedup off when unset), `KEY_PREFIX` (`banca:`), `DEDUP_WINDOW_SECS` (86400), `MAX_RECEIVES` (4) |
//! | notify-sms | `TWILIO_SECRET_ID` (JSON `accountSid`, `authToken`, `from` or `messagingServiceSid`), `ANALYSIS_QUEUE_URL` | `TWILIO_BASE_URL` (`https://api.twilio.com`), `TWILIO_MAX_ATTEMPTS` (3), `SMS_MAX_SEGMENTS` (3), `REDIS_URL`, `KEY_PREFIX`, `DEDUP_WINDOW_SECS`, `MAX_RECEIVES` |
//! | otp-generate | `REDIS_URL`, `OTP_PEPPER_SECRET_ID` (>= 16 bytes), `CORE_BASE_URL`, `CORE_SECRET_ID` (JSON `clientId`, `clientSecret`), `NOTIFICATIONS_TOPIC_ARN`, `AUDIT_QUEUE_URL` | `OTP_LENGTH` (6, 6..=10), `OTP_TTL_SECS` (180, 30..=600), `OTP_MAX_ATTEMPTS` (5), `OTP_MAX_FAILURES` (5), `OTP_LOCKOUT_SECS` (900), `OTP_GENERATE_LIMIT` (3), `OTP_GENERATE_WINDOW_SECS` (300), `BASIC_TTL_SECS` (300), `STALE_GRACE_SECS` (86400), `KEY_PREFIX` |
//! | otp-validate | `REDIS_URL`, `OTP_PEPPER_SECRET_ID`, `TRANSFER_QUEUE_URL`, `AUDIT_QUEUE_URL` | the `OTP_*` above (must match otp-generate's), `KEY_PREFIX` |
//! | authorizer | `UAA_ISSUER`, `UAA_AUDIENCE`, `FACE_TABLE`, and `UAA_BASE_URL` or `UAA_JWKS_URL` | `JWT_LEEWAY_SECS` (30, 0..=120), `UPLOAD_PREFIX` (`uploads/`) |
//! | signup | `UAA_BASE_URL`, `UAA_SECRET_ID` (JSON `clientId`, `clientSecret`), `FACE_TABLE`, `AUDIT_QUEUE_URL` | `UPLOAD_PREFIX` |
//! | onboarding-trigger | `STATE_MACHINE_ARN`, `FACE_TABLE` | `UPLOAD_PREFIX`, `MAX_PHOTO_BYTES` (5 MiB) |
//! | audit-collector | `AUDIT_TABLE` (see [`crate::audit`] for its keys and index) | |
//! | user-summary | `REDIS_URL`, `CORE_BASE_URL`, `CORE_SECRET_ID`, `INDEPENDENT_BASE_URL`, `INDEPENDENT_SECRET_ID` | `BASIC_TTL_SECS`, `STALE_GRACE_SECS`, `KEY_PREFIX` |
//! | movements-report | `REDIS_URL`, `CORE_BASE_URL`, `CORE_SECRET_ID`, `SES_FROM_ADDRESS` | `REPORT_MAX_SPAN_DAYS` (92, 1..=366), `DEDUP_WINDOW_SECS`, `KEY_PREFIX` |

use std::sync::Arc;
use std::time::Duration;

use banca_runtime::lambda::{
    Backoff, Clock, SecretCache, SecretsManagerSource, Sensitive, SystemClock, SystemRng,
    load_sdk_config,
};

use crate::authorizer::{AuthorizerDeps, DEFAULT_LEEWAY_SECS, JwksCache, JwtConfig};
use crate::clients::{GatewayClient, GatewayCredentials, http_client};
use crate::config::{ConfigError, bounded, optional, parsed, required};
use crate::face::FaceStore;
use crate::notify::dedup::{DEFAULT_WINDOW_SECS, Dedup};
use crate::notify::email::{DEFAULT_MAX_RECEIVES, EmailDeps};
use crate::notify::sms::{DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_SEGMENTS, SmsDeps, TwilioClient};
use crate::notify::{AnalysisQueue, NotificationPublisher};
use crate::onboarding::{DEFAULT_MAX_PHOTO_BYTES, DEFAULT_UPLOAD_PREFIX, TriggerDeps};
use crate::otp::api::{GenerateDeps, ValidateDeps};
use crate::otp::{OtpConfig, OtpStore};
use crate::report::ReportDeps;
use crate::signup::SignupDeps;
use crate::summary::{
    BasicInfoCache, DEFAULT_BASIC_TTL_SECS, DEFAULT_STALE_GRACE_SECS, SummaryDeps,
};
use crate::templates::{TemplateError, Templates};

/// How long a secret is cached before Secrets Manager is asked again (rotation is picked up
/// within this time).
pub const SECRET_TTL: Duration = Duration::from_secs(300);

/// Start-up failed; the Lambda init phase reports it and the function never serves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Templates.
    #[error(transparent)]
    Templates(#[from] TemplateError),
    /// Redis.
    #[error("redis: {0}")]
    Redis(String),
    /// A secret.
    #[error("secret: {0}")]
    Secret(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

struct Common {
    sdk: aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
    secrets: Arc<SecretCache>,
}

async fn common() -> Common {
    let sdk = load_sdk_config().await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets = Arc::new(SecretCache::new(
        Arc::new(SecretsManagerSource::new(&sdk)),
        clock.clone(),
        SECRET_TTL,
    ));
    Common {
        sdk,
        clock,
        secrets,
    }
}

async fn redis(url: &str) -> Result<redis::aio::ConnectionManager, BootError> {
    let client = redis::Client::open(url).map_err(|e| BootError::Redis(e.to_string()))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2);
    redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| BootError::Redis(e.to_string()))
}

fn prefix() -> String {
    optional("KEY_PREFIX").unwrap_or_else(|| "banca:".into())
}

async fn dedup() -> Result<Dedup, BootError> {
    match optional("REDIS_URL") {
        Some(url) => Ok(Dedup::new(
            redis(&url).await?,
            &prefix(),
            bounded("DEDUP_WINDOW_SECS", DEFAULT_WINDOW_SECS, 60, 7 * 24 * 3600)?,
        )),
        None => Ok(Dedup::disabled()),
    }
}

async fn gateway(
    c: &Common,
    url_var: &'static str,
    secret_var: &'static str,
) -> Result<GatewayClient, BootError> {
    let creds = c
        .secrets
        .get_json::<GatewayCredentials>(&required(secret_var)?)
        .await
        .map_err(|e| BootError::Secret(e.to_string()))?;
    Ok(GatewayClient::new(
        http_client().map_err(|e| BootError::Other(e.to_string()))?,
        &required(url_var)?,
        Sensitive::new(creds.expose().clone()),
        Arc::new(SystemRng::default()),
        c.clock.clone(),
    ))
}

async fn basic_cache(c: &Common) -> Result<BasicInfoCache, BootError> {
    Ok(BasicInfoCache::new(
        redis(&required("REDIS_URL")?).await?,
        &prefix(),
        bounded("BASIC_TTL_SECS", DEFAULT_BASIC_TTL_SECS, 10, 86_400)?,
        bounded("STALE_GRACE_SECS", DEFAULT_STALE_GRACE_SECS, 0, 7 * 86_400)?,
        c.clock.clone(),
    ))
}

fn max_receives() -> Result<u32, BootError> {
    Ok(u32::try_from(bounded(
        "MAX_RECEIVES",
        u64::from(DEFAULT_MAX_RECEIVES),
        1,
        100,
    )?)
    .unwrap_or(DEFAULT_MAX_RECEIVES))
}

/// notify-email.
pub async fn email() -> Result<EmailDeps, BootError> {
    let c = common().await;
    Ok(EmailDeps {
        ses: aws_sdk_sesv2::Client::new(&c.sdk),
        from: required("SES_FROM_ADDRESS")?,
        configuration_set: optional("SES_CONFIGURATION_SET"),
        templates: Arc::new(Templates::load()?),
        dedup: dedup().await?,
        analysis: AnalysisQueue::new(
            aws_sdk_sqs::Client::new(&c.sdk),
            required("ANALYSIS_QUEUE_URL")?,
        ),
        max_receives: max_receives()?,
        clock: c.clock,
    })
}

/// notify-sms.
pub async fn sms() -> Result<SmsDeps, BootError> {
    let c = common().await;
    Ok(SmsDeps {
        twilio: TwilioClient {
            http: http_client().map_err(|e| BootError::Other(e.to_string()))?,
            base_url: optional("TWILIO_BASE_URL")
                .unwrap_or_else(|| "https://api.twilio.com".into()),
            secrets: c.secrets.clone(),
            secret_id: required("TWILIO_SECRET_ID")?,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(2)),
            max_attempts: u32::try_from(bounded(
                "TWILIO_MAX_ATTEMPTS",
                u64::from(DEFAULT_MAX_ATTEMPTS),
                1,
                5,
            )?)
            .unwrap_or(DEFAULT_MAX_ATTEMPTS),
            rng: Arc::new(SystemRng::default()),
            clock: c.clock.clone(),
        },
        templates: Arc::new(Templates::load()?),
        dedup: dedup().await?,
        analysis: AnalysisQueue::new(
            aws_sdk_sqs::Client::new(&c.sdk),
            required("ANALYSIS_QUEUE_URL")?,
        ),
        max_segments: usize::try_from(bounded(
            "SMS_MAX_SEGMENTS",
            DEFAULT_MAX_SEGMENTS as u64,
            1,
            10,
        )?)
        .unwrap_or(DEFAULT_MAX_SEGMENTS),
        max_receives: max_receives()?,
        clock: c.clock,
    })
}

async fn otp_store(c: &Common) -> Result<OtpStore, BootError> {
    let pepper = c
        .secrets
        .get(&required("OTP_PEPPER_SECRET_ID")?)
        .await
        .map_err(|e| BootError::Secret(e.to_string()))?;
    let mut config = OtpConfig::new(
        Sensitive::new(pepper.expose().as_bytes().to_vec()),
        &prefix(),
    );
    config.length = usize::try_from(bounded("OTP_LENGTH", 6, 6, 10)?).unwrap_or(6);
    config.ttl_secs = bounded(
        "OTP_TTL_SECS",
        crate::otp::DEFAULT_TTL_SECS,
        30,
        crate::otp::MAX_TTL_SECS,
    )?;
    config.max_attempts = u32::try_from(bounded("OTP_MAX_ATTEMPTS", 5, 1, 10)?).unwrap_or(5);
    config.max_failures = u32::try_from(bounded("OTP_MAX_FAILURES", 5, 1, 20)?).unwrap_or(5);
    config.lockout_secs = bounded(
        "OTP_LOCKOUT_SECS",
        crate::otp::DEFAULT_LOCKOUT_SECS,
        60,
        86_400,
    )?;
    config.generate_limit = u32::try_from(bounded("OTP_GENERATE_LIMIT", 3, 1, 20)?).unwrap_or(3);
    config.generate_window_secs = bounded(
        "OTP_GENERATE_WINDOW_SECS",
        crate::otp::DEFAULT_GENERATE_WINDOW_SECS,
        30,
        86_400,
    )?;
    config
        .validate()
        .map_err(|e| BootError::Other(e.to_string()))?;
    Ok(OtpStore::new(
        redis(&required("REDIS_URL")?).await?,
        Arc::new(config),
        c.clock.clone(),
    ))
}

fn audit_emitter(c: &Common) -> Result<crate::audit::AuditEmitter, BootError> {
    Ok(crate::audit::AuditEmitter::new(
        aws_sdk_sqs::Client::new(&c.sdk),
        required("AUDIT_QUEUE_URL")?,
    ))
}

/// otp-generate.
pub async fn otp_generate() -> Result<GenerateDeps, BootError> {
    let c = common().await;
    Ok(GenerateDeps {
        store: otp_store(&c).await?,
        cache: basic_cache(&c).await?,
        core: gateway(&c, "CORE_BASE_URL", "CORE_SECRET_ID").await?,
        publisher: NotificationPublisher::new(
            aws_sdk_sns::Client::new(&c.sdk),
            required("NOTIFICATIONS_TOPIC_ARN")?,
        ),
        audit: audit_emitter(&c)?,
        clock: c.clock,
    })
}

/// otp-validate.
pub async fn otp_validate() -> Result<ValidateDeps, BootError> {
    let c = common().await;
    Ok(ValidateDeps {
        store: otp_store(&c).await?,
        sqs: aws_sdk_sqs::Client::new(&c.sdk),
        transfer_queue_url: required("TRANSFER_QUEUE_URL")?,
        audit: audit_emitter(&c)?,
        clock: c.clock,
    })
}

fn upload_prefix() -> String {
    optional("UPLOAD_PREFIX").unwrap_or_else(|| DEFAULT_UPLOAD_PREFIX.into())
}

/// authorizer.
pub async fn authorizer() -> Result<AuthorizerDeps, BootError> {
    let c = common().await;
    let jwks_url = match optional("UAA_JWKS_URL") {
        Some(u) => u,
        None => format!(
            "{}/.well-known/jwks.json",
            required("UAA_BASE_URL")?.trim_end_matches('/')
        ),
    };
    Ok(AuthorizerDeps {
        jwt: JwtConfig {
            issuer: required("UAA_ISSUER")?,
            audience: required("UAA_AUDIENCE")?,
            leeway_secs: bounded("JWT_LEEWAY_SECS", DEFAULT_LEEWAY_SECS, 0, 120)?,
        },
        jwks: Arc::new(JwksCache::new(
            http_client().map_err(|e| BootError::Other(e.to_string()))?,
            &jwks_url,
            c.clock.clone(),
        )),
        faces: FaceStore::new(
            aws_sdk_dynamodb::Client::new(&c.sdk),
            required("FACE_TABLE")?,
        ),
        upload_prefix: upload_prefix(),
    })
}

/// signup.
pub async fn signup() -> Result<SignupDeps, BootError> {
    let c = common().await;
    let creds = c
        .secrets
        .get_json::<GatewayCredentials>(&required("UAA_SECRET_ID")?)
        .await
        .map_err(|e| BootError::Secret(e.to_string()))?;
    Ok(SignupDeps {
        http: http_client().map_err(|e| BootError::Other(e.to_string()))?,
        uaa_base_url: required("UAA_BASE_URL")?,
        uaa_credentials: Sensitive::new(creds.expose().clone()),
        faces: FaceStore::new(
            aws_sdk_dynamodb::Client::new(&c.sdk),
            required("FACE_TABLE")?,
        ),
        audit: audit_emitter(&c)?,
        upload_prefix: upload_prefix(),
        clock: c.clock,
    })
}

/// onboarding-trigger.
pub async fn onboarding_trigger() -> Result<TriggerDeps, BootError> {
    let c = common().await;
    Ok(TriggerDeps {
        sfn: aws_sdk_sfn::Client::new(&c.sdk),
        state_machine_arn: required("STATE_MACHINE_ARN")?,
        faces: FaceStore::new(
            aws_sdk_dynamodb::Client::new(&c.sdk),
            required("FACE_TABLE")?,
        ),
        upload_prefix: upload_prefix(),
        max_photo_bytes: parsed("MAX_PHOTO_BYTES", DEFAULT_MAX_PHOTO_BYTES)?,
    })
}

/// audit-collector.
pub async fn audit_collector() -> Result<crate::audit::AuditStore, BootError> {
    let c = common().await;
    Ok(crate::audit::AuditStore::new(
        aws_sdk_dynamodb::Client::new(&c.sdk),
        required("AUDIT_TABLE")?,
    ))
}

/// user-summary.
pub async fn user_summary() -> Result<SummaryDeps, BootError> {
    let c = common().await;
    Ok(SummaryDeps {
        cache: basic_cache(&c).await?,
        core: gateway(&c, "CORE_BASE_URL", "CORE_SECRET_ID").await?,
        independent: gateway(&c, "INDEPENDENT_BASE_URL", "INDEPENDENT_SECRET_ID").await?,
    })
}

/// movements-report.
pub async fn movements_report() -> Result<ReportDeps, BootError> {
    let c = common().await;
    Ok(ReportDeps {
        core: gateway(&c, "CORE_BASE_URL", "CORE_SECRET_ID").await?,
        cache: basic_cache(&c).await?,
        ses: aws_sdk_sesv2::Client::new(&c.sdk),
        from: required("SES_FROM_ADDRESS")?,
        templates: Arc::new(Templates::load()?),
        dedup: dedup().await?,
        max_span_days: i64::try_from(bounded("REPORT_MAX_SPAN_DAYS", 92, 1, 366)?).unwrap_or(92),
        clock: c.clock,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tls_redis_urls_are_understood() {
        // ElastiCache with in-transit encryption is reached with rediss://; without the TLS
        // feature this fails at cold start.
        let c = redis::Client::open("rediss://:token@master.banca.cache.amazonaws.com:6379");
        assert!(c.is_ok(), "{:?}", c.err());
    }
}
