//! Face check for onboarding, as pure logic over a Rekognition `DetectFaces` response (shape
//! from the AWS API reference: `FaceDetails[]` of `FaceDetail` with `Confidence`, `BoundingBox`,
//! `Pose`, `Quality`, and with `Attributes: ["ALL"]` also `EyesOpen`, `Sunglasses`,
//! `FaceOccluded`). No emulator implements Rekognition, so this is tested on recorded responses;
//! the state machine calls DetectFaces and then this check (a task in the workflow), and writes
//! the face record with [`FaceStore`].
//!
//! The face-records table (DynamoDB, partition key [`FACE_PK`] = `userId`) is also where sign-up
//! leaves the user's `customerId` with status `PHOTO_REQUIRED`; the workflow turns it `ACTIVE`
//! with the face's details. The authorizer reads it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use banca_contracts::fields::{CustomerId, UserId};
use serde::{Deserialize, Serialize};

/// Partition key of the face-records table.
pub const FACE_PK: &str = "userId";
/// Status of a user who has signed up but has no accepted photo yet.
pub const STATUS_PHOTO_REQUIRED: &str = "PHOTO_REQUIRED";
/// Status of a user with an accepted face.
pub const STATUS_ACTIVE: &str = "ACTIVE";

/// Thresholds (from SSM via the environment).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceCheckConfig {
    /// Faces detected below this confidence are ignored as noise when counting (0-100).
    pub detection_floor: f32,
    /// The one face must be detected with at least this confidence (0-100).
    pub min_confidence: f32,
    /// Minimum `Quality.Brightness` (0-100).
    pub min_brightness: f32,
    /// Maximum `Quality.Brightness` (0-100): overexposed photos fail too.
    pub max_brightness: f32,
    /// Minimum `Quality.Sharpness` (0-100).
    pub min_sharpness: f32,
    /// Largest |yaw|, |pitch| and |roll| in degrees: the face must look at the camera.
    pub max_pose_degrees: f32,
    /// Smallest share of the image the face's bounding box must cover (0-1).
    pub min_face_area: f32,
}

impl Default for FaceCheckConfig {
    fn default() -> Self {
        Self {
            detection_floor: 50.0,
            min_confidence: 90.0,
            min_brightness: 40.0,
            max_brightness: 95.0,
            min_sharpness: 50.0,
            max_pose_degrees: 30.0,
            min_face_area: 0.04,
        }
    }
}

/// `BoundingBox` (ratios of the image).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundingBox {
    /// Width ratio.
    #[serde(default)]
    pub width: f32,
    /// Height ratio.
    #[serde(default)]
    pub height: f32,
}

/// `Pose` in degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pose {
    /// Roll.
    #[serde(default)]
    pub roll: f32,
    /// Yaw.
    #[serde(default)]
    pub yaw: f32,
    /// Pitch.
    #[serde(default)]
    pub pitch: f32,
}

/// `Quality`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Quality {
    /// Brightness 0-100.
    #[serde(default)]
    pub brightness: f32,
    /// Sharpness 0-100.
    #[serde(default)]
    pub sharpness: f32,
}

/// A boolean attribute with its confidence (`EyesOpen`, `Sunglasses`, `FaceOccluded`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Flag {
    /// The value.
    #[serde(default)]
    pub value: bool,
    /// Confidence 0-100.
    #[serde(default)]
    pub confidence: f32,
}

/// One `FaceDetail`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FaceDetail {
    /// Detection confidence 0-100.
    #[serde(default)]
    pub confidence: f32,
    /// Bounding box.
    #[serde(default)]
    pub bounding_box: Option<BoundingBox>,
    /// Pose.
    #[serde(default)]
    pub pose: Option<Pose>,
    /// Quality.
    #[serde(default)]
    pub quality: Option<Quality>,
    /// Eyes open (ALL attributes only).
    #[serde(default)]
    pub eyes_open: Option<Flag>,
    /// Sunglasses (ALL attributes only).
    #[serde(default)]
    pub sunglasses: Option<Flag>,
    /// Face occluded (ALL attributes only).
    #[serde(default)]
    pub face_occluded: Option<Flag>,
}

