//! WAF web ACLs: a rate-based rule, AWS managed rule groups, logging.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};
use crate::tree::{ResourceRef, Scope, Token};

/// Where the ACL applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WafScope {
    /// API Gateway, ALB (the stack's region).
    Regional,
    /// CloudFront (the stack must be in us-east-1).
    CloudFront,
}

/// Props of [`WebAcl`].
#[derive(Debug, Clone)]
pub struct WebAclProps {
    /// Regional or CloudFront.
    pub scope: WafScope,
    /// Requests per 5 minutes per IP before blocking, 10..=2000000000. Default: 1000.
    pub rate_limit: u32,
    /// AWS managed rule groups. Default: common rule set, known bad inputs, SQL injection,
    /// IP reputation.
    pub managed_rule_groups: Vec<String>,
    /// Key of the log group. Required: logging is always on.
    pub log_key: Key,
}

impl WebAclProps {
    /// Props with the defaults.
    pub fn new(scope: WafScope, log_key: Key) -> Self {
        Self {
            scope,
            rate_limit: 1000,
            managed_rule_groups: [
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesSQLiRuleSet",
                "AWSManagedRulesAmazonIpReputationList",
            ]
            .map(str::to_owned)
            .to_vec(),
            log_key,
        }
    }
}

/// A web ACL that allows by default and blocks by rate and managed rules, with logs.
#[derive(Debug, Clone)]
pub struct WebAcl {
    resource: ResourceRef,
}

fn visibility(name: &str) -> Json {
    json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": name})
}

impl WebAcl {
    /// A web ACL `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: WebAclProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.scope == WafScope::CloudFront && me.env()?.region != "us-east-1" {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "scope",
                message: format!(
                    "CloudFront web ACLs must be in us-east-1, got {}",
                    me.env()?.region
                ),
            });
        }
        if !(10..=2_000_000_000).contains(&props.rate_limit) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "rate_limit",
                message: format!("must be 10..=2000000000, got {}", props.rate_limit),
            });
        }
        let metric: String = me
            .path()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let mut rules = vec![json!({
            "Name": "rate-limit", "Priority": 0, "Action": {"Block": {}},
            "Statement": {"RateBasedStatement": {"Limit": props.rate_limit, "AggregateKeyType": "IP"}},
            "VisibilityConfig": visibility(&format!("{metric}RateLimit")),
        })];
        for (i, g) in props.managed_rule_groups.iter().enumerate() {
            rules.push(json!({
                "Name": g, "Priority": i + 1, "OverrideAction": {"None": {}},
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}},
                "VisibilityConfig": visibility(&format!("{metric}{g}")),
            }));
        }
        let resource = me.add_resource("Resource", "AWS::WAFv2::WebACL", json!({
            "Scope": match props.scope { WafScope::Regional => "REGIONAL", WafScope::CloudFront => "CLOUDFRONT" },
            "DefaultAction": {"Allow": {}},
            "Rules": rules,
            "VisibilityConfig": visibility(&metric),
        }))?;
        // WAF only logs to groups named aws-waf-logs-*.
        let group = LogGroup::new(
            &me,
            "Logs",
            LogGroupProps {
                log_group_name: Some(format!("aws-waf-logs-{}-{id}", me.stack_name()?)),
                ..LogGroupProps::new(props.log_key.clone())
            },
        )?;
        props.log_key.allow_service(
            "delivery.logs.amazonaws.com",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            None,
        );
        me.add_resource("Logging", "AWS::WAFv2::LoggingConfiguration", json!({
            "ResourceArn": resource.get_att("Arn"),
            "LogDestinationConfigs": [{"Fn::Sub": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}", {"Group": group.name()}]}],
        }))?;
        Ok(Self { resource })
    }

    /// The ACL's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The ACL's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }
}
