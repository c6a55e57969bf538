//! Lambda functions running Rust `bootstrap` binaries, and their event sources.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::ec2::{SecurityGroup, SubnetType, Vpc};
use crate::error::SynthError;
use crate::iam::{Grant, Grantable, Role, RoleProps, actions, grant, statement};
use crate::kms::{Key, KeyProps};
use crate::logs::{LogGroup, LogGroupProps};
use crate::s3::Bucket;
use crate::sqs::Queue;
use crate::tree::{LambdaAsset, ResourceRef, Scope, Token};

/// The runtime of banca's handlers: the Rust `bootstrap` on Amazon Linux 2023.
pub const RUNTIME: &str = "provided.al2023";

/// Where a function runs in a VPC.
#[derive(Debug, Clone)]
pub struct VpcPlacement {
    /// The VPC.
    pub vpc: Vpc,
    /// The subnet tier. Private (NAT egress) for functions calling the internet (Twilio),
    /// isolated for those that only use endpoints.
    pub subnets: SubnetType,
    /// Security groups. Empty: one is created, egress only.
    pub security_groups: Vec<SecurityGroup>,
}

/// Props of [`Function`].
#[derive(Debug, Clone)]
pub struct FunctionProps {
    /// The code zip. Required.
    pub asset: LambdaAsset,
    /// Memory in MB, 128..=10240. Default: 256.
    pub memory_mb: u32,
    /// Timeout in seconds, 1..=900. Default: 30.
    pub timeout_secs: u32,
    /// Environment variables (values may be tokens). Default: none. Secrets never go here: pass
    /// the secret's ARN and grant read.
    pub environment: BTreeMap<String, Json>,
    /// The key for environment variables and logs. Unset: a key is created for the function.
    pub encryption_key: Option<Key>,
    /// Log retention in days. Default: 365.
    pub log_retention_days: u32,
    /// X-Ray active tracing. Default: on.
    pub tracing: bool,
    /// VPC placement. Unset: not in a VPC (compliance rule off: only functions reaching private
    /// resources need one).
    pub vpc: Option<VpcPlacement>,
    /// Reserved concurrency (a cap that also protects the rest of the account). Unset: none.
    pub reserved_concurrency: Option<u32>,
    /// Provisioned concurrency on a `live` alias. Unset: none (and no alias).
    pub provisioned_concurrency: Option<u32>,
    /// Where failed asynchronous invocations go. Unset: none (SQS-triggered functions use the
    /// queue's DLQ instead).
    pub dead_letter_queue: Option<Queue>,
    /// Shown in the console. Unset: the construct path.
    pub description: Option<String>,
}

impl FunctionProps {
    /// Props with `asset` and the defaults.
    pub fn new(asset: LambdaAsset) -> Self {
        Self {
            asset,
            memory_mb: 256,
            timeout_secs: 30,
            environment: BTreeMap::new(),
            encryption_key: None,
            log_retention_days: 365,
            tracing: true,
            vpc: None,
            reserved_concurrency: None,
            provisioned_concurrency: None,
            dead_letter_queue: None,
            description: None,
        }
    }
}

/// A Lambda function with its role, log group, key and (optionally) alias.
#[derive(Debug, Clone)]
pub struct Function {
    resource: ResourceRef,
    role: Role,
    log_group: LogGroup,
    key: Key,
    alias: Option<ResourceRef>,
    scope: Scope,
    timeout_secs: u32,
}

impl Grantable for Function {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}

