//! Stateful data services: RDS MySQL and ElastiCache Redis.

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::ec2::{Peer, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::error::SynthError;
use crate::kms::Key;
use crate::secrets::Secret;
use crate::tree::{ResourceRef, Scope, Token};

/// Props of [`Database`].
#[derive(Debug, Clone)]
pub struct DatabaseProps {
    /// The VPC; the instance goes into its isolated subnets. Required.
    pub vpc: Vpc,
    /// Storage and secret key. Required.
    pub encryption_key: Key,
    /// MySQL version. Default: `8.0.40`.
    pub engine_version: String,
    /// Instance class. Default: `db.r6g.large`.
    pub instance_class: String,
    /// Storage in GiB, 20..=65536. Default: 100 (gp3).
    pub allocated_storage_gib: u32,
    /// Multi-AZ. Default: on (rule RDS3).
    pub multi_az: bool,
    /// Days of automated backups, 1..=35. Default: 14.
    pub backup_retention_days: u32,
    /// The port; not MySQL's default 3306 (rule RDS11). Default: 3307.
    pub port: u16,
    /// The database created at launch. Default: `banca`.
    pub database_name: String,
}

impl DatabaseProps {
    /// Props with the defaults.
    pub fn new(vpc: &Vpc, encryption_key: Key) -> Self {
        Self {
            vpc: vpc.clone(),
            encryption_key,
            engine_version: "8.0.40".to_owned(),
            instance_class: "db.r6g.large".to_owned(),
            allocated_storage_gib: 100,
            multi_az: true,
            backup_retention_days: 14,
            port: 3307,
            database_name: "banca".to_owned(),
        }
    }
}

/// An RDS MySQL instance: encrypted, Multi-AZ, isolated subnets, master password in a
/// Secrets Manager secret RDS manages and rotates, IAM auth, deletion protection, log exports.
/// Deleting the stack keeps a snapshot.
#[derive(Debug, Clone)]
pub struct Database {
    resource: ResourceRef,
    security_group: SecurityGroup,
    port: u16,
}

fn subnet_group(me: &Scope, vpc: &Vpc) -> Result<ResourceRef, SynthError> {
    me.add_resource(
        "SubnetGroup",
        "AWS::RDS::DBSubnetGroup",
        json!({
            "DBSubnetGroupDescription": format!("isolated subnets of {}", me.path()),
            "SubnetIds": vpc.subnet_ids(SubnetType::Isolated)?,
        }),
    )
}

impl Database {
    /// A database `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: DatabaseProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let bad = |field: &'static str, message: String| SynthError::InvalidProps {
            path: me.path().to_owned(),
            field,
            message,
        };
        if !(1..=35).contains(&props.backup_retention_days) {
            return Err(bad(
                "backup_retention_days",
                format!("must be 1..=35, got {}", props.backup_retention_days),
            ));
        }
        if !(20..=65_536).contains(&props.allocated_storage_gib) {
            return Err(bad(
                "allocated_storage_gib",
                format!("must be 20..=65536, got {}", props.allocated_storage_gib),
            ));
        }
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps {
                allow_https_egress: false,
                ..SecurityGroupProps::new(&props.vpc, &format!("MySQL of {}", me.path()))
            },
        )?;
        let subnets = subnet_group(&me, &props.vpc)?;
        let resource = me.add_resource(
            "Resource",
            "AWS::RDS::DBInstance",
            json!({
                "Engine": "mysql",
                "EngineVersion": props.engine_version,
                "DBInstanceClass": props.instance_class,
                "AllocatedStorage": props.allocated_storage_gib.to_string(),
                "StorageType": "gp3",
                "StorageEncrypted": true,
                "KmsKeyId": props.encryption_key.arn(),
                "MultiAZ": props.multi_az,
                "DBSubnetGroupName": subnets.reference(),
                "VPCSecurityGroups": [sg.id()],
                "PubliclyAccessible": false,
                "Port": props.port.to_string(),
                "DBName": props.database_name,
                "MasterUsername": "banca_admin",
                "ManageMasterUserPassword": true,
                "MasterUserSecret": {"KmsKeyId": props.encryption_key.arn()},
                "EnableIAMDatabaseAuthentication": true,
                "DeletionProtection": true,
                "BackupRetentionPeriod": props.backup_retention_days,
                "CopyTagsToSnapshot": true,
                "AutoMinorVersionUpgrade": true,
                "EnableCloudwatchLogsExports": ["error", "general", "slowquery"],
                "EnablePerformanceInsights": true,
                "PerformanceInsightsKMSKeyId": props.encryption_key.arn(),
                "PerformanceInsightsRetentionPeriod": 7,
            }),
        )?;
        resource.apply_removal_policy(DeletionPolicy::Snapshot);
        Ok(Self {
            resource,
            security_group: sg,
            port: props.port,
        })
    }

    /// A cross-region read replica of `source` in `scope`'s region (the DR copy). Encrypted
    /// with `encryption_key` (a key of this region); Multi-AZ like the source.
    pub fn read_replica(
        scope: &Scope,
        id: &str,
        source: &Database,
        vpc: &Vpc,
        encryption_key: &Key,
    ) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps {
                allow_https_egress: false,
                ..SecurityGroupProps::new(vpc, &format!("MySQL replica of {}", me.path()))
            },
        )?;
        let subnets = subnet_group(&me, vpc)?;
        let source_props = source
            .resource
            .property("DBInstanceClass")
            .unwrap_or(Json::Null);
        // A cross-region replica is encrypted with KmsKeyId (StorageEncrypted is not allowed
        // with a source: the source's encryption carries over).
        let resource = me.add_resource(
            "Resource",
            "AWS::RDS::DBInstance",
            json!({
                "SourceDBInstanceIdentifier": source.arn(),
                "DBInstanceClass": source_props,
                "KmsKeyId": encryption_key.arn(),
                "MultiAZ": true,
                "DBSubnetGroupName": subnets.reference(),
                "VPCSecurityGroups": [sg.id()],
                "PubliclyAccessible": false,
                "Port": source.port.to_string(),
                "EnableIAMDatabaseAuthentication": true,
                "DeletionProtection": true,
                "BackupRetentionPeriod": 7,
                "CopyTagsToSnapshot": true,
                "AutoMinorVersionUpgrade": true,
                "EnableCloudwatchLogsExports": ["error", "general", "slowquery"],
            }),
        )?;
        resource.apply_removal_policy(DeletionPolicy::Snapshot);
        Ok(Self {
            resource,
            security_group: sg,
            port: source.port,
        })
    }

    /// The instance's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The instance's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("DBInstanceArn")
    }

    /// The endpoint address.
    pub fn endpoint(&self) -> Token {
        self.resource.get_att("Endpoint.Address")
    }

    /// The ARN of the master-user secret RDS manages.
    pub fn secret_arn(&self) -> Token {
        self.resource.get_att("MasterUserSecret.SecretArn")
    }

    /// Lets members of `group` connect.
    pub fn allow_from(&self, group: &SecurityGroup, description: &str) -> Result<(), SynthError> {
        self.security_group.add_ingress(
            Peer::SecurityGroup(Box::new(group.clone())),
            self.port,
            description,
        )
    }
}

