//! IAM roles and grants: least-privilege statements from per-service action tables.
//!
//! A grant adds one statement (plus one for the resource's KMS key, when it has one) to the
//! grantee role's inline policy. Actions come from the tables below (CDK's grants, with every
//! wildcard action expanded to the actions it needs); resources are the resource's ARNs.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::tree::{ResourceRef, Scope, Token};

/// Actions granted per resource family and intent. Each list is the least a client of that
/// intent needs; none contains a wildcard.
pub mod actions {
    /// Receive and delete messages (an SQS consumer).
    pub const SQS_CONSUME: &[&str] = &[
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ];
    /// Send messages.
    pub const SQS_SEND: &[&str] = &[
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    ];
    /// Publish to a topic.
    pub const SNS_PUBLISH: &[&str] = &["sns:Publish"];
    /// Read items (no streams: they have their own grant).
    pub const DYNAMODB_READ: &[&str] = &[
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
    ];
    /// Write items.
    pub const DYNAMODB_WRITE: &[&str] = &[
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
    ];
    /// Read objects.
    pub const S3_READ: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];
    /// Write objects (no delete: grant that separately if ever needed).
    pub const S3_PUT: &[&str] = &["s3:PutObject", "s3:AbortMultipartUpload"];
    /// List a bucket.
    pub const S3_LIST: &[&str] = &["s3:ListBucket"];
    /// Decrypt with a key.
    pub const KMS_DECRYPT: &[&str] = &["kms:Decrypt"];
    /// Encrypt with a key.
    pub const KMS_ENCRYPT: &[&str] = &["kms:Encrypt", "kms:GenerateDataKey"];
    /// Encrypt and decrypt with a key (envelope encryption by a service on the caller's behalf).
    pub const KMS_ENCRYPT_DECRYPT: &[&str] = &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];
    /// Read a secret's value.
    pub const SECRET_READ: &[&str] = &[
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    ];
    /// Read a parameter.
    pub const SSM_READ: &[&str] = &[
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:DescribeParameters",
    ];
    /// Start a state machine execution.
    pub const STATES_START: &[&str] = &["states:StartExecution"];
    /// Invoke a function.
    pub const LAMBDA_INVOKE: &[&str] = &["lambda:InvokeFunction"];
    /// Write to a log group (the group ARN ends in `:*`, which is the log-stream level).
    pub const LOGS_WRITE: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];
    /// X-Ray segments. These actions have no resource-level permissions, so their statement
    /// names `*` as resource (documented exception of the no-`*`-resource rule).
    pub const XRAY_WRITE: &[&str] = &["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
    /// ENI management for functions in a VPC. The `Describe*` one has no resource-level
    /// permissions, and Lambda creates ENIs in subnets it picks, so `*` is the resource.
    pub const EC2_VPC_ENI: &[&str] = &[
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ];
    /// Actions allowed on resource `*` because they have no resource-level permissions.
    pub const NO_RESOURCE_LEVEL: &[&str] = &[
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "rekognition:DetectFaces",
        "cloudwatch:PutMetricData",
        "ssm:DescribeParameters",
        "ses:SendEmail",
        "ses:SendRawEmail",
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ];
}

/// Who a grant is for: something that has (or is) an IAM role.
pub trait Grantable {
    /// The role that receives the statements.
    fn grant_role(&self) -> &Role;
}

/// The statements a grant added, for inspection and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The IAM statements (JSON, tokens unresolved).
    pub statements: Vec<Json>,
}

impl Grant {
    /// The actions of every statement.
    pub fn actions(&self) -> Vec<String> {
        self.statements
            .iter()
            .flat_map(|s| {
                s.get("Action")
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect()
    }
}

/// Props of [`Role`].
#[derive(Debug, Clone)]
pub struct RoleProps {
    /// The service principal that assumes the role, e.g. `lambda.amazonaws.com`. Required.
    pub assumed_by: String,
    /// Shown in the console. Unset: none.
    pub description: Option<String>,
}

/// An IAM role with one inline policy that grants append to. No managed policies (AWS managed
/// policies are broader than least privilege: compliance rule IAM4).
#[derive(Debug, Clone)]
pub struct Role {
    resource: ResourceRef,
}

impl Grantable for Role {
    fn grant_role(&self) -> &Role {
        self
    }
}

impl Role {
    /// A role `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: RoleProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !props.assumed_by.ends_with(".amazonaws.com") {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "assumed_by",
                message: format!(
                    "must be a service principal ending in .amazonaws.com, got {:?}",
                    props.assumed_by
                ),
            });
        }
        let mut p = json!({
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": props.assumed_by},
                    "Action": "sts:AssumeRole",
                }],
            },
        });
        if let Some(d) = props.description {
            p["Description"] = json!(d);
        }
        let resource = me.add_resource("Resource", "AWS::IAM::Role", p)?;
        Ok(Self { resource })
    }

    /// The role's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The role's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The role's name.
    pub fn name(&self) -> Token {
        self.resource.reference()
    }

    /// Adds a statement to the role's inline policy (duplicates are dropped).
    pub fn add_statement(&self, statement: Json) {
        self.resource.with_entry(|e| {
            let Some(obj) = e.properties.as_object_mut() else {
                return;
            };
            let policies = obj
                .entry("Policies")
                .or_insert_with(|| json!([{"PolicyName": "least-privilege", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}]));
            if let Some(stmts) = policies
                .get_mut(0)
                .and_then(|p| p.get_mut("PolicyDocument"))
                .and_then(|d| d.get_mut("Statement"))
                .and_then(Json::as_array_mut)
                && !stmts.contains(&statement)
            {
                stmts.push(statement);
            }
        });
    }

    /// Adds statements as a separate `AWS::IAM::Policy` attached to the role, for statements
    /// naming a resource that itself references the role (a bucket's replication role): an
    /// inline policy would make the role and the resource depend on each other.
    pub fn add_policy_resource(
        &self,
        scope: &Scope,
        id: &str,
        statements: Vec<Json>,
    ) -> Result<ResourceRef, SynthError> {
        let name: String = format!("{}{id}", self.resource.logical_id())
            .chars()
            .take(128)
            .collect();
        scope.add_resource(
            id,
            "AWS::IAM::Policy",
            json!({
                "PolicyName": name,
                "Roles": [self.name()],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }),
        )
    }

    /// The statements of the inline policy so far.
    pub fn statements(&self) -> Vec<Json> {
        self.resource
            .property("Policies")
            .and_then(|p| p.get(0)?.get("PolicyDocument")?.get("Statement").cloned())
            .and_then(|s| s.as_array().cloned())
            .unwrap_or_default()
    }
}

/// A statement allowing `actions` on `resources`.
pub fn statement(actions: &[&str], resources: Vec<Json>) -> Json {
    json!({
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    })
}

/// Grants `actions` on `resources` to `grantee`, plus `key_actions` on `key` when the resource
/// is encrypted with a customer-managed key.
pub fn grant(
    grantee: &dyn Grantable,
    actions: &[&str],
    resources: Vec<Json>,
    key: Option<(&crate::kms::Key, &[&str])>,
) -> Grant {
    let role = grantee.grant_role();
    let mut statements = vec![statement(actions, resources)];
    if let Some((key, key_actions)) = key {
        statements.push(statement(key_actions, vec![key.arn().to_json()]));
    }
    for s in &statements {
        role.add_statement(s.clone());
    }
    Grant { statements }
}
