//! `otp`: one-time passwords per transfer, kept in Redis.
//!
//! `otp-generate` (POST /otpGenerate) stores a code bound to the transfer draft and sends it by
//! SMS through the notifications topic; `otp-validate` (POST /otpValidate and POST /transfers)
//! checks it, consumes it once and enqueues the transfer on `transfer-requests`. Length, TTL
//! and attempts come from `banca.yaml`. Both run in the VPC (Redis; the core platform through
//! the VPN for the customer's phone).

use banca_constructs::SynthError;
use serde_json::json;

use super::backend::{Spec, api_provisioned, function};
use super::secrets::grant_read;
use super::{Handler, Region, Shared};

/// The OTP handlers.
pub(crate) struct Otp {
    pub functions: Vec<Handler>,
    pub generate: banca_constructs::lambda::Function,
    pub validate: banca_constructs::lambda::Function,
}

/// Builds the stack.
pub(crate) fn build(r: &Region<'_>, env: &Shared<'_>) -> Result<Otp, SynthError> {
    let s = r.stack("otp", "one-time passwords per transfer")?;
    let c = r.config;
    let sys = &c.existing_systems;
    let m = env.msg;
    let otp_env = || {
        vec![
            ("OTP_PEPPER_SECRET_ID", json!(env.secrets.otp_pepper.name)),
            ("OTP_LENGTH", json!(c.otp.length.to_string())),
            ("OTP_TTL_SECS", json!(c.otp.ttl_seconds.to_string())),
            ("OTP_MAX_ATTEMPTS", json!(c.otp.max_attempts.to_string())),
            ("REDIS_URL", env.data.redis_url.clone()),
            ("AUDIT_QUEUE_URL", m.audit.url().to_json()),
        ]
    };
    let mut gen_env = otp_env();
    gen_env.extend([
        ("CORE_BASE_URL", json!(sys.core.base_url)),
        ("CORE_SECRET_ID", json!(sys.core.secret_name)),
        ("NOTIFICATIONS_TOPIC_ARN", m.topic.arn().to_json()),
    ]);
    let generate = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: 10,
            in_vpc: true,
            environment: gen_env,
            provisioned: api_provisioned(),
            ..Spec::new("OtpGenerate", "otp-generate")
        },
    )?;
    grant_read(&generate, &env.secrets.otp_pepper.name, env.sec);
    grant_read(&generate, &sys.core.secret_name, env.sec);
    m.topic.grant_publish(&generate);
    m.audit.grant_send(&generate);

    let mut val_env = otp_env();
    val_env.push(("TRANSFER_QUEUE_URL", m.transfers.url().to_json()));
    let validate = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: 10,
            in_vpc: true,
            environment: val_env,
            provisioned: api_provisioned(),
            ..Spec::new("OtpValidate", "otp-validate")
        },
    )?;
    grant_read(&validate, &env.secrets.otp_pepper.name, env.sec);
    m.transfers.grant_send(&validate);
    m.audit.grant_send(&validate);

    Ok(Otp {
        functions: vec![
            ("otp-generate".to_owned(), generate.clone()),
            ("otp-validate".to_owned(), validate.clone()),
        ],
        generate,
        validate,
    })
}
