//! DynamoDB global tables: on-demand, PITR, KMS, deletion protection, replicas.

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, actions, grant};
use crate::kms::{Key, ReplicaKey};
use crate::tree::{ResourceRef, Scope, Token};

/// A key attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

/// A key attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: AttributeType,
}

impl Attribute {
    /// A string attribute.
    pub fn string(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: AttributeType::S,
        }
    }
    /// A number attribute.
    pub fn number(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: AttributeType::N,
        }
    }
}

/// A replica of the table in another region, encrypted with the replica of the table's
/// multi-region key there.
#[derive(Debug, Clone)]
pub struct TableReplica {
    /// The region.
    pub region: String,
    /// The replica key in that region.
    pub key: ReplicaKey,
}

/// Props of [`Table`].
#[derive(Debug, Clone)]
pub struct TableProps {
    /// Partition key. Required.
    pub partition_key: Attribute,
    /// Sort key. Unset: none.
    pub sort_key: Option<Attribute>,
    /// The key. Required: a global table's replicas need a multi-region key's replicas, which
    /// the caller places in the other regions' stacks.
    pub encryption_key: Key,
    /// Replicas in other regions. Default: none (a single-region global table, ready to add
    /// replicas without replacement).
    pub replicas: Vec<TableReplica>,
    /// The attribute holding an expiry epoch, if items expire. Unset: no TTL.
    pub time_to_live_attribute: Option<String>,
    /// The table name. Unset: generated.
    pub table_name: Option<String>,
}

impl TableProps {
    /// Props with a partition key, a key and the defaults.
    pub fn new(partition_key: Attribute, encryption_key: Key) -> Self {
        Self {
            partition_key,
            sort_key: None,
            encryption_key,
            replicas: Vec::new(),
            time_to_live_attribute: None,
            table_name: None,
        }
    }
}

/// A DynamoDB global table (`AWS::DynamoDB::GlobalTable`): on-demand billing, point-in-time
/// recovery and deletion protection on every replica, streams for replication. Retained.
#[derive(Debug, Clone)]
pub struct Table {
    resource: ResourceRef,
    key: Key,
}

impl Table {
    /// A table `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: TableProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let region = me.env()?.region;
        if !props.replicas.is_empty() && !props.encryption_key.is_multi_region() {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "encryption_key",
                message:
                    "replicas need a multi-region key\nhint: set multi_region: true on the key"
                        .to_owned(),
            });
        }
        let mut attrs = vec![&props.partition_key];
        let mut key_schema =
            vec![json!({"AttributeName": props.partition_key.name, "KeyType": "HASH"})];
        if let Some(s) = &props.sort_key {
            attrs.push(s);
            key_schema.push(json!({"AttributeName": s.name, "KeyType": "RANGE"}));
        }
        let replica = |region: &str, key: Json| {
            json!({
                "Region": region,
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
                "DeletionProtectionEnabled": true,
                "SSESpecification": {"KMSMasterKeyId": key},
            })
        };
        let mut replicas = vec![replica(&region, props.encryption_key.arn().to_json())];
        for r in &props.replicas {
            if r.region == region {
                return Err(SynthError::InvalidProps {
                    path: me.path().to_owned(),
                    field: "replicas",
                    message: format!(
                        "{} is the table's own region; list only other regions",
                        r.region
                    ),
                });
            }
            replicas.push(replica(&r.region, r.key.arn().to_json()));
        }
        let mut p = json!({
            "AttributeDefinitions": attrs.iter().map(|a| json!({"AttributeName": a.name, "AttributeType": format!("{:?}", a.kind)})).collect::<Vec<_>>(),
            "KeySchema": key_schema,
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS"},
            "Replicas": replicas,
        });
        if let Some(a) = &props.time_to_live_attribute {
            p["TimeToLiveSpecification"] = json!({"AttributeName": a, "Enabled": true});
        }
        if let Some(n) = &props.table_name {
            p["TableName"] = json!(n);
        }
        let resource = me.add_resource("Resource", "AWS::DynamoDB::GlobalTable", p)?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        Ok(Self {
            resource,
            key: props.encryption_key,
        })
    }

    /// The table's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The table's ARN (in its own region).
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The table's name.
    pub fn name(&self) -> Token {
        self.resource.reference()
    }

    /// Grants reading items (and `kms:Decrypt`).
    pub fn grant_read(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::DYNAMODB_READ,
            vec![self.arn().to_json()],
            Some((&self.key, actions::KMS_DECRYPT)),
        )
    }

    /// Grants writing items (and the key actions writes need).
    pub fn grant_write(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::DYNAMODB_WRITE,
            vec![self.arn().to_json()],
            Some((&self.key, actions::KMS_ENCRYPT_DECRYPT)),
        )
    }
}
