//! Networking: VPC with subnet tiers over N AZs, NAT, endpoints, flow logs, HA VPN; security
//! groups with described rules.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::iam::{Role, RoleProps, statement};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};
use crate::tree::{ResourceRef, Scope, Token};

/// A subnet tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubnetType {
    /// Routes to an internet gateway (NAT gateways, public load balancers only).
    Public,
    /// Egress to the internet through NAT.
    Private,
    /// No route to the internet (databases, caches).
    Isolated,
}

/// How many NAT gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatGateways {
    /// One per AZ: an AZ failure never cuts egress (primary region).
    PerAz,
    /// One for all AZs (warm-standby region: cheaper).
    Single,
}

/// The HA site-to-site VPN to the on-premise network.
#[derive(Debug, Clone)]
pub struct VpnProps {
    /// Public IPs of the on-premise customer gateways (two for HA).
    pub customer_gateway_ips: Vec<String>,
    /// The customer side's BGP ASN.
    pub bgp_asn: u32,
}

/// Props of [`Vpc`].
#[derive(Debug, Clone)]
pub struct VpcProps {
    /// The VPC's IPv4 block, /16../24 with room for 16 subnets. Default: `10.0.0.0/16`.
    pub cidr: String,
    /// AZs to span, 2..=4. Default: 2 (the minimum for Multi-AZ databases and HA).
    pub max_azs: u32,
    /// NAT gateways. Default: one per AZ.
    pub nat_gateways: NatGateways,
    /// Interface endpoints (PrivateLink) by service short name (`sqs`, `kms`, ...). Default:
    /// SQS, SNS, KMS, SSM, Secrets Manager, Logs, STS, Step Functions.
    pub interface_endpoints: Vec<String>,
    /// Gateway endpoints for S3 and DynamoDB. Default: on (free, keeps traffic private).
    pub gateway_endpoints: bool,
    /// The key of the flow-log group. Required: flow logs are always on (rule VPC7).
    pub flow_log_key: Key,
    /// Flow-log retention in days. Default: 365.
    pub flow_log_retention_days: u32,
    /// The HA VPN. Unset: none.
    pub vpn: Option<VpnProps>,
}

impl VpcProps {
    /// Props with the defaults and the flow-log key.
    pub fn new(flow_log_key: Key) -> Self {
        Self {
            cidr: "10.0.0.0/16".to_owned(),
            max_azs: 2,
            nat_gateways: NatGateways::PerAz,
            interface_endpoints: [
                "sqs",
                "sns",
                "kms",
                "ssm",
                "secretsmanager",
                "logs",
                "sts",
                "states",
            ]
            .map(str::to_owned)
            .to_vec(),
            gateway_endpoints: true,
            flow_log_key,
            flow_log_retention_days: 365,
            vpn: None,
        }
    }
}

/// A VPC with public, private and isolated subnets in every AZ.
#[derive(Debug, Clone)]
pub struct Vpc {
    resource: ResourceRef,
    subnets: Vec<(SubnetType, ResourceRef)>,
    scope: Scope,
}

fn parse_cidr(cidr: &str) -> Option<([u8; 4], u8)> {
    let (ip, len) = cidr.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    let parts: Vec<u8> = ip
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let ip: [u8; 4] = parts.try_into().ok()?;
    (len <= 32).then_some((ip, len))
}

