//! KMS keys: customer-managed, rotated, optionally multi-region with replicas.

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, actions, grant};
use crate::tree::{ResourceRef, Scope, Token};

/// Every administrative and cryptographic action the account root is trusted with in a key
/// policy, listed instead of `kms:*` so no policy of banca contains a wildcard action.
pub const KEY_ROOT_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:ReplicateKey",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
];

/// Props of [`Key`].
#[derive(Debug, Clone)]
pub struct KeyProps {
    /// Shown in the console. Unset: the construct path.
    pub description: Option<String>,
    /// Yearly automatic rotation. Default: on (compliance rule KMS5).
    pub enable_key_rotation: bool,
    /// A multi-region primary key, so replicas in other regions share its key material (global
    /// tables, replicated secrets and buckets). Default: off.
    pub multi_region: bool,
    /// Days between a deletion request and the deletion, 7..=30. Default: 30 (the longest
    /// window to notice a mistake).
    pub pending_window_days: u32,
    /// An alias, without the `alias/` prefix. Unset: none.
    pub alias: Option<String>,
}

impl Default for KeyProps {
    fn default() -> Self {
        Self {
            description: None,
            enable_key_rotation: true,
            multi_region: false,
            pending_window_days: 30,
            alias: None,
        }
    }
}

/// A customer-managed KMS key. Retained on stack deletion: data encrypted with it would be lost.
#[derive(Debug, Clone)]
pub struct Key {
    resource: ResourceRef,
    multi_region: bool,
}

fn root_statement() -> Json {
    json!({
        "Sid": "AccountRootAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
        "Action": KEY_ROOT_ACTIONS,
        "Resource": "*",
    })
}

impl Key {
    /// A key `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: KeyProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !(7..=30).contains(&props.pending_window_days) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "pending_window_days",
                message: format!("must be 7..=30, got {}", props.pending_window_days),
            });
        }
        let resource = me.add_resource(
            "Resource",
            "AWS::KMS::Key",
            json!({
                "Description": props.description.clone().unwrap_or_else(|| me.path().to_owned()),
                "EnableKeyRotation": props.enable_key_rotation,
                "MultiRegion": props.multi_region,
                "PendingWindowInDays": props.pending_window_days,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            }),
        )?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        if let Some(alias) = &props.alias {
            me.add_resource(
                "Alias",
                "AWS::KMS::Alias",
                json!({"AliasName": format!("alias/{alias}"), "TargetKeyId": resource.reference()}),
            )?;
        }
        Ok(Self {
            resource,
            multi_region: props.multi_region,
        })
    }

    /// The key's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The key's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The key id.
    pub fn key_id(&self) -> Token {
        self.resource.get_att("KeyId")
    }

    /// Whether it is a multi-region key.
    pub fn is_multi_region(&self) -> bool {
        self.multi_region
    }

    /// Lets an AWS service use the key for `actions` from this account (e.g. CloudWatch Logs,
    /// SNS delivering to an encrypted queue, CloudTrail).
    pub fn allow_service(&self, service: &str, actions: &[&str], condition: Option<Json>) {
        let mut s = json!({
            "Sid": format!("Allow{}", service.split('.').next().unwrap_or(service).replace(['-', '_'], "")),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": actions,
            "Resource": "*",
        });
        match condition {
            Some(c) => s["Condition"] = c,
            None => {
                s["Condition"] =
                    json!({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}});
            }
        }
        self.resource.with_entry(|e| {
            if let Some(stmts) = e
                .properties
                .get_mut("KeyPolicy")
                .and_then(|p| p.get_mut("Statement"))
                .and_then(Json::as_array_mut)
            {
                let sid = s.get("Sid").cloned();
                if let Some(existing) = stmts.iter_mut().find(|x| x.get("Sid") == sid.as_ref()) {
                    // Same service again: merge the actions.
                    let mut all: Vec<Json> =
                        existing["Action"].as_array().cloned().unwrap_or_default();
                    for a in actions {
                        if !all.iter().any(|x| x == a) {
                            all.push(json!(a));
                        }
                    }
                    existing["Action"] = Json::Array(all);
                } else {
                    stmts.push(s);
                }
            }
        });
    }

    /// Grants `kms:Decrypt`.
    pub fn grant_decrypt(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::KMS_DECRYPT,
            vec![self.arn().to_json()],
            None,
        )
    }

    /// Grants `kms:Encrypt` and `kms:GenerateDataKey`.
    pub fn grant_encrypt(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::KMS_ENCRYPT,
            vec![self.arn().to_json()],
            None,
        )
    }

    /// Grants encrypt and decrypt.
    pub fn grant_encrypt_decrypt(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::KMS_ENCRYPT_DECRYPT,
            vec![self.arn().to_json()],
            None,
        )
    }
}

/// A replica of a multi-region key in another region (the replica's stack's region).
#[derive(Debug, Clone)]
pub struct ReplicaKey {
    resource: ResourceRef,
}

impl ReplicaKey {
    /// A replica of `primary` in `scope`'s region. The primary's ARN reaches this stack through
    /// `Fn::GetStackOutput`, so this stack deploys after the primary's.
    pub fn new(scope: &Scope, id: &str, primary: &Key) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !primary.is_multi_region() {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "primary",
                message: format!(
                    "{} is not a multi-region key\nhint: set multi_region: true in its KeyProps",
                    primary.resource().scope().path()
                ),
            });
        }
        let resource = me.add_resource(
            "Resource",
            "AWS::KMS::ReplicaKey",
            json!({
                "Description": format!("replica of {}", primary.resource().scope().path()),
                "PrimaryKeyArn": primary.arn(),
                "PendingWindowInDays": 30,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            }),
        )?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        Ok(Self { resource })
    }

    /// The replica's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The replica's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }
}
