//! EC2 compute for the existing UAA server: launch template (IMDSv2, encrypted EBS, Session
//! Manager instead of SSH, CloudWatch agent), Auto Scaling group over the private subnets, and
//! an internal HTTPS Application Load Balancer.

use serde_json::{Value as Json, json};

use crate::ec2::{Peer, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::error::SynthError;
use crate::iam::{Grantable, Role, RoleProps, statement};
use crate::kms::Key;
use crate::tree::{ResourceRef, Scope, Token};

/// The latest Amazon Linux 2023 arm64 AMI, resolved by CloudFormation from AWS's public
/// parameter, so instances launch patched without an AMI id in the template.
pub const AL2023_ARM64_AMI: &str =
    "{{resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64}}";

/// Actions the SSM agent (Session Manager) and the CloudWatch agent need; none has
/// resource-level permissions.
pub const INSTANCE_AGENT_ACTIONS: &[&str] = &[
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "cloudwatch:PutMetricData",
];

/// Props of [`AutoScalingGroup`].
#[derive(Debug, Clone)]
pub struct AutoScalingGroupProps {
    /// The VPC; instances go to its private subnets (one per AZ). Required.
    pub vpc: Vpc,
    /// The EBS key. Required.
    pub encryption_key: Key,
    /// Instance type. Default: `t4g.medium`.
    pub instance_type: String,
    /// Minimum instances. Default: 2 (one per AZ).
    pub min_capacity: u32,
    /// Maximum instances. Default: 4.
    pub max_capacity: u32,
    /// Root volume GiB. Default: 30.
    pub volume_gib: u32,
    /// User data (a shell script; base64-encoded here). Default: installs and starts the
    /// CloudWatch agent for memory and disk metrics.
    pub user_data: String,
    /// The port the application listens on. Default: 8080.
    pub port: u16,
}

impl AutoScalingGroupProps {
    /// Props with the defaults.
    pub fn new(vpc: &Vpc, encryption_key: Key) -> Self {
        Self {
            vpc: vpc.clone(),
            encryption_key,
            instance_type: "t4g.medium".to_owned(),
            min_capacity: 2,
            max_capacity: 4,
            volume_gib: 30,
            user_data: "#!/bin/bash\nset -euo pipefail\ndnf install -y amazon-cloudwatch-agent\ncat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CFG'\n{\"metrics\":{\"append_dimensions\":{\"AutoScalingGroupName\":\"${aws:AutoScalingGroupName}\"},\"metrics_collected\":{\"mem\":{\"measurement\":[\"mem_used_percent\"]},\"disk\":{\"measurement\":[\"used_percent\"],\"resources\":[\"/\"]}}}}\nCFG\n/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json\n".to_owned(),
            port: 8080,
        }
    }
}

/// An Auto Scaling group of instances from a launch template.
#[derive(Debug, Clone)]
pub struct AutoScalingGroup {
    resource: ResourceRef,
    launch_template: ResourceRef,
    role: Role,
    security_group: SecurityGroup,
    port: u16,
}

impl Grantable for AutoScalingGroup {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl AutoScalingGroup {
    /// A group `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: AutoScalingGroupProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.min_capacity == 0 || props.min_capacity > props.max_capacity {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "min_capacity",
                message: format!(
                    "must be 1..=max_capacity ({}), got {}",
                    props.max_capacity, props.min_capacity
                ),
            });
        }
        let role = Role::new(
            &me,
            "InstanceRole",
            RoleProps {
                assumed_by: "ec2.amazonaws.com".to_owned(),
                description: Some(format!("instances of {}", me.path())),
            },
        )?;
        role.add_statement(statement(INSTANCE_AGENT_ACTIONS, vec![json!("*")]));
        let profile = me.add_resource(
            "InstanceProfile",
            "AWS::IAM::InstanceProfile",
            json!({"Roles": [role.name()]}),
        )?;
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps::new(&props.vpc, &format!("instances of {}", me.path())),
        )?;
        let lt = me.add_resource("LaunchTemplate", "AWS::EC2::LaunchTemplate", json!({
            "LaunchTemplateData": {
                "ImageId": AL2023_ARM64_AMI,
                "InstanceType": props.instance_type,
                "IamInstanceProfile": {"Arn": profile.get_att("Arn")},
                "SecurityGroupIds": [sg.id()],
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": props.volume_gib, "VolumeType": "gp3", "Encrypted": true, "KmsKeyId": props.encryption_key.arn(), "DeleteOnTermination": true}}],
                "Monitoring": {"Enabled": true},
                "UserData": base64(props.user_data.as_bytes()),
            },
        }))?;
        // Auto Scaling launches encrypted volumes with its service-linked role.
        props.encryption_key.allow_service(
            "autoscaling.amazonaws.com",
            &[
                "kms:Decrypt",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:CreateGrant",
                "kms:DescribeKey",
            ],
            None,
        );
        let resource = me.add_resource("Resource", "AWS::AutoScaling::AutoScalingGroup", json!({
            "MinSize": props.min_capacity.to_string(),
            "MaxSize": props.max_capacity.to_string(),
            "VPCZoneIdentifier": props.vpc.subnet_ids(SubnetType::Private)?,
            "LaunchTemplate": {"LaunchTemplateId": lt.reference(), "Version": lt.get_att("LatestVersionNumber")},
            "HealthCheckType": "EC2",
            "HealthCheckGracePeriod": 300,
        }))?;
        resource.with_entry(|e| {
            e.update_policy = Some(json!({"AutoScalingRollingUpdate": {"MinInstancesInService": 1, "MaxBatchSize": 1, "PauseTime": "PT5M"}}));
        });
        Ok(Self {
            resource,
            launch_template: lt,
            role,
            security_group: sg,
            port: props.port,
        })
    }

    /// The group's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The launch template's resource.
    pub fn launch_template(&self) -> &ResourceRef {
        &self.launch_template
    }

    /// The instances' security group.
    pub fn security_group(&self) -> &SecurityGroup {
        &self.security_group
    }
}

