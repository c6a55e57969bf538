//! `secrets` (primary only): every secret of the platform, encrypted with the multi-region
//! secrets key and replicated to the dr region under the same name, so the dr handlers read
//! the same names there.
//!
//! Partner credentials (core platform, independent system, UAA client, Twilio) are created
//! empty under the names `banca.yaml` gives and filled by operators; their rotation is issued
//! by the partners, so automatic rotation is suppressed with that reason. Generated secrets
//! (OTP pepper, Redis AUTH token, MySQL master password) have no rotation function in this
//! project yet either (see the module docs of `data` for the database).

use banca_constructs::SynthError;
use banca_constructs::lambda::Function;
use banca_constructs::secrets::{Secret, SecretProps, SecretReplica};
use serde_json::{Value as Json, json};

use super::security::Security;
use super::{Region, global_name, local_arn};

/// Why automatic rotation is off for partner credentials.
const PARTNER_ROTATION: &str = "partner credentials are issued by the partner system; operators rotate them together with the partner (runbook), a rotation function cannot";
/// Why automatic rotation is off for generated secrets.
const GENERATED_ROTATION: &str = "no rotation function exists yet for this generated secret; rotating it needs a coordinated redeploy (tracked as a gap of the stacks)";

/// One secret: its fixed name (the same in both regions) and the construct.
#[derive(Clone)]
pub(crate) struct NamedSecret {
    pub name: String,
    pub secret: Secret,
}

/// The platform's secrets.
pub(crate) struct Secrets {
    pub otp_pepper: NamedSecret,
    pub redis_auth: NamedSecret,
    pub database: NamedSecret,
}

/// Grants `function` reading the secret named `name` in its own region (the primary secret or
/// its dr replica), and decrypting with that region's secrets key.
pub(crate) fn grant_read(function: &Function, name: &str, sec: &Security) {
    // Secrets Manager appends 6 random characters to the name in the ARN.
    function.role().add_statement(json!({
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": [local_arn("secretsmanager", &format!("secret:{name}-??????"))],
    }));
    function.role().add_statement(json!({
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [sec.secrets_key_arn()],
    }));
}

/// A `{{resolve:secretsmanager:...}}` reference to a JSON field of the secret `name` in the
/// consuming stack's region (replicas keep the name).
pub(crate) fn resolve(name: &str, field: &str) -> Json {
    json!(format!(
        "{{{{resolve:secretsmanager:{name}:SecretString:{field}}}}}"
    ))
}

/// Builds the stack in the primary region.
pub(crate) fn build(
    r: &Region<'_>,
    primary: &Security,
    dr: &Security,
) -> Result<Secrets, SynthError> {
    let s = r.stack(
        "secrets",
        "secrets of the platform, replicated to the dr region",
    )?;
    let (Some(mr), Some(replicas)) = (&primary.multi_region, &dr.replicas) else {
        return Err(SynthError::InvalidProps {
            path: s.path().to_owned(),
            field: "keys",
            message: "secrets need the primary's multi-region key and its dr replica".to_owned(),
        });
    };
    let dr_region = r.config.regions.dr.clone();
    let make = |id: &str,
                name: String,
                description: &str,
                generate: Option<&str>,
                reason: &str|
     -> Result<NamedSecret, SynthError> {
        let secret = Secret::new(
            &s,
            id,
            SecretProps {
                description: Some(description.to_owned()),
                generate_key: generate.map(str::to_owned),
                replicas: vec![SecretReplica {
                    region: dr_region.clone(),
                    key: replicas.secrets.clone(),
                }],
                secret_name: Some(name.clone()),
                ..SecretProps::new(mr.secrets.clone())
            },
        )?;
        secret.resource().suppress("AwsSolutions-SMG4", reason);
        Ok(NamedSecret { name, secret })
    };
    let sys = &r.config.existing_systems;
    let database = make(
        "TransferDb",
        global_name(r.config, "transfer-db"),
        "MySQL master credentials of the transfer store; host and port are attached by the data stack",
        Some("password"),
        GENERATED_ROTATION,
    )?;
    // The transfer processor reads {username, password, host, port, dbname}; the generated
    // value starts with the user and database, the attachment adds host and port.
    database.secret.resource().with_entry(|e| {
        if let Some(g) = e.properties.get_mut("GenerateSecretString") {
            g["SecretStringTemplate"] =
                json!("{\"username\":\"banca_admin\",\"dbname\":\"banca\"}");
        }
    });
    // Partner credentials: created here, read by name (from banca.yaml) by the handlers.
    make(
        "CorePlatform",
        sys.core.secret_name.clone(),
        "core banking platform client credentials {clientId, clientSecret}",
        None,
        PARTNER_ROTATION,
    )?;
    make(
        "IndependentSystem",
        sys.independent.secret_name.clone(),
        "independent customer system client credentials {clientId, clientSecret}",
        None,
        PARTNER_ROTATION,
    )?;
    make(
        "UaaClient",
        sys.uaa.secret_name.clone(),
        "UAA OAuth2 client credentials {clientId, clientSecret}",
        None,
        PARTNER_ROTATION,
    )?;
    make(
        "Twilio",
        sys.twilio.secret_name.clone(),
        "Twilio account SID, auth token and sender",
        None,
        PARTNER_ROTATION,
    )?;
    Ok(Secrets {
        otp_pepper: make(
            "OtpPepper",
            global_name(r.config, "otp-pepper"),
            "pepper of OTP hashes",
            Some("password"),
            GENERATED_ROTATION,
        )?,
        redis_auth: make(
            "RedisAuth",
            global_name(r.config, "redis-auth"),
            "Redis AUTH token",
            Some("password"),
            GENERATED_ROTATION,
        )?,
        database,
    })
}