impl Vpc {
    /// A VPC `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: VpcProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let bad = |field: &'static str, message: String| SynthError::InvalidProps {
            path: me.path().to_owned(),
            field,
            message,
        };
        let Some((_, len)) = parse_cidr(&props.cidr) else {
            return Err(bad(
                "cidr",
                format!(
                    "must be an IPv4 CIDR block like 10.0.0.0/16, got {:?}",
                    props.cidr
                ),
            ));
        };
        if !(16..=24).contains(&len) {
            return Err(bad("cidr", format!("prefix must be /16../24, got /{len}")));
        }
        if !(2..=4).contains(&props.max_azs) {
            return Err(bad(
                "max_azs",
                format!("must be 2..=4, got {}", props.max_azs),
            ));
        }
        let azs = props.max_azs as usize;
        let vpc = me.add_resource(
            "Resource",
            "AWS::EC2::VPC",
            json!({
                "CidrBlock": props.cidr,
                "EnableDnsHostnames": true,
                "EnableDnsSupport": true,
            }),
        )?;
        let igw = me.add_resource("InternetGateway", "AWS::EC2::InternetGateway", json!({}))?;
        let attach = me.add_resource(
            "GatewayAttachment",
            "AWS::EC2::VPCGatewayAttachment",
            json!({
                "VpcId": vpc.reference(), "InternetGatewayId": igw.reference(),
            }),
        )?;
        // 16 equal blocks of the VPC: enough for 3 tiers x 4 AZs.
        let bits = 32 - (u32::from(len) + 4);
        let mut subnets = Vec::new();
        let mut route_tables: Vec<(SubnetType, ResourceRef)> = Vec::new();
        let mut nats = Vec::new();
        let tiers = [
            SubnetType::Public,
            SubnetType::Private,
            SubnetType::Isolated,
        ];
        for (t, tier) in tiers.iter().enumerate() {
            for az in 0..azs {
                let name = format!("{tier:?}Subnet{}", az + 1);
                let sub_scope = me.child(&name)?;
                let subnet = sub_scope.add_resource("Subnet", "AWS::EC2::Subnet", json!({
                    "VpcId": vpc.reference(),
                    "AvailabilityZone": {"Fn::Select": [az, {"Fn::GetAZs": ""}]},
                    "CidrBlock": {"Fn::Select": [t * 4 + az, {"Fn::Cidr": [vpc.get_att("CidrBlock"), 16, bits.to_string()]}]},
                    "MapPublicIpOnLaunch": false,
                }))?;
                let rt = sub_scope.add_resource(
                    "RouteTable",
                    "AWS::EC2::RouteTable",
                    json!({"VpcId": vpc.reference()}),
                )?;
                sub_scope.add_resource(
                    "RouteTableAssociation",
                    "AWS::EC2::SubnetRouteTableAssociation",
                    json!({
                        "SubnetId": subnet.reference(), "RouteTableId": rt.reference(),
                    }),
                )?;
                match tier {
                    SubnetType::Public => {
                        let r = sub_scope.add_resource("DefaultRoute", "AWS::EC2::Route", json!({
                            "RouteTableId": rt.reference(), "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw.reference(),
                        }))?;
                        r.add_depends_on(&attach);
                        if props.nat_gateways == NatGateways::PerAz || az == 0 {
                            let eip = sub_scope.add_resource(
                                "Eip",
                                "AWS::EC2::EIP",
                                json!({"Domain": "vpc"}),
                            )?;
                            let nat = sub_scope.add_resource("NatGateway", "AWS::EC2::NatGateway", json!({
                                "SubnetId": subnet.reference(), "AllocationId": eip.get_att("AllocationId"),
                            }))?;
                            nats.push(nat);
                        }
                    }
                    SubnetType::Private => {
                        let nat = nats.get(az).or(nats.first()).cloned();
                        if let Some(nat) = nat {
                            sub_scope.add_resource("DefaultRoute", "AWS::EC2::Route", json!({
                                "RouteTableId": rt.reference(), "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat.reference(),
                            }))?;
                        }
                    }
                    SubnetType::Isolated => {}
                }
                subnets.push((*tier, subnet));
                route_tables.push((*tier, rt));
            }
        }
        let this = Self {
            resource: vpc.clone(),
            subnets,
            scope: me.clone(),
        };

        // Flow logs of all traffic to an encrypted, retained log group.
        let group = LogGroup::new(
            &me,
            "FlowLogs",
            LogGroupProps {
                retention_days: props.flow_log_retention_days,
                ..LogGroupProps::new(props.flow_log_key.clone())
            },
        )?;
        let role = Role::new(
            &me,
            "FlowLogsRole",
            RoleProps {
                assumed_by: "vpc-flow-logs.amazonaws.com".to_owned(),
                description: Some("delivers VPC flow logs".to_owned()),
            },
        )?;
        role.add_statement(statement(
            &[
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            vec![group.arn().to_json()],
        ));
        me.child("FlowLogs")?.add_resource(
            "FlowLog",
            "AWS::EC2::FlowLog",
            json!({
                "ResourceId": vpc.reference(),
                "ResourceType": "VPC",
                "TrafficType": "ALL",
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": group.name(),
                "DeliverLogsPermissionArn": role.arn(),
            }),
        )?;

        let inner_rts: Vec<Json> = route_tables
            .iter()
            .filter(|(t, _)| *t != SubnetType::Public)
            .map(|(_, rt)| rt.reference().to_json())
            .collect();
        if props.gateway_endpoints {
            for svc in ["s3", "dynamodb"] {
                me.add_resource(
                    &format!("{}Endpoint", capitalize(svc)),
                    "AWS::EC2::VPCEndpoint",
                    json!({
                        "VpcId": vpc.reference(),
                        "ServiceName": {"Fn::Sub": format!("com.amazonaws.${{AWS::Region}}.{svc}")},
                        "VpcEndpointType": "Gateway",
                        "RouteTableIds": inner_rts,
                    }),
                )?;
            }
        }
        if !props.interface_endpoints.is_empty() {
            let sg = SecurityGroup::new(
                &me,
                "EndpointSecurityGroup",
                SecurityGroupProps::new(&this, "HTTPS from the VPC to interface endpoints"),
            )?;
            sg.add_ingress(
                Peer::VpcCidr(Box::new(this.clone())),
                443,
                "HTTPS from inside the VPC",
            )?;
            for svc in &props.interface_endpoints {
                if svc.is_empty()
                    || !svc.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                    })
                {
                    return Err(bad(
                        "interface_endpoints",
                        format!("service names are short names like \"sqs\", got {svc:?}"),
                    ));
                }
                let name: String = svc.split(['-', '.']).map(capitalize).collect();
                me.add_resource(
                    &format!("{name}Endpoint"),
                    "AWS::EC2::VPCEndpoint",
                    json!({
                        "VpcId": vpc.reference(),
                        "ServiceName": {"Fn::Sub": format!("com.amazonaws.${{AWS::Region}}.{svc}")},
                        "VpcEndpointType": "Interface",
                        "PrivateDnsEnabled": true,
                        "SubnetIds": this.subnet_ids(SubnetType::Private)?,
                        "SecurityGroupIds": [sg.id()],
                    }),
                )?;
            }
        }
        if let Some(vpn) = &props.vpn {
            if vpn.customer_gateway_ips.is_empty() {
                return Err(bad(
                    "vpn",
                    "needs at least one customer gateway IP (two for HA)".to_owned(),
                ));
            }
            let vgw = me.add_resource(
                "VpnGateway",
                "AWS::EC2::VPNGateway",
                json!({"Type": "ipsec.1"}),
            )?;
            let vgw_attach = me.add_resource(
                "VpnGatewayAttachment",
                "AWS::EC2::VPCGatewayAttachment",
                json!({
                    "VpcId": vpc.reference(), "VpnGatewayId": vgw.reference(),
                }),
            )?;
            let prop = me.add_resource(
                "VpnRoutePropagation",
                "AWS::EC2::VPNGatewayRoutePropagation",
                json!({
                    "RouteTableIds": inner_rts, "VpnGatewayId": vgw.reference(),
                }),
            )?;
            prop.add_depends_on(&vgw_attach);
            for (i, ip) in vpn.customer_gateway_ips.iter().enumerate() {
                if parse_cidr(&format!("{ip}/32")).is_none() {
                    return Err(bad(
                        "vpn",
                        format!("customer gateway IPs must be IPv4 addresses, got {ip:?}"),
                    ));
                }
                let cgw_scope = me.child(&format!("Vpn{}", i + 1))?;
                let cgw = cgw_scope.add_resource(
                    "CustomerGateway",
                    "AWS::EC2::CustomerGateway",
                    json!({
                        "Type": "ipsec.1", "BgpAsn": vpn.bgp_asn, "IpAddress": ip,
                    }),
                )?;
                cgw_scope.add_resource(
                    "Connection",
                    "AWS::EC2::VPNConnection",
                    json!({
                        "Type": "ipsec.1",
                        "CustomerGatewayId": cgw.reference(),
                        "VpnGatewayId": vgw.reference(),
                        "StaticRoutesOnly": false,
                    }),
                )?;
            }
        }
        Ok(this)
    }

    /// The VPC's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The VPC id.
    pub fn id(&self) -> Token {
        self.resource.reference()
    }

    /// The VPC's CIDR block.
    pub fn cidr(&self) -> Token {
        self.resource.get_att("CidrBlock")
    }

    /// The subnet ids of a tier, one per AZ.
    pub fn subnet_ids(&self, tier: SubnetType) -> Result<Vec<Json>, SynthError> {
        let ids: Vec<Json> = self
            .subnets
            .iter()
            .filter(|(t, _)| *t == tier)
            .map(|(_, s)| s.reference().to_json())
            .collect();
        if ids.is_empty() {
            return Err(SynthError::InvalidProps {
                path: self.scope.path().to_owned(),
                field: "subnets",
                message: format!("the VPC has no {tier:?} subnets"),
            });
        }
        Ok(ids)
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The other side of a security group rule.
#[derive(Debug, Clone)]
pub enum Peer {
    /// An IPv4 block.
    Cidr(String),
    /// Members of a security group.
    SecurityGroup(Box<SecurityGroup>),
    /// Anything in the VPC's own block.
    VpcCidr(Box<Vpc>),
}

/// Props of [`SecurityGroup`].
#[derive(Debug, Clone)]
pub struct SecurityGroupProps {
    /// The VPC. Required.
    pub vpc: Vpc,
    /// What the group is for. Required (compliance rule EC27).
    pub description: String,
    /// Egress: HTTPS to anywhere (AWS APIs through NAT, Twilio). Default: on; off leaves no
    /// egress at all until rules are added.
    pub allow_https_egress: bool,
    /// Accept ingress from `0.0.0.0/0`. Default: off: [`SecurityGroup::add_ingress`] refuses it.
    pub allow_internet_ingress: bool,
}

impl SecurityGroupProps {
    /// Props with the defaults.
    pub fn new(vpc: &Vpc, description: &str) -> Self {
        Self {
            vpc: vpc.clone(),
            description: description.to_owned(),
            allow_https_egress: true,
            allow_internet_ingress: false,
        }
    }
}

/// A security group whose every rule has a description.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    resource: ResourceRef,
    allow_internet_ingress: bool,
}

