//! The moto-compatible variant of a synthesized template.
//!
//! moto 5.2.1 (pinned by scripts/env.sh; 5.2.5 checked, same gaps) implements about 40 % of
//! the resource types the bank uses in CloudFormation and a few intrinsics and attributes not
//! at all. The deploy engine is exercised on the whole bank app anyway, with each gap bridged
//! here and only here; the real templates are judged by cfn-lint and our own checks, never by
//! moto, and are never changed for it. Each rule names the moto gap it bridges:
//!
//! - a resource type moto's CloudFormation has no model for (a `parse_resource` warning, then
//!   a crash on the first `Fn::GetAtt`) becomes an `AWS::SSM::Parameter` stand-in that keeps
//!   the logical id, the ordering (`DependsOn` on whatever the original referenced) and the
//!   `DeletionPolicy`, so deploy and destroy see the same graph; `Fn::GetAtt` on a stand-in is
//!   a synthetic ARN;
//! - a VPC's parts whose deletion moto's CloudFormation does not implement (endpoints, NAT and
//!   internet gateways, route tables and routes, the VPN gateway, flow logs, ingress rules)
//!   would outlive their stack and block the VPC's deletion: stand-ins too;
//! - moto's ELBv2 model accepts only HTTP/HTTPS listeners, and its API Gateway deployment
//!   fails on a REST API defined by an OpenAPI `Body`: those become stand-ins as well;
//! - a certificate is issued in moto's ACM beforehand (ACM has no CloudFormation model there)
//!   and references to it get that ARN, because load balancers check it exists;
//! - `Ref` to a Lambda alias (no model) is the function it points to;
//! - `Fn::GetAtt` of `QueueUrl`, `KeyId` and `DBInstanceArn` (not implemented by moto) become
//!   what AWS documents them to equal: `Ref` of the queue, `Ref` of the key, the instance ARN;
//! - `Fn::Cidr` (not implemented) is evaluated here, from the VPC's literal `CidrBlock`;
//! - `Fn::GetStackOutput` (not implemented) is resolved from the producing stack's deployed
//!   outputs, so a consumer can only be rewritten once its producer is deployed;
//! - KMS key tags and SSM parameter tag maps crash moto's tagging: dropped or listed;
//! - a cross-region read replica (`SourceDBInstanceIdentifier`) lands in the source region's
//!   RDS backend and cannot be deleted through moto's CloudFormation (DeleteStack answers 500):
//!   a stand-in.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde_json::{Value, json};

/// Resource types that moto 5.2.1 creates through CloudFormation but never deletes (no
/// `delete` nor `delete_from_cloudformation_json` on the model), all inside a VPC.
pub const MOTO_NEVER_DELETES: &[&str] = &[
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPNGateway",
    "AWS::EC2::FlowLog",
    "AWS::EC2::SecurityGroupIngress",
];

/// Resource types of the bank app that moto 5.2.1's CloudFormation has no model for
/// (`moto.cloudformation.parsing.get_model_map()`).
pub const MOTO_HAS_NO_MODEL: &[&str] = &[
    "AWS::CloudWatch::Alarm",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SecretsManager::Secret",
    "AWS::SNS::TopicPolicy",
    "AWS::CertificateManager::Certificate",
    "AWS::SNS::Subscription",
    "AWS::Logs::MetricFilter",
    "AWS::Lambda::Alias",
    "AWS::EC2::VPNConnection",
    "AWS::EC2::CustomerGateway",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::IAM::Group",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::KMS::ReplicaKey",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::EC2::VPNGatewayRoutePropagation",
    "AWS::DynamoDB::GlobalTable",
    "AWS::Config::ConfigRule",
    "AWS::Athena::WorkGroup",
    "AWS::ApiGateway::VpcLink",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGateway::ApiKey",
    "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::CloudTrail::Trail",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::Distribution",
];

/// Deployed outputs: (region, stack name) -> output name -> value.
pub type Outputs = BTreeMap<(String, String), BTreeMap<String, String>>;

/// Certificates issued in moto's ACM: (region, domain name) -> ARN.
pub type Certificates = BTreeMap<(String, String), String>;

/// Why a template cannot be made moto-compatible yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// A `Fn::GetStackOutput` whose stack is not deployed yet.
    Output {
        /// Producing stack.
        stack: String,
        /// Its region.
        region: String,
    },
    /// A certificate not issued beforehand.
    Certificate(String),
}

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Output { stack, region } => {
                write!(f, "waits for the outputs of {stack} ({region})")
            }
            Pending::Certificate(domain) => write!(f, "no certificate issued for {domain}"),
        }
    }
}

