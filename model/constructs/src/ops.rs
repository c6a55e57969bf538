//! Security and operations: CloudTrail, AWS Config rules, EventBridge rules, alarms, dashboards.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::error::SynthError;
use crate::kms::Key;
use crate::lambda::Function;
use crate::s3::Bucket;
use crate::sns::Topic;
use crate::sqs::Queue;
use crate::tree::{ResourceRef, Scope, Token};

/// Props of [`Trail`].
#[derive(Debug, Clone)]
pub struct TrailProps {
    /// The bucket receiving the logs. Required.
    pub bucket: Bucket,
    /// The key encrypting the logs. Required (rule Banca-CT1).
    pub encryption_key: Key,
}

/// A multi-region CloudTrail trail with log-file validation and global service events.
#[derive(Debug, Clone)]
pub struct Trail {
    resource: ResourceRef,
}

impl Trail {
    /// A trail `id` under `scope`; adds the bucket and key policy statements CloudTrail needs.
    pub fn new(scope: &Scope, id: &str, props: TrailProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let trail_arn = json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{}-{id}", me.stack_name()?)});
        let cond = json!({"StringEquals": {"aws:SourceArn": trail_arn}});
        props.bucket.add_to_resource_policy(json!({
            "Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl", "Resource": props.bucket.arn(), "Condition": cond,
        }));
        props.bucket.add_to_resource_policy(json!({
            "Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": {"Fn::Join": ["", [props.bucket.arn(), "/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"]]},
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}},
        }));
        props.encryption_key.allow_service(
            "cloudtrail.amazonaws.com",
            &["kms:GenerateDataKey", "kms:DescribeKey", "kms:Decrypt"],
            Some(json!({"StringEquals": {"aws:SourceArn": trail_arn}})),
        );
        let resource = me.add_resource(
            "Resource",
            "AWS::CloudTrail::Trail",
            json!({
                "TrailName": format!("{}-{id}", me.stack_name()?),
                "IsLogging": true,
                "IsMultiRegionTrail": true,
                "IncludeGlobalServiceEvents": true,
                "EnableLogFileValidation": true,
                "S3BucketName": props.bucket.name(),
                "KMSKeyId": props.encryption_key.arn(),
            }),
        )?;
        Ok(Self { resource })
    }

    /// The trail's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}

/// Where an EventBridge rule delivers.
#[derive(Debug, Clone)]
pub enum EventTarget {
    /// A topic (its policy and key are extended for EventBridge).
    Topic(Box<Topic>),
    /// A function (a permission is added).
    Function(Box<Function>),
    /// A queue (its policy is extended).
    Queue(Box<Queue>),
}

/// Props of [`EventRule`].
#[derive(Debug, Clone)]
pub struct EventRuleProps {
    /// The event pattern, e.g. `{"source": ["aws.health"]}`. Required.
    pub pattern: Json,
    /// Targets, 1..=5.
    pub targets: Vec<EventTarget>,
    /// Shown in the console.
    pub description: String,
}

/// An EventBridge rule on the default bus.
#[derive(Debug, Clone)]
pub struct EventRule {
    resource: ResourceRef,
}

impl EventRule {
    /// A rule `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: EventRuleProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.pattern.as_object().is_none_or(|m| m.is_empty()) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "pattern",
                message: format!("must be a non-empty JSON object, got {}", props.pattern),
            });
        }
        if !(1..=5).contains(&props.targets.len()) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "targets",
                message: format!("must have 1..=5 targets, got {}", props.targets.len()),
            });
        }
        let targets: Vec<Json> = props
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let arn = match t {
                    EventTarget::Topic(x) => x.arn(),
                    EventTarget::Function(x) => x.arn(),
                    EventTarget::Queue(x) => x.arn(),
                };
                json!({"Id": format!("target{i}"), "Arn": arn})
            })
            .collect();
        let resource = me.add_resource("Resource", "AWS::Events::Rule", json!({
            "Description": props.description, "State": "ENABLED", "EventPattern": props.pattern, "Targets": targets,
        }))?;
        for (i, t) in props.targets.iter().enumerate() {
            match t {
                EventTarget::Topic(x) => x.allow_service_publish("events.amazonaws.com"),
                EventTarget::Function(f) => {
                    f.add_permission(&format!("{id}Permission{i}"), "events.amazonaws.com", resource.get_att("Arn").to_json())?;
                }
                EventTarget::Queue(q) => q.add_to_resource_policy(json!({
                    "Sid": format!("AllowRule{}", resource.logical_id()), "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": q.arn(),
                    "Condition": {"ArnEquals": {"aws:SourceArn": resource.get_att("Arn")}},
                })),
            }
        }
        Ok(Self { resource })
    }

    /// The rule's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}