/// A `DetectFaces` response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectFacesResponse {
    /// Faces found.
    #[serde(default)]
    pub face_details: Vec<FaceDetail>,
}

/// Why a photo was rejected; `code()` is stable, `message_es()` is what the customer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No face.
    NoFace,
    /// More than one face.
    MultipleFaces,
    /// The face is not clearly a face.
    LowConfidence,
    /// Too dark or too bright.
    BadLighting,
    /// Blurry.
    Blurry,
    /// Not looking at the camera.
    NotFrontal,
    /// Too far from the camera.
    TooSmall,
    /// Eyes closed.
    EyesClosed,
    /// Sunglasses.
    Sunglasses,
    /// Something covers the face.
    Occluded,
}

impl RejectReason {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoFace => "no_face",
            Self::MultipleFaces => "multiple_faces",
            Self::LowConfidence => "low_confidence",
            Self::BadLighting => "bad_lighting",
            Self::Blurry => "blurry",
            Self::NotFrontal => "not_frontal",
            Self::TooSmall => "too_small",
            Self::EyesClosed => "eyes_closed",
            Self::Sunglasses => "sunglasses",
            Self::Occluded => "occluded",
        }
    }

    /// What the customer reads (es-EC), for the `onboarding_photo_rejected` template.
    pub fn message_es(self) -> &'static str {
        match self {
            Self::NoFace => "no encontramos un rostro en la foto",
            Self::MultipleFaces => "aparece más de una persona en la foto",
            Self::LowConfidence => "no se distingue bien su rostro",
            Self::BadLighting => "la iluminación no es adecuada",
            Self::Blurry => "la foto está borrosa",
            Self::NotFrontal => "su rostro no está de frente a la cámara",
            Self::TooSmall => "su rostro se ve muy lejos",
            Self::EyesClosed => "sus ojos están cerrados",
            Self::Sunglasses => "lleva gafas de sol",
            Self::Occluded => "algo cubre su rostro",
        }
    }
}

/// The outcome of the check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum FaceVerdict {
    /// One real face of good quality.
    Accepted {
        /// Detection confidence.
        confidence: f32,
        /// Brightness.
        brightness: f32,
        /// Sharpness.
        sharpness: f32,
    },
    /// Rejected, with every reason found (the first is the main one).
    Rejected {
        /// Reasons, most fundamental first.
        reasons: Vec<RejectReason>,
    },
}

/// Checks a `DetectFaces` response: exactly one face above the detection floor, with enough
/// confidence, light, sharpness, size, a frontal pose, and (when reported) eyes open, no
/// sunglasses, nothing covering it.
pub fn check(response: &DetectFacesResponse, config: &FaceCheckConfig) -> FaceVerdict {
    let faces: Vec<&FaceDetail> = response
        .face_details
        .iter()
        .filter(|f| f.confidence >= config.detection_floor)
        .collect();
    let face = match faces.as_slice() {
        [] => {
            return FaceVerdict::Rejected {
                reasons: vec![RejectReason::NoFace],
            };
        }
        [one] => *one,
        _ => {
            return FaceVerdict::Rejected {
                reasons: vec![RejectReason::MultipleFaces],
            };
        }
    };
    let mut reasons = Vec::new();
    if face.confidence < config.min_confidence {
        reasons.push(RejectReason::LowConfidence);
    }
    // Missing Quality/Pose/BoundingBox is a malformed answer: fail closed.
    let quality = face.quality.unwrap_or_default();
    if quality.brightness < config.min_brightness || quality.brightness > config.max_brightness {
        reasons.push(RejectReason::BadLighting);
    }
    if quality.sharpness < config.min_sharpness {
        reasons.push(RejectReason::Blurry);
    }
    match face.pose {
        Some(p)
            if p.yaw.abs() <= config.max_pose_degrees
                && p.pitch.abs() <= config.max_pose_degrees
                && p.roll.abs() <= config.max_pose_degrees => {}
        _ => reasons.push(RejectReason::NotFrontal),
    }
    let area = face.bounding_box.map(|b| b.width * b.height).unwrap_or(0.0);
    if area < config.min_face_area {
        reasons.push(RejectReason::TooSmall);
    }
    // Attribute flags count only when Rekognition is reasonably sure (>= 80).
    let sure = |f: Option<Flag>, v: bool| f.is_some_and(|f| f.value == v && f.confidence >= 80.0);
    if sure(face.eyes_open, false) {
        reasons.push(RejectReason::EyesClosed);
    }
    if sure(face.sunglasses, true) {
        reasons.push(RejectReason::Sunglasses);
    }
    if sure(face.face_occluded, true) {
        reasons.push(RejectReason::Occluded);
    }
    if reasons.is_empty() {
        FaceVerdict::Accepted {
            confidence: face.confidence,
            brightness: quality.brightness,
            sharpness: quality.sharpness,
        }
    } else {
        FaceVerdict::Rejected { reasons }
    }
}

