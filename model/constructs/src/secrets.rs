//! Secrets Manager secrets (KMS, rotation, replicas) and SSM parameters.

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, actions, grant};
use crate::kms::{Key, ReplicaKey};
use crate::lambda::Function;
use crate::tree::{ResourceRef, Scope, Token};

/// Automatic rotation by a rotation function.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The function implementing the four rotation steps.
    pub function: Function,
    /// Days between rotations, 1..=365. Banca uses 30 for partner credentials.
    pub after_days: u32,
}

/// A replica of the secret in another region.
#[derive(Debug, Clone)]
pub struct SecretReplica {
    /// The region.
    pub region: String,
    /// The replica of the secret's multi-region key there.
    pub key: ReplicaKey,
}

/// Props of [`Secret`].
#[derive(Debug, Clone)]
pub struct SecretProps {
    /// The key. Required (compliance: customer-managed; replicas need a multi-region key).
    pub encryption_key: Key,
    /// Shown in the console. Unset: the construct path.
    pub description: Option<String>,
    /// Generate a random value: a JSON object whose `generate_key` field is a 32-character
    /// password without punctuation. Default: `Some("password")`. `None` creates an empty
    /// secret the operators fill (partner credentials).
    pub generate_key: Option<String>,
    /// Rotation. Unset: none, which compliance rule SMG4 reports unless suppressed with why.
    pub rotation: Option<Rotation>,
    /// Replicas in other regions. Default: none.
    pub replicas: Vec<SecretReplica>,
    /// The secret name. Unset: generated.
    pub secret_name: Option<String>,
}

impl SecretProps {
    /// Props with a key and the defaults.
    pub fn new(encryption_key: Key) -> Self {
        Self {
            encryption_key,
            description: None,
            generate_key: Some("password".to_owned()),
            rotation: None,
            replicas: Vec::new(),
            secret_name: None,
        }
    }
}

/// A secret. Retained on stack deletion.
#[derive(Debug, Clone)]
pub struct Secret {
    resource: ResourceRef,
    key: Key,
}

impl Secret {
    /// A secret `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: SecretProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let mut p = json!({
            "Description": props.description.clone().unwrap_or_else(|| me.path().to_owned()),
            "KmsKeyId": props.encryption_key.arn(),
        });
        if let Some(k) = &props.generate_key {
            p["GenerateSecretString"] = json!({
                "SecretStringTemplate": "{}",
                "GenerateStringKey": k,
                "PasswordLength": 32,
                "ExcludePunctuation": true,
            });
        }
        if !props.replicas.is_empty() {
            p["ReplicaRegions"] = Json::Array(
                props
                    .replicas
                    .iter()
                    .map(|r| json!({"Region": r.region, "KmsKeyId": r.key.arn()}))
                    .collect(),
            );
        }
        if let Some(n) = &props.secret_name {
            p["Name"] = json!(n);
        }
        let resource = me.add_resource("Resource", "AWS::SecretsManager::Secret", p)?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        if let Some(r) = &props.rotation {
            if !(1..=365).contains(&r.after_days) {
                return Err(SynthError::InvalidProps {
                    path: me.path().to_owned(),
                    field: "rotation.after_days",
                    message: format!("must be 1..=365, got {}", r.after_days),
                });
            }
            let perm = r.function.add_permission(
                &format!("{id}RotationPermission"),
                "secretsmanager.amazonaws.com",
                resource.reference().to_json(),
            )?;
            let schedule = me.add_resource(
                "Rotation",
                "AWS::SecretsManager::RotationSchedule",
                json!({
                    "SecretId": resource.reference(),
                    "RotationLambdaARN": r.function.arn(),
                    "RotationRules": {"AutomaticallyAfterDays": r.after_days},
                }),
            )?;
            schedule.add_depends_on(&perm);
            grant(
                &r.function,
                &[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                vec![resource.reference().to_json()],
                Some((
                    &props.encryption_key,
                    crate::iam::actions::KMS_ENCRYPT_DECRYPT,
                )),
            );
        }
        Ok(Self {
            resource,
            key: props.encryption_key,
        })
    }

    /// The secret's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The secret's ARN (its Ref).
    pub fn arn(&self) -> Token {
        self.resource.reference()
    }

    /// A dynamic reference to a JSON field of the secret, for properties that take secrets
    /// (CloudFormation resolves it; the value never appears in the template).
    pub fn value_of(&self, json_key: &str) -> Json {
        json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", self.arn(), format!(":SecretString:{json_key}}}}}")]]})
    }

    /// Grants reading the value (and `kms:Decrypt`).
    pub fn grant_read(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::SECRET_READ,
            vec![self.arn().to_json()],
            Some((&self.key, actions::KMS_DECRYPT)),
        )
    }
}

/// Props of [`Parameter`].
#[derive(Debug, Clone)]
pub struct ParameterProps {
    /// The name, a path starting with `/`, e.g. `/banca/otp/ttl-seconds`. Required.
    pub name: String,
    /// The value (a token is allowed). Required.
    pub value: Json,
    /// What it configures. Required: operators read it in the console.
    pub description: String,
}

/// A plain `String` SSM parameter for application configuration (CloudFormation cannot create
/// `SecureString` parameters: secrets go to [`Secret`]).
#[derive(Debug, Clone)]
pub struct Parameter {
    resource: ResourceRef,
    name: String,
}

impl Parameter {
    /// A parameter `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: ParameterProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let ok = props.name.starts_with('/')
            && props.name.len() <= 1011
            && props
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
        if !ok {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "name",
                message: format!(
                    "must be a path like /banca/otp/ttl-seconds (letters, digits, /_.-), got {:?}",
                    props.name
                ),
            });
        }
        if props.description.trim().is_empty() {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "description",
                message: "must say what the value configures".to_owned(),
            });
        }
        let resource = me.add_resource(
            "Resource",
            "AWS::SSM::Parameter",
            json!({
                "Name": props.name,
                "Type": "String",
                "Tier": "Standard",
                "Value": props.value,
                "Description": props.description,
            }),
        )?;
        Ok(Self {
            resource,
            name: props.name,
        })
    }

    /// The parameter's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// Grants reading this parameter.
    pub fn grant_read(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            &["ssm:GetParameter", "ssm:GetParameters"],
            vec![
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{}", self.name)}),
            ],
            None,
        )
    }
}