/// A resource that becomes a stand-in.
pub fn needs_stand_in(resource: &Value) -> bool {
    let ty = resource["Type"].as_str().unwrap_or_default();
    MOTO_HAS_NO_MODEL.contains(&ty)
        || MOTO_NEVER_DELETES.contains(&ty)
        || ty == "AWS::ApiGateway::Deployment"
        || (ty == "AWS::RDS::DBInstance"
            && resource["Properties"]
                .get("SourceDBInstanceIdentifier")
                .is_some())
        || (ty == "AWS::ElasticLoadBalancingV2::Listener"
            && matches!(
                resource["Properties"]["Protocol"].as_str(),
                Some("TCP" | "TLS" | "UDP" | "TCP_UDP")
            ))
}

/// Every certificate a template declares: (logical id, domain name).
pub fn certificates(template: &Value) -> Vec<(String, String)> {
    resources(template)
        .filter(|(_, r)| r["Type"] == "AWS::CertificateManager::Certificate")
        .filter_map(|(id, r)| {
            r["Properties"]["DomainName"]
                .as_str()
                .map(|d| (id.clone(), d.to_owned()))
        })
        .collect()
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.iter())
}

struct Rewriter<'a> {
    region: &'a str,
    resources: &'a serde_json::Map<String, Value>,
    stand_ins: BTreeSet<String>,
    outputs: &'a Outputs,
    certificates: &'a Certificates,
}

impl Rewriter<'_> {
    fn ty(&self, id: &str) -> &str {
        self.resources
            .get(id)
            .and_then(|r| r["Type"].as_str())
            .unwrap_or_default()
    }

    fn certificate(&self, id: &str) -> Result<Value, Pending> {
        let domain = self.resources[id]["Properties"]["DomainName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.certificates
            .get(&(self.region.to_owned(), domain.clone()))
            .map(|arn| json!(arn))
            .ok_or(Pending::Certificate(domain))
    }

    fn fix(&self, v: &Value) -> Result<Value, Pending> {
        match v {
            Value::Array(items) => items.iter().map(|x| self.fix(x)).collect(),
            Value::Object(map) => {
                if map.len() == 1
                    && let Some(r) = self.intrinsic(map)?
                {
                    return Ok(r);
                }
                map.iter()
                    .map(|(k, x)| Ok((k.clone(), self.fix(x)?)))
                    .collect::<Result<serde_json::Map<_, _>, _>>()
                    .map(Value::Object)
            }
            other => Ok(other.clone()),
        }
    }

    fn intrinsic(&self, map: &serde_json::Map<String, Value>) -> Result<Option<Value>, Pending> {
        if let Some(target) = map.get("Ref").and_then(Value::as_str) {
            if self.stand_ins.contains(target) {
                return match self.ty(target) {
                    "AWS::CertificateManager::Certificate" => self.certificate(target).map(Some),
                    "AWS::Lambda::Alias" => self
                        .fix(&self.resources[target]["Properties"]["FunctionName"])
                        .map(Some),
                    _ => Ok(None),
                };
            }
            return Ok(None);
        }
        if let Some(att) = map.get("Fn::GetAtt") {
            let (id, attr) = match att {
                Value::Array(a) if a.len() == 2 => (
                    a[0].as_str().unwrap_or_default().to_owned(),
                    a[1].as_str().unwrap_or_default().to_owned(),
                ),
                Value::String(s) => match s.split_once('.') {
                    Some((i, a)) => (i.to_owned(), a.to_owned()),
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            if self.stand_ins.contains(&id) {
                if self.ty(&id) == "AWS::CertificateManager::Certificate" {
                    return self.certificate(&id).map(Some);
                }
                return Ok(Some(json!({
                    "Fn::Sub": format!("arn:aws:standin:${{AWS::Region}}:${{AWS::AccountId}}:{id}/{attr}")
                })));
            }
            return Ok(match (self.ty(&id), attr.as_str()) {
                ("AWS::SQS::Queue", "QueueUrl") | ("AWS::KMS::Key", "KeyId") => {
                    Some(json!({ "Ref": id }))
                }
                ("AWS::RDS::DBInstance", "DBInstanceArn") => Some(json!({
                    "Fn::Sub": format!("arn:aws:rds:${{AWS::Region}}:${{AWS::AccountId}}:db:${{{id}}}")
                })),
                _ => None,
            });
        }
        if let Some(Value::Array(sel)) = map.get("Fn::Select")
            && let [index, Value::Object(inner)] = sel.as_slice()
            && let Some(Value::Array(cidr)) = inner.get("Fn::Cidr")
        {
            return Ok(self.select_cidr(index, cidr));
        }
        if let Some(gso) = map.get("Fn::GetStackOutput") {
            let stack = gso["StackName"].as_str().unwrap_or_default().to_owned();
            let region = gso["Region"].as_str().unwrap_or(self.region).to_owned();
            let output = gso["OutputName"].as_str().unwrap_or_default();
            let pending = Pending::Output {
                stack: stack.clone(),
                region: region.clone(),
            };
            let value = self
                .outputs
                .get(&(region, stack))
                .ok_or(pending)?
                .get(output)
                .unwrap_or_else(|| panic!("{gso} names an output its stack does not have"));
            return Ok(Some(json!(value)));
        }
        Ok(None)
    }

    /// `Fn::Select [i, Fn::Cidr [block, count, bits]]` with the block a literal or the
    /// `CidrBlock` of a VPC of this template.
    fn select_cidr(&self, index: &Value, cidr: &[Value]) -> Option<Value> {
        let [block, _count, bits] = cidr else {
            return None;
        };
        let block = match block {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                let id = o.get("Fn::GetAtt")?.get(0)?.as_str()?;
                self.resources.get(id)?["Properties"]["CidrBlock"]
                    .as_str()?
                    .to_owned()
            }
            _ => return None,
        };
        let number = |v: &Value| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        let (index, bits) = (number(index)?, number(bits)?);
        let (addr, _) = block.split_once('/')?;
        let base = u32::from(addr.parse::<Ipv4Addr>().ok()?);
        let start = base.checked_add(u32::try_from(index.checked_mul(1 << bits)?).ok()?)?;
        Some(json!(format!("{}/{}", Ipv4Addr::from(start), 32 - bits)))
    }
}

fn referenced(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("Ref") {
                out.insert(r.clone());
            }
            match m.get("Fn::GetAtt") {
                Some(Value::Array(a)) => {
                    if let Some(Value::String(id)) = a.first() {
                        out.insert(id.clone());
                    }
                }
                Some(Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap_or_default().to_owned());
                }
                _ => {}
            }
            m.values().for_each(|x| referenced(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| referenced(x, out)),
        _ => {}
    }
}