/// Props of [`LoadBalancer`].
#[derive(Debug, Clone)]
pub struct LoadBalancerProps {
    /// The VPC; the internal ALB goes to its private subnets. Required.
    pub vpc: Vpc,
    /// The HTTPS listener's certificate ARN. Required: no plain HTTP listener exists.
    pub certificate_arn: Json,
    /// The group of instances behind it. Required.
    pub targets: AutoScalingGroup,
    /// Who may connect (an IPv4 block: the VPC, the on-premise network). Required.
    pub allowed_cidr: String,
    /// The health check path. Default: `/healthz`.
    pub health_check_path: String,
}

/// An internal Application Load Balancer with one HTTPS listener (TLS 1.3/1.2 policy),
/// deletion protection and invalid-header dropping.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    resource: ResourceRef,
}

impl LoadBalancer {
    /// A load balancer `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: LoadBalancerProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let sg = SecurityGroup::new(
            &me,
            "SecurityGroup",
            SecurityGroupProps {
                allow_https_egress: false,
                ..SecurityGroupProps::new(&props.vpc, &format!("internal ALB {}", me.path()))
            },
        )?;
        sg.add_ingress(
            Peer::Cidr(props.allowed_cidr.clone()),
            443,
            "HTTPS from allowed internal networks",
        )?;
        sg.resource().with_entry(|e| {
            if let Some(eg) = e.properties.get_mut("SecurityGroupEgress") {
                *eg = json!([{"IpProtocol": "tcp", "FromPort": props.targets.port, "ToPort": props.targets.port, "DestinationSecurityGroupId": props.targets.security_group.id(), "Description": "to the targets"}]);
            }
        });
        props.targets.security_group.add_ingress(
            Peer::SecurityGroup(Box::new(sg.clone())),
            props.targets.port,
            "from the load balancer",
        )?;
        let resource = me.add_resource(
            "Resource",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            json!({
                "Type": "application",
                "Scheme": "internal",
                "Subnets": props.vpc.subnet_ids(SubnetType::Private)?,
                "SecurityGroups": [sg.id()],
                "LoadBalancerAttributes": [
                    {"Key": "deletion_protection.enabled", "Value": "true"},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                ],
            }),
        )?;
        let tg = me.add_resource("TargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup", json!({
            "VpcId": props.vpc.id(), "Protocol": "HTTP", "Port": props.targets.port, "TargetType": "instance",
            "HealthCheckPath": props.health_check_path, "HealthCheckProtocol": "HTTP", "Matcher": {"HttpCode": "200"},
        }))?;
        me.add_resource(
            "HttpsListener",
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": resource.reference(), "Port": 443, "Protocol": "HTTPS",
                "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "Certificates": [{"CertificateArn": props.certificate_arn}],
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg.reference()}],
            }),
        )?;
        props
            .targets
            .resource
            .set_property("TargetGroupARNs", json!([tg.reference()]));
        props
            .targets
            .resource
            .set_property("HealthCheckType", json!("ELB"));
        Ok(Self { resource })
    }

    /// The load balancer's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// Its DNS name.
    pub fn dns_name(&self) -> Token {
        self.resource.get_att("DNSName")
    }
}