/// Props of [`RedisCluster`].
#[derive(Debug, Clone)]
pub struct RedisClusterProps {
    /// The VPC; nodes go into its isolated subnets. Required.
    pub vpc: Vpc,
    /// At-rest key. Required.
    pub encryption_key: Key,
    /// The AUTH token's secret (field `password`). Required (rule AEC6).
    pub auth_secret: Secret,
    /// Node type. Default: `cache.t4g.medium`.
    pub node_type: String,
    /// Nodes (primary + replicas), 2..=6. Default: 2 (one per AZ, for Multi-AZ failover).
    pub num_nodes: u32,
    /// The port; not Redis's default 6379 (rule AEC5). Default: 6380.
    pub port: u16,
    /// Engine version. Default: `7.1`.
    pub engine_version: String,
}

impl RedisClusterProps {
    /// Props with the defaults.
    pub fn new(vpc: &Vpc, encryption_key: Key, auth_secret: Secret) -> Self {
        Self {
            vpc: vpc.clone(),
            encryption_key,
            auth_secret,
            node_type: "cache.t4g.medium".to_owned(),
            num_nodes: 2,
            port: 6380,
            engine_version: "7.1".to_owned(),
        }
    }
}

/// A Redis replication group: encryption at rest and in transit, AUTH, Multi-AZ with
/// automatic failover, snapshots.
#[derive(Debug, Clone)]
pub struct RedisCluster {
    resource: ResourceRef,
    security_group: SecurityGroup,
    port: u16,
}

impl RedisCluster {
    /// A cluster `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: RedisClusterProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !(2..=6).contains(&props.num_nodes) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "num_nodes",
                message: format!(
                    "must be 2..=6 (Multi-AZ needs a replica), got {}",
                    props.num_nodes
                ),
            });
        }
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps {
                allow_https_egress: false,
                ..SecurityGroupProps::new(&props.vpc, &format!("Redis of {}", me.path()))
            },
        )?;
        let subnets = me.add_resource(
            "SubnetGroup",
            "AWS::ElastiCache::SubnetGroup",
            json!({
                "Description": format!("isolated subnets of {}", me.path()),
                "SubnetIds": props.vpc.subnet_ids(SubnetType::Isolated)?,
            }),
        )?;
        let resource = me.add_resource(
            "Resource",
            "AWS::ElastiCache::ReplicationGroup",
            json!({
                "ReplicationGroupDescription": me.path(),
                "Engine": "redis",
                "EngineVersion": props.engine_version,
                "CacheNodeType": props.node_type,
                "NumCacheClusters": props.num_nodes,
                "MultiAZEnabled": true,
                "AutomaticFailoverEnabled": true,
                "AtRestEncryptionEnabled": true,
                "KmsKeyId": props.encryption_key.arn(),
                "TransitEncryptionEnabled": true,
                "AuthToken": props.auth_secret.value_of("password"),
                "Port": props.port,
                "CacheSubnetGroupName": subnets.reference(),
                "SecurityGroupIds": [sg.id()],
                "SnapshotRetentionLimit": 7,
                "AutoMinorVersionUpgrade": true,
            }),
        )?;
        resource.apply_removal_policy(DeletionPolicy::Snapshot);
        Ok(Self {
            resource,
            security_group: sg,
            port: props.port,
        })
    }

    /// The group's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The primary endpoint address.
    pub fn endpoint(&self) -> Token {
        self.resource.get_att("PrimaryEndPoint.Address")
    }

    /// Lets members of `group` connect.
    pub fn allow_from(&self, group: &SecurityGroup, description: &str) -> Result<(), SynthError> {
        self.security_group.add_ingress(
            Peer::SecurityGroup(Box::new(group.clone())),
            self.port,
            description,
        )
    }
}