impl SecurityGroup {
    /// A security group `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: SecurityGroupProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.description.trim().is_empty() {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "description",
                message: "must say what the group is for".to_owned(),
            });
        }
        let egress = if props.allow_https_egress {
            json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs and partners"}])
        } else {
            // CloudFormation adds allow-all egress when the list is empty; this rule matches
            // nothing (ICMP type 252 code 86 to a documentation address), as CDK does.
            json!([{"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32", "Description": "no egress"}])
        };
        let resource = me.add_resource(
            "Resource",
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": props.description,
                "VpcId": props.vpc.id(),
                "SecurityGroupEgress": egress,
            }),
        )?;
        Ok(Self {
            resource,
            allow_internet_ingress: props.allow_internet_ingress,
        })
    }

    /// The group's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The group id.
    pub fn id(&self) -> Token {
        self.resource.get_att("GroupId")
    }

    /// Allows TCP `port` from `peer`.
    pub fn add_ingress(&self, peer: Peer, port: u16, description: &str) -> Result<(), SynthError> {
        if description.trim().is_empty() {
            return Err(SynthError::InvalidProps {
                path: self.resource.scope().path().to_owned(),
                field: "description",
                message: format!("ingress rule on port {port} needs a description"),
            });
        }
        let mut rule = json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "Description": description});
        match peer {
            Peer::Cidr(c) => {
                if c == "0.0.0.0/0" && !self.allow_internet_ingress {
                    return Err(SynthError::InvalidProps {
                        path: self.resource.scope().path().to_owned(),
                        field: "ingress",
                        message: format!(
                            "port {port} from 0.0.0.0/0 opens the group to the internet\nhint: set allow_internet_ingress: true if that is intended"
                        ),
                    });
                }
                rule["CidrIp"] = json!(c);
            }
            Peer::VpcCidr(v) => rule["CidrIp"] = v.cidr().to_json(),
            Peer::SecurityGroup(g) => {
                // A separate rule resource: two groups referencing each other inline would be
                // a circular dependency.
                rule["GroupId"] = self.id().to_json();
                rule["SourceSecurityGroupId"] = g.id().to_json();
                let scope = self.resource.scope().parent();
                let id = format!("From{}{port}", g.resource.logical_id());
                scope.add_resource(&id, "AWS::EC2::SecurityGroupIngress", rule)?;
                return Ok(());
            }
        }
        self.resource.with_entry(|e| {
            if let Some(obj) = e.properties.as_object_mut() {
                let list = obj
                    .entry("SecurityGroupIngress")
                    .or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(rule);
                }
            }
        });
        Ok(())
    }
}
