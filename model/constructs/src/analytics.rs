//! Analytics: Athena workgroups (Session Manager logs), OpenSearch domain and ingestion
//! pipeline (audit search, off by default in the bank's config).

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::ec2::{Peer, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::error::SynthError;
use crate::iam::{Role, statement};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};
use crate::s3::Bucket;
use crate::tree::{ResourceRef, Scope, Token};

/// Props of [`WorkGroup`].
#[derive(Debug, Clone)]
pub struct WorkGroupProps {
    /// Where query results go. Required.
    pub results_bucket: Bucket,
    /// The results key. Required.
    pub encryption_key: Key,
    /// Bytes a query may scan before it is cancelled. Default: 10 GiB (a limit on everything).
    pub bytes_scanned_cutoff: u64,
}

/// An Athena workgroup whose settings (SSE-KMS results, scan cutoff) clients cannot override.
#[derive(Debug, Clone)]
pub struct WorkGroup {
    resource: ResourceRef,
}

impl WorkGroup {
    /// A workgroup `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: WorkGroupProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.bytes_scanned_cutoff < 10_000_000 {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "bytes_scanned_cutoff",
                message: format!(
                    "must be at least 10000000 (Athena's minimum), got {}",
                    props.bytes_scanned_cutoff
                ),
            });
        }
        let resource = me.add_resource("Resource", "AWS::Athena::WorkGroup", json!({
            "Name": format!("{}-{id}", me.stack_name()?),
            "State": "ENABLED",
            "RecursiveDeleteOption": false,
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": true,
                "PublishCloudWatchMetricsEnabled": true,
                "BytesScannedCutoffPerQuery": props.bytes_scanned_cutoff,
                "EngineVersion": {"SelectedEngineVersion": "AUTO"},
                "ResultConfiguration": {
                    "OutputLocation": {"Fn::Join": ["", ["s3://", props.results_bucket.name(), "/athena-results/"]]},
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": props.encryption_key.arn()},
                },
            },
        }))?;
        Ok(Self { resource })
    }

    /// The workgroup's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}

/// Props of [`Domain`].
#[derive(Debug, Clone)]
pub struct DomainProps {
    /// The VPC; nodes go to its isolated subnets over 2 AZs. Required.
    pub vpc: Vpc,
    /// The at-rest key. Required.
    pub encryption_key: Key,
    /// Engine. Default: `OpenSearch_2.17`.
    pub engine_version: String,
    /// Data node type. Default: `r6g.large.search`.
    pub instance_type: String,
    /// Data nodes (even, for two AZs). Default: 2.
    pub instance_count: u32,
    /// EBS GiB per node. Default: 100.
    pub volume_gib: u32,
}

impl DomainProps {
    /// Props with the defaults.
    pub fn new(vpc: &Vpc, encryption_key: Key) -> Self {
        Self {
            vpc: vpc.clone(),
            encryption_key,
            engine_version: "OpenSearch_2.17".to_owned(),
            instance_type: "r6g.large.search".to_owned(),
            instance_count: 2,
            volume_gib: 100,
        }
    }
}

/// An OpenSearch domain in a VPC: encryption at rest and node-to-node, HTTPS only with TLS 1.2,
/// zone awareness, fine-grained access control with an IAM master role. Retained.
#[derive(Debug, Clone)]
pub struct Domain {
    resource: ResourceRef,
    security_group: SecurityGroup,
    name: String,
}

impl Domain {
    /// A domain `id` under `scope`; `master` is the role allowed to administer and write.
    pub fn new(
        scope: &Scope,
        id: &str,
        props: DomainProps,
        master: &Role,
    ) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.instance_count == 0 || !props.instance_count.is_multiple_of(2) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "instance_count",
                message: format!(
                    "must be a positive even number (two AZs), got {}",
                    props.instance_count
                ),
            });
        }
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps {
                allow_https_egress: false,
                ..SecurityGroupProps::new(&props.vpc, &format!("OpenSearch {}", me.path()))
            },
        )?;
        let subnets = props.vpc.subnet_ids(SubnetType::Isolated)?;
        // A fixed name (3..=28 lowercase characters) so the access policy can name the domain.
        let name: String = format!("{}-{id}", me.stack_name()?)
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(28)
            .collect();
        let resource = me.add_resource("Resource", "AWS::OpenSearchService::Domain", json!({
            "DomainName": name,
            "EngineVersion": props.engine_version,
            "ClusterConfig": {"InstanceType": props.instance_type, "InstanceCount": props.instance_count, "ZoneAwarenessEnabled": true, "ZoneAwarenessConfig": {"AvailabilityZoneCount": 2}},
            "EBSOptions": {"EBSEnabled": true, "VolumeType": "gp3", "VolumeSize": props.volume_gib},
            "EncryptionAtRestOptions": {"Enabled": true, "KmsKeyId": props.encryption_key.key_id()},
            "NodeToNodeEncryptionOptions": {"Enabled": true},
            "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"},
            "VPCOptions": {"SubnetIds": [subnets.first().cloned().unwrap_or(Json::Null), subnets.get(1).cloned().unwrap_or(Json::Null)], "SecurityGroupIds": [sg.id()]},
            "AdvancedSecurityOptions": {"Enabled": true, "InternalUserDatabaseEnabled": false, "MasterUserOptions": {"MasterUserARN": master.arn()}},
            "AccessPolicies": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": master.arn()},
                "Action": ["es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpHead"],
                "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:es:${{AWS::Region}}:${{AWS::AccountId}}:domain/{name}/*")},
            }]},
        }))?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        Ok(Self {
            resource,
            security_group: sg,
            name,
        })
    }

    /// The domain's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The domain's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The ARN built from the fixed domain name: for policies of roles the domain itself
    /// references (a `GetAtt` there would be a circular dependency).
    pub fn arn_by_name(&self) -> Json {
        json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:es:${{AWS::Region}}:${{AWS::AccountId}}:domain/{}", self.name)})
    }

    /// The VPC endpoint (without scheme).
    pub fn endpoint(&self) -> Token {
        self.resource.get_att("DomainEndpoint")
    }

    /// Lets members of `group` connect over HTTPS.
    pub fn allow_from(&self, group: &SecurityGroup, description: &str) -> Result<(), SynthError> {
        self.security_group.add_ingress(
            Peer::SecurityGroup(Box::new(group.clone())),
            443,
            description,
        )
    }
}