/// Props of [`ConfigRule`].
#[derive(Debug, Clone)]
pub struct ConfigRuleProps {
    /// The managed rule identifier, e.g. `ACM_CERTIFICATE_EXPIRATION_CHECK`. Required.
    pub identifier: String,
    /// Its parameters, e.g. `{"daysToExpiration": "35"}`. Default: none.
    pub input_parameters: BTreeMap<String, String>,
    /// Resource types in scope, e.g. `AWS::ACM::Certificate`. Default: the rule's own.
    pub resource_types: Vec<String>,
    /// A topic notified when a resource becomes NON_COMPLIANT. Unset: none.
    pub notify: Option<Topic>,
}

/// An AWS Config managed rule (needs the account's configuration recorder, which the
/// landing zone owns).
#[derive(Debug, Clone)]
pub struct ConfigRule {
    resource: ResourceRef,
}

impl ConfigRule {
    /// A rule `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: ConfigRuleProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.identifier.is_empty()
            || !props
                .identifier
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "identifier",
                message: format!(
                    "must be a managed rule identifier like ACM_CERTIFICATE_EXPIRATION_CHECK, got {:?}",
                    props.identifier
                ),
            });
        }
        let name = format!("{}-{id}", me.stack_name()?);
        let mut p = json!({
            "ConfigRuleName": name,
            "Source": {"Owner": "AWS", "SourceIdentifier": props.identifier},
        });
        if !props.input_parameters.is_empty() {
            p["InputParameters"] = json!(props.input_parameters);
        }
        if !props.resource_types.is_empty() {
            p["Scope"] = json!({"ComplianceResourceTypes": props.resource_types});
        }
        let resource = me.add_resource("Resource", "AWS::Config::ConfigRule", p)?;
        if let Some(t) = props.notify {
            EventRule::new(
                &me,
                "NonCompliant",
                EventRuleProps {
                    pattern: json!({"source": ["aws.config"], "detail-type": ["Config Rules Compliance Change"],
                    "detail": {"configRuleName": [name], "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}}}),
                    targets: vec![EventTarget::Topic(Box::new(t))],
                    description: format!("{} reports NON_COMPLIANT", props.identifier),
                },
            )?;
        }
        Ok(Self { resource })
    }

    /// The rule's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}

/// A CloudWatch metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Namespace, e.g. `AWS/SQS`.
    pub namespace: String,
    /// Metric name.
    pub name: String,
    /// Dimensions (values may be tokens).
    pub dimensions: BTreeMap<String, Json>,
    /// Statistic: `Sum`, `Average`, `Maximum`, ...
    pub statistic: String,
    /// Period in seconds (60 or a multiple).
    pub period_secs: u32,
}

impl Metric {
    /// A metric with one dimension, `Sum` over 60 s.
    pub fn new(namespace: &str, name: &str, dimension: (&str, Json)) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: BTreeMap::from([(dimension.0.to_owned(), dimension.1)]),
            statistic: "Sum".to_owned(),
            period_secs: 60,
        }
    }
}

/// Props of [`Alarm`].
#[derive(Debug, Clone)]
pub struct AlarmProps {
    /// The metric. Required.
    pub metric: Metric,
    /// The threshold.
    pub threshold: f64,
    /// `GreaterThanThreshold`, `GreaterThanOrEqualToThreshold`, `LessThanThreshold`, ...
    pub comparison: String,
    /// Periods evaluated. Default: 1.
    pub evaluation_periods: u32,
    /// Topic notified on ALARM and OK. Required: an alarm nobody hears is noise.
    pub topic: Topic,
    /// What it means and what to do.
    pub description: String,
}

/// The comparison operators CloudWatch accepts.
pub const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

/// A CloudWatch alarm; missing data is not breaching.
#[derive(Debug, Clone)]
pub struct Alarm {
    resource: ResourceRef,
}