impl Function {
    /// A function `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: FunctionProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let bad = |field: &'static str, message: String| SynthError::InvalidProps {
            path: me.path().to_owned(),
            field,
            message,
        };
        if !(128..=10_240).contains(&props.memory_mb) {
            return Err(bad(
                "memory_mb",
                format!("must be 128..=10240, got {}", props.memory_mb),
            ));
        }
        if !(1..=900).contains(&props.timeout_secs) {
            return Err(bad(
                "timeout_secs",
                format!("must be 1..=900, got {}", props.timeout_secs),
            ));
        }
        let sha = &props.asset.sha256;
        if sha.len() != 64
            || !sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(
                "asset",
                format!("sha256 must be 64 lowercase hex digits, got {sha:?}"),
            ));
        }
        if let (Some(p), Some(r)) = (props.provisioned_concurrency, props.reserved_concurrency)
            && p > r
        {
            return Err(bad(
                "provisioned_concurrency",
                format!("{p} exceeds reserved_concurrency {r}"),
            ));
        }
        let key = match props.encryption_key {
            Some(k) => k,
            None => Key::new(&me, "Key", KeyProps::default())?,
        };
        let log_group = LogGroup::new(
            &me,
            "LogGroup",
            LogGroupProps {
                retention_days: props.log_retention_days,
                ..LogGroupProps::new(key.clone())
            },
        )?;
        let role = Role::new(
            &me,
            "Role",
            RoleProps {
                assumed_by: "lambda.amazonaws.com".to_owned(),
                description: Some(format!("execution role of {}", me.path())),
            },
        )?;
        role.add_statement(statement(
            actions::LOGS_WRITE,
            vec![log_group.arn().to_json()],
        ));
        if props.tracing {
            role.add_statement(statement(actions::XRAY_WRITE, vec![json!("*")]));
        }
        key.grant_decrypt(&role);
        let qualifier = me.app().qualifier();
        let mut p = json!({
            "Runtime": RUNTIME,
            "Handler": "bootstrap",
            "Architectures": ["arm64"],
            "Code": {
                "S3Bucket": {"Fn::Sub": format!("cdk-{qualifier}-assets-${{AWS::AccountId}}-${{AWS::Region}}")},
                "S3Key": props.asset.s3_key(),
            },
            "Role": role.arn(),
            "MemorySize": props.memory_mb,
            "Timeout": props.timeout_secs,
            "KmsKeyArn": key.arn(),
            "LoggingConfig": {"LogGroup": log_group.name(), "LogFormat": "JSON"},
            "Description": props.description.clone().unwrap_or_else(|| me.path().to_owned()),
        });
        if props.tracing {
            p["TracingConfig"] = json!({"Mode": "Active"});
        }
        if !props.environment.is_empty() {
            p["Environment"] = json!({"Variables": props.environment});
        }
        if let Some(r) = props.reserved_concurrency {
            p["ReservedConcurrentExecutions"] = json!(r);
        }
        if let Some(q) = &props.dead_letter_queue {
            p["DeadLetterConfig"] = json!({"TargetArn": q.arn()});
            q.grant_send(&role);
        }
        if let Some(v) = &props.vpc {
            let sgs = if v.security_groups.is_empty() {
                vec![SecurityGroup::new(
                    &me,
                    "SecurityGroup",
                    crate::ec2::SecurityGroupProps::new(
                        &v.vpc,
                        &format!("{} (egress only)", me.path()),
                    ),
                )?]
            } else {
                v.security_groups.clone()
            };
            p["VpcConfig"] = json!({
                "SubnetIds": v.vpc.subnet_ids(v.subnets)?,
                "SecurityGroupIds": sgs.iter().map(|s| s.id().to_json()).collect::<Vec<_>>(),
            });
            role.add_statement(statement(actions::EC2_VPC_ENI, vec![json!("*")]));
        }
        let resource = me.add_resource("Resource", "AWS::Lambda::Function", p)?;
        props
            .asset
            .handler
            .is_empty()
            .then_some(())
            .map_or(Ok(()), |()| {
                Err(bad("asset", "handler must not be empty".to_owned()))
            })?;
        me.add_asset(props.asset.clone())?;
        let alias = match props.provisioned_concurrency {
            Some(n) => {
                let version = me.add_resource(
                    "Version",
                    "AWS::Lambda::Version",
                    json!({
                        "FunctionName": resource.reference(),
                        "Description": format!("code {}", props.asset.sha256),
                    }),
                )?;
                Some(me.add_resource(
                    "Alias",
                    "AWS::Lambda::Alias",
                    json!({
                        "FunctionName": resource.reference(),
                        "FunctionVersion": version.get_att("Version"),
                        "Name": "live",
                        "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": n},
                    }),
                )?)
            }
            None => None,
        };
        Ok(Self {
            resource,
            role,
            log_group,
            key,
            alias,
            scope: me,
            timeout_secs: props.timeout_secs,
        })
    }

    /// The function's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The function's scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The ARN callers should invoke: the `live` alias when there is one, else the function.
    pub fn arn(&self) -> Token {
        match &self.alias {
            Some(a) => a.reference(),
            None => self.resource.get_att("Arn"),
        }
    }

    /// The `live` alias (present with provisioned concurrency).
    pub fn alias(&self) -> Option<&ResourceRef> {
        self.alias.as_ref()
    }

    /// The function's name.
    pub fn name(&self) -> Token {
        self.resource.reference()
    }

    /// The role.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The log group.
    pub fn log_group(&self) -> &LogGroup {
        &self.log_group
    }

    /// The key of its environment and logs.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The timeout in seconds.
    pub fn timeout_secs(&self) -> u32 {
        self.timeout_secs
    }

    /// Grants invoking this function.
    pub fn grant_invoke(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::LAMBDA_INVOKE,
            vec![self.arn().to_json()],
            None,
        )
    }

    /// Lets an AWS service invoke it, for one source ARN.
    pub fn add_permission(
        &self,
        id: &str,
        service: &str,
        source_arn: Json,
    ) -> Result<ResourceRef, SynthError> {
        self.scope.add_resource(
            id,
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": self.arn(),
                "Principal": service,
                "SourceArn": source_arn,
                "SourceAccount": {"Ref": "AWS::AccountId"},
            }),
        )
    }

    /// Consumes `queue` with partial batch responses: a failed message is retried alone. The
    /// queue's visibility timeout must be at least this function's timeout (checked at synth).
    pub fn add_sqs_event_source(
        &self,
        id: &str,
        queue: &Queue,
        props: SqsEventSourceProps,
    ) -> Result<ResourceRef, SynthError> {
        let me = self.scope.child(id)?;
        if !(1..=10_000).contains(&props.batch_size) {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "batch_size",
                message: format!("must be 1..=10000, got {}", props.batch_size),
            });
        }
        queue.grant_consume(self);
        let mut p = json!({
            "EventSourceArn": queue.arn(),
            "FunctionName": self.arn(),
            "BatchSize": props.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": true,
        });
        if props.batch_size > 10 {
            p["MaximumBatchingWindowInSeconds"] = json!(props.max_batching_window_secs.max(1));
        } else if props.max_batching_window_secs > 0 {
            p["MaximumBatchingWindowInSeconds"] = json!(props.max_batching_window_secs);
        }
        if let Some(m) = props.max_concurrency {
            p["ScalingConfig"] = json!({"MaximumConcurrency": m});
        }
        let esm = me.add_resource("Resource", "AWS::Lambda::EventSourceMapping", p)?;
        // The role's inline policy must allow receiving before the mapping is created.
        esm.add_depends_on(self.role.resource());
        let queue_res = queue.resource().clone();
        let function_res = self.resource.clone();
        self.scope.add_validation(Box::new(move |state| {
            let q = state
                .stacks
                .get(queue_res.stack().0)?
                .resources
                .get(queue_res.logical_id())?;
            let f = state
                .stacks
                .get(function_res.stack().0)?
                .resources
                .get(function_res.logical_id())?;
            let vis = q
                .entry
                .properties
                .get("VisibilityTimeout")
                .and_then(Json::as_u64)
                .unwrap_or(30);
            let timeout = f
                .entry
                .properties
                .get("Timeout")
                .and_then(Json::as_u64)
                .unwrap_or(3);
            (vis < timeout).then(|| SynthError::VisibilityTimeout {
                queue: q.path.clone(),
                visibility_timeout_secs: u32::try_from(vis).unwrap_or(u32::MAX),
                function: f.path.clone(),
                function_timeout_secs: u32::try_from(timeout).unwrap_or(u32::MAX),
            })
        }));
        Ok(esm)
    }

    /// Runs on objects created in `bucket` under `prefix`, through EventBridge (the bucket
    /// must have `event_bridge: true`). EventBridge avoids the bucket <-> permission cycle of
    /// direct S3 notifications without a custom resource.
    pub fn add_s3_event_source(
        &self,
        id: &str,
        bucket: &Bucket,
        prefix: &str,
    ) -> Result<ResourceRef, SynthError> {
        let me = self.scope.child(id)?;
        let enabled = bucket
            .resource()
            .property("NotificationConfiguration")
            .and_then(|n| {
                n.get("EventBridgeConfiguration")?
                    .get("EventBridgeEnabled")?
                    .as_bool()
            })
            .unwrap_or(false);
        if !enabled {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "bucket",
                message: format!(
                    "{} does not send events to EventBridge\nhint: set event_bridge: true in its BucketProps",
                    bucket.resource().scope().path()
                ),
            });
        }
        let mut detail = json!({"bucket": {"name": [bucket.name()]}});
        if !prefix.is_empty() {
            detail["object"] = json!({"key": [{"prefix": prefix}]});
        }
        let rule = me.add_resource("Rule", "AWS::Events::Rule", json!({
            "Description": format!("object created in {}", bucket.resource().scope().path()),
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
            "Targets": [{"Id": "function", "Arn": self.arn()}],
        }))?;
        self.add_permission(
            &format!("{id}Permission"),
            "events.amazonaws.com",
            rule.get_att("Arn").to_json(),
        )?;
        Ok(rule)
    }
}

/// Props of an SQS event source.
#[derive(Debug, Clone)]
pub struct SqsEventSourceProps {
    /// Messages per invocation, 1..=10000. Default: 10.
    pub batch_size: u32,
    /// Seconds to gather a batch, 0..=300. Default: 0 (required >= 1 above 10 messages).
    pub max_batching_window_secs: u32,
    /// Concurrent invocations this source may drive, 2..=1000. Unset: no cap.
    pub max_concurrency: Option<u32>,
}

impl Default for SqsEventSourceProps {
    fn default() -> Self {
        Self {
            batch_size: 10,
            max_batching_window_secs: 0,
            max_concurrency: None,
        }
    }
}