/// Props of [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineProps {
    /// The domain receiving documents. Required.
    pub domain: Domain,
    /// The index. Required.
    pub index: String,
    /// The HTTP path clients post to, e.g. `/audit/ingest`. Required.
    pub path: String,
    /// Key of the pipeline's logs and buffer. Required.
    pub encryption_key: Key,
    /// The VPC for the pipeline endpoint. Required.
    pub vpc: Vpc,
    /// Capacity units, 1..=96 (min, max). Default: (1, 4).
    pub units: (u32, u32),
}

/// An OpenSearch Ingestion pipeline: an HTTP source inside the VPC, the domain as sink
/// (signed with its own role), logs to an encrypted group.
#[derive(Debug, Clone)]
pub struct Pipeline {
    resource: ResourceRef,
    role: Role,
}

impl Pipeline {
    /// A pipeline `id` under `scope`; `role` must be the domain's master role (it signs writes).
    pub fn new(
        scope: &Scope,
        id: &str,
        props: PipelineProps,
        role: &Role,
    ) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let (min, max) = props.units;
        if !(1..=96).contains(&min) || !(min..=96).contains(&max) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "units",
                message: format!("must satisfy 1 <= min <= max <= 96, got ({min}, {max})"),
            });
        }
        if !props.path.starts_with('/') {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "path",
                message: format!("must start with /, got {:?}", props.path),
            });
        }
        let domain_arn = props.domain.arn_by_name();
        role.add_statement(statement(&["es:DescribeDomain"], vec![domain_arn.clone()]));
        role.add_statement(statement(
            &[
                "es:ESHttpPost",
                "es:ESHttpPut",
                "es:ESHttpGet",
                "es:ESHttpHead",
            ],
            vec![json!({"Fn::Join": ["", [domain_arn, "/*"]]})],
        ));
        let name: String = format!("{}-{id}", me.stack_name()?)
            .to_ascii_lowercase()
            .chars()
            .take(28)
            .collect();
        let logs = LogGroup::new(
            &me,
            "Logs",
            LogGroupProps {
                log_group_name: Some(format!("/aws/vendedlogs/OpenSearchIngestion/{name}")),
                ..LogGroupProps::new(props.encryption_key.clone())
            },
        )?;
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps::new(&props.vpc, &format!("ingestion pipeline {}", me.path())),
        )?;
        sg.add_ingress(
            Peer::VpcCidr(Box::new(props.vpc.clone())),
            443,
            "HTTPS from the VPC",
        )?;
        let body = format!(
            "version: \"2\"\naudit-pipeline:\n  source:\n    http:\n      path: \"{}\"\n  sink:\n    - opensearch:\n        hosts: [\"https://${{Endpoint}}\"]\n        index: \"{}\"\n        aws:\n          sts_role_arn: \"${{Role}}\"\n          region: \"${{AWS::Region}}\"\n",
            props.path, props.index
        );
        let resource = me.add_resource("Resource", "AWS::OSIS::Pipeline", json!({
            "PipelineName": name,
            "MinUnits": min, "MaxUnits": max,
            "PipelineConfigurationBody": {"Fn::Sub": [body, {"Endpoint": props.domain.endpoint(), "Role": role.arn()}]},
            "LogPublishingOptions": {"IsLoggingEnabled": true, "CloudWatchLogDestination": {"LogGroup": logs.name()}},
            "VpcOptions": {"SubnetIds": props.vpc.subnet_ids(SubnetType::Private)?, "SecurityGroupIds": [sg.id()]},
            "EncryptionAtRestOptions": {"KmsKeyArn": props.encryption_key.arn()},
        }))?;
        props
            .domain
            .allow_from(&sg, "from the ingestion pipeline")?;
        Ok(Self {
            resource,
            role: role.clone(),
        })
    }

    /// The pipeline's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The role that signs writes.
    pub fn role(&self) -> &Role {
        &self.role
    }
}
