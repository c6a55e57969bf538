//! onboarding-trigger: S3 `ObjectCreated` on the photo bucket -> start the onboarding state
//! machine (Rekognition DetectFaces -> [`crate::face::check`] -> face record, or notify the user)
//! with a sanitised input.
//!
//! The object key must be `<prefix><userId>/<photoId>.<jpg|jpeg|png>` with a valid user id and
//! a photo id of 1-64 letters, digits or '-'; the user must have signed up (a face record
//! exists); the size must be within limits. Anything else is skipped (logged): retrying an
//! invalid upload cannot make it valid. The execution name is derived from the object's
//! identity, so a duplicated S3 event does not start a second workflow.

use aws_lambda_events::s3::{S3Event, S3EventRecord};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use banca_contracts::fields::UserId;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::face::FaceStore;

/// Default upload prefix.
pub const DEFAULT_UPLOAD_PREFIX: &str = "uploads/";
/// Largest photo accepted, bytes (Rekognition's limit for images passed as S3 objects is
/// 15 MB; phones produce far less, and smaller bounds cost).
pub const DEFAULT_MAX_PHOTO_BYTES: i64 = 5 * 1024 * 1024;

/// The state machine's input: only what the workflow needs, nothing from the raw event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingInput {
    /// The user whose face this is.
    pub user_id: String,
    /// Bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Object version (the bucket is versioned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Size, bytes.
    pub size: i64,
}

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadRejected {
    /// Not an ObjectCreated event.
    #[error("event {0:?} is not ObjectCreated")]
    NotCreated(String),
    /// Missing bucket or key.
    #[error("record has no bucket or key")]
    Incomplete,
    /// The key is not `<prefix><userId>/<photoId>.<ext>`.
    #[error("key {0:?} does not match <prefix><userId>/<photoId>.<jpg|jpeg|png>")]
    Key(String),
    /// Empty or too large.
    #[error("size {size} is outside 1..={max} bytes")]
    Size {
        /// Size.
        size: i64,
        /// Limit.
        max: i64,
    },
    /// No sign-up for this user.
    #[error("user {0} has not signed up")]
    UnknownUser(String),
}

/// Decodes an S3 event key (URL-encoded, `+` for space).
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Checks one record and builds the sanitised input (pure).
pub fn sanitize(
    record: &S3EventRecord,
    prefix: &str,
    max_bytes: i64,
) -> Result<OnboardingInput, UploadRejected> {
    let event = record.event_name.clone().unwrap_or_default();
    if !event.starts_with("ObjectCreated:") {
        return Err(UploadRejected::NotCreated(event));
    }
    let bucket = record
        .s3
        .bucket
        .name
        .clone()
        .ok_or(UploadRejected::Incomplete)?;
    let raw_key = record
        .s3
        .object
        .key
        .clone()
        .ok_or(UploadRejected::Incomplete)?;
    let key = decode_key(&raw_key);
    let bad = || UploadRejected::Key(key.clone());
    let rest = key.strip_prefix(prefix).ok_or_else(bad)?;
    let (user, file) = rest.split_once('/').ok_or_else(bad)?;
    let user: UserId = user.parse().map_err(|_| bad())?;
    let (stem, ext) = file.rsplit_once('.').ok_or_else(bad)?;
    let stem_ok = (1..=64).contains(&stem.len())
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let ext_ok = matches!(ext.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png");
    if !stem_ok || !ext_ok {
        return Err(bad());
    }
    let size = record.s3.object.size.unwrap_or(0);
    if size < 1 || size > max_bytes {
        return Err(UploadRejected::Size {
            size,
            max: max_bytes,
        });
    }
    Ok(OnboardingInput {
        user_id: user.to_string(),
        bucket,
        key,
        version_id: record
            .s3
            .object
            .version_id
            .clone()
            .filter(|v| !v.is_empty()),
        size,
    })
}

/// A Step Functions execution name (<= 80 chars of `[A-Za-z0-9-_]`) unique per object version.
pub fn execution_name(input: &OnboardingInput) -> String {
    let mut h = Sha256::new();
    h.update(input.bucket.as_bytes());
    h.update([0]);
    h.update(input.key.as_bytes());
    h.update([0]);
    h.update(input.version_id.as_deref().unwrap_or("").as_bytes());
    let digest: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let user: String = input
        .user_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    format!("onb-{user}-{digest}")
}

/// Everything onboarding-trigger needs.
#[derive(Debug, Clone)]
pub struct TriggerDeps {
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// The onboarding state machine.
    pub state_machine_arn: String,
    /// Face records (sign-up check).
    pub faces: FaceStore,
    /// Upload prefix.
    pub upload_prefix: String,
    /// Size limit.
    pub max_photo_bytes: i64,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum TriggerOutcome {
    /// An execution started.
    Started {
        /// Its ARN.
        execution_arn: String,
    },
    /// The same object already started one.
    AlreadyStarted {
        /// The name.
        name: String,
    },
    /// Skipped as invalid.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Starting an execution failed in a way worth retrying (Lambda retries async invocations).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("onboarding trigger: {0}")]
pub struct TriggerError(pub String);

/// Handles one record.
pub async fn process(
    deps: &TriggerDeps,
    record: &S3EventRecord,
) -> Result<TriggerOutcome, TriggerError> {
    let input = match sanitize(record, &deps.upload_prefix, deps.max_photo_bytes) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(reason = %e, "upload skipped");
            return Ok(TriggerOutcome::Skipped {
                reason: e.to_string(),
            });
        }
    };
    let user: UserId = input
        .user_id
        .parse()
        .map_err(|e: banca_contracts::fields::FieldError| TriggerError(e.to_string()))?;
    match deps.faces.get(&user).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let e = UploadRejected::UnknownUser(input.user_id.clone());
            tracing::warn!(reason = %e, "upload skipped");
            return Ok(TriggerOutcome::Skipped {
                reason: e.to_string(),
            });
        }
        Err(e) => return Err(TriggerError(e.to_string())),
    }
    let name = execution_name(&input);
    let body = serde_json::to_string(&input).map_err(|e| TriggerError(e.to_string()))?;
    match deps
        .sfn
        .start_execution()
        .state_machine_arn(&deps.state_machine_arn)
        .name(&name)
        .input(body)
        .send()
        .await
    {
        Ok(out) => Ok(TriggerOutcome::Started {
            execution_arn: out.execution_arn().to_owned(),
        }),
        Err(e) if e.code() == Some("ExecutionAlreadyExists") => {
            Ok(TriggerOutcome::AlreadyStarted { name })
        }
        Err(e) => Err(TriggerError(
            aws_sdk_sfn::error::DisplayErrorContext(&e).to_string(),
        )),
    }
}

/// The onboarding-trigger handler: every record; an error (after trying all) makes Lambda retry
/// the event, which is safe because execution names are deterministic.
pub async fn handle(
    deps: &TriggerDeps,
    event: S3Event,
) -> Result<Vec<TriggerOutcome>, TriggerError> {
    let mut outcomes = Vec::with_capacity(event.records.len());
    let mut first_error = None;
    for record in &event.records {
        match process(deps, record).await {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                tracing::error!(error = %e, "could not start onboarding");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}