/// A user's row in the face-records table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceRecord {
    /// The UAA user.
    pub user_id: UserId,
    /// The customer the user acts for.
    pub customer_id: Option<CustomerId>,
    /// `PHOTO_REQUIRED` or `ACTIVE`.
    pub status: String,
    /// The accepted photo's object key, when active.
    pub face_key: Option<String>,
}

impl FaceRecord {
    /// Whether the user has an accepted face.
    pub fn has_face(&self) -> bool {
        self.status == STATUS_ACTIVE && self.face_key.is_some()
    }
}

/// The face-records table.
#[derive(Debug, Clone)]
pub struct FaceStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// DynamoDB failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("face records: {0}")]
pub struct FaceStoreError(String);

fn s(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

impl FaceStore {
    /// The table `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// The user's record, if any. A malformed record reads as an error (deny on doubt).
    pub async fn get(&self, user: &UserId) -> Result<Option<FaceRecord>, FaceStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(FACE_PK, AttributeValue::S(user.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                FaceStoreError(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
            })?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let status =
            s(item, "status").ok_or_else(|| FaceStoreError("record without status".into()))?;
        let customer_id = match s(item, "customerId") {
            Some(c) => Some(
                c.parse()
                    .map_err(|e: banca_contracts::fields::FieldError| {
                        FaceStoreError(e.to_string())
                    })?,
            ),
            None => None,
        };
        Ok(Some(FaceRecord {
            user_id: user.clone(),
            customer_id,
            status,
            face_key: s(item, "faceKey"),
        }))
    }

    /// Sign-up: the user exists, bound to `customer`, and must upload a photo. Does not
    /// overwrite an existing record (a second sign-up cannot reset an active face).
    pub async fn put_pending(
        &self,
        user: &UserId,
        customer: &CustomerId,
        at: &str,
    ) -> Result<(), FaceStoreError> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(FACE_PK, AttributeValue::S(user.to_string()))
            .item("customerId", AttributeValue::S(customer.to_string()))
            .item("status", AttributeValue::S(STATUS_PHOTO_REQUIRED.into()))
            .item("createdAt", AttributeValue::S(at.to_owned()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", FACE_PK)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                use aws_sdk_dynamodb::error::ProvideErrorMetadata;
                if e.code() == Some("ConditionalCheckFailedException") {
                    Ok(())
                } else {
                    Err(FaceStoreError(
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                    ))
                }
            }
        }
    }

    /// The workflow's last step: the accepted face (what the state machine's DynamoDB task
    /// writes; used here by tests and local runs).
    pub async fn activate(
        &self,
        user: &UserId,
        face_key: &str,
        verdict: &FaceVerdict,
        at: &str,
    ) -> Result<(), FaceStoreError> {
        let FaceVerdict::Accepted { confidence, .. } = verdict else {
            return Err(FaceStoreError("only an accepted face can be stored".into()));
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .key(FACE_PK, AttributeValue::S(user.to_string()))
            .update_expression("SET #s = :s, faceKey = :k, confidence = :c, activatedAt = :t")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#pk", FACE_PK)
            .expression_attribute_values(":s", AttributeValue::S(STATUS_ACTIVE.into()))
            .expression_attribute_values(":k", AttributeValue::S(face_key.to_owned()))
            .expression_attribute_values(":c", AttributeValue::N(format!("{confidence:.3}")))
            .expression_attribute_values(":t", AttributeValue::S(at.to_owned()))
            .send()
            .await
            .map_err(|e| {
                FaceStoreError(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
            })?;
        Ok(())
    }
}