/// The moto-compatible variant of `template` (deployed in `region`), or what it still waits
/// for.
pub fn variant(
    template: &Value,
    region: &str,
    outputs: &Outputs,
    certificates: &Certificates,
) -> Result<Value, Pending> {
    let empty = serde_json::Map::new();
    let res = template["Resources"].as_object().unwrap_or(&empty);
    let rw = Rewriter {
        region,
        resources: res,
        stand_ins: res
            .iter()
            .filter(|(_, r)| needs_stand_in(r))
            .map(|(k, _)| k.clone())
            .collect(),
        outputs,
        certificates,
    };
    let mut out = serde_json::Map::new();
    for (id, r) in res {
        if rw.stand_ins.contains(id) {
            let mut refs = BTreeSet::new();
            referenced(&r["Properties"], &mut refs);
            if let Some(d) = r.get("DependsOn") {
                match d {
                    Value::String(s) => {
                        refs.insert(s.clone());
                    }
                    Value::Array(a) => {
                        refs.extend(a.iter().filter_map(|x| x.as_str()).map(str::to_owned))
                    }
                    _ => {}
                }
            }
            let deps: Vec<&String> = refs
                .iter()
                .filter(|x| res.contains_key(*x) && *x != id)
                .collect();
            let mut s = json!({
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": {"Fn::Sub": format!("/moto-stand-in/${{AWS::StackName}}/{id}")},
                    "Type": "String",
                    "Value": format!("stand-in for {}", r["Type"].as_str().unwrap_or_default()),
                },
            });
            if !deps.is_empty() {
                s["DependsOn"] = json!(deps);
            }
            // Snapshot is for stores with snapshots; a parameter under it is deleted.
            for key in ["DeletionPolicy", "UpdateReplacePolicy", "Condition"] {
                if let Some(v) = r.get(key).filter(|v| *v != "Snapshot") {
                    s[key] = v.clone();
                }
            }
            out.insert(id.clone(), s);
            continue;
        }
        let mut r = rw.fix(r)?;
        let ty = r["Type"].as_str().unwrap_or_default().to_owned();
        let props = &mut r["Properties"];
        match Some(ty.as_str()) {
            Some("AWS::KMS::Key") => {
                props.as_object_mut().map(|p| p.remove("Tags"));
            }
            Some("AWS::SSM::Parameter") => {
                if let Some(Value::Object(tags)) = props.get("Tags") {
                    let list: Vec<Value> = tags
                        .iter()
                        .map(|(k, v)| json!({"Key": k, "Value": v}))
                        .collect();
                    props["Tags"] = json!(list);
                }
            }
            _ => {}
        }
        out.insert(id.clone(), r);
    }
    let mut t = template.clone();
    t["Resources"] = Value::Object(out);
    if let Some(o) = template.get("Outputs") {
        t["Outputs"] = rw.fix(o)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_selection_matches_aws_semantics() {
        let t = json!({"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}},
            "S": {"Type": "AWS::EC2::Subnet", "Properties": {"CidrBlock": {"Fn::Select": [2, {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 16, "12"]}]}}}}});
        let v = variant(&t, "us-east-1", &Outputs::new(), &Certificates::new()).unwrap();
        assert_eq!(
            v["Resources"]["S"]["Properties"]["CidrBlock"],
            "10.20.32.0/20"
        );
    }
}