impl Alarm {
    /// An alarm `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: AlarmProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !COMPARISONS.contains(&props.comparison.as_str()) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "comparison",
                message: format!("must be one of {COMPARISONS:?}, got {:?}", props.comparison),
            });
        }
        if props.metric.period_secs == 0 || !props.metric.period_secs.is_multiple_of(60) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "metric.period_secs",
                message: format!("must be a multiple of 60, got {}", props.metric.period_secs),
            });
        }
        props
            .topic
            .allow_service_publish("cloudwatch.amazonaws.com");
        let m = &props.metric;
        let resource = me.add_resource("Resource", "AWS::CloudWatch::Alarm", json!({
            "AlarmDescription": props.description,
            "Namespace": m.namespace, "MetricName": m.name,
            "Dimensions": m.dimensions.iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect::<Vec<_>>(),
            "Statistic": m.statistic, "Period": m.period_secs,
            "Threshold": props.threshold, "ComparisonOperator": props.comparison,
            "EvaluationPeriods": props.evaluation_periods.max(1),
            "TreatMissingData": "notBreaching",
            "AlarmActions": [props.topic.arn()], "OKActions": [props.topic.arn()],
        }))?;
        Ok(Self { resource })
    }

    /// The alarm's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The alarm's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }
}

/// A dashboard widget (24 columns wide grid).
#[derive(Debug, Clone)]
pub enum Widget {
    /// Markdown text.
    Text {
        /// The markdown.
        markdown: String,
    },
    /// A line graph of metrics.
    Graph {
        /// Title.
        title: String,
        /// Metrics.
        metrics: Vec<Metric>,
    },
    /// An alarm's status.
    AlarmStatus {
        /// Title.
        title: String,
        /// Alarms.
        alarms: Vec<Alarm>,
    },
}

/// A CloudWatch dashboard whose body is built from typed widgets (valid JSON by
/// construction; tokens go in through `Fn::Sub` variables).
#[derive(Debug, Clone)]
pub struct Dashboard {
    resource: ResourceRef,
}

impl Dashboard {
    /// A dashboard `id` under `scope`, widgets stacked two per row.
    pub fn new(scope: &Scope, id: &str, widgets: Vec<Widget>) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if widgets.is_empty() || widgets.len() > 500 {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "widgets",
                message: format!("must have 1..=500 widgets, got {}", widgets.len()),
            });
        }
        let mut vars = Map::new();
        let mut var = |v: Json| -> String {
            let name = format!("v{}", vars.len());
            vars.insert(name.clone(), v);
            format!("${{{name}}}")
        };
        let mut out = Vec::new();
        for (i, w) in widgets.iter().enumerate() {
            let (x, y) = ((i % 2) * 12, (i / 2) * 6);
            let widget = match w {
                Widget::Text { markdown } => {
                    json!({"type": "text", "x": x, "y": y, "width": 12, "height": 6, "properties": {"markdown": markdown.replace("${", "${!")}})
                }
                Widget::Graph { title, metrics } => {
                    let ms: Vec<Json> = metrics
                        .iter()
                        .map(|m| {
                            let mut row = vec![json!(m.namespace), json!(m.name)];
                            for (k, v) in &m.dimensions {
                                row.push(json!(k));
                                row.push(match v {
                                    Json::String(s) => json!(s),
                                    other => json!(var(other.clone())),
                                });
                            }
                            row.push(json!({"stat": m.statistic, "period": m.period_secs}));
                            Json::Array(row)
                        })
                        .collect();
                    json!({"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {"title": title, "view": "timeSeries", "region": "${AWS::Region}", "metrics": ms}})
                }
                Widget::AlarmStatus { title, alarms } => {
                    let arns: Vec<String> = alarms.iter().map(|a| var(a.arn().to_json())).collect();
                    json!({"type": "alarm", "x": x, "y": y, "width": 12, "height": 6, "properties": {"title": title, "alarms": arns}})
                }
            };
            out.push(widget);
        }
        let body = json!({"widgets": out}).to_string();
        let resource = me.add_resource(
            "Resource",
            "AWS::CloudWatch::Dashboard",
            json!({
                "DashboardName": format!("{}-{id}", me.stack_name()?),
                "DashboardBody": {"Fn::Sub": [body, vars]},
            }),
        )?;
        Ok(Self { resource })
    }

    /// The dashboard's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}
