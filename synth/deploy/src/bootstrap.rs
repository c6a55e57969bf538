//! The bootstrap (toolkit) stack: where assets go, and the roles deploys use, per account and
//! region. Names follow the AWS CDK's bootstrap with the default qualifier `hnb659fds`, so an
//! environment bootstrapped by banca takes `cdk deploy` of a cloud assembly, and one
//! bootstrapped by the CDK takes `banca deploy`:
//!
//! | what | name |
//! |---|---|
//! | stack | `CDKToolkit` |
//! | asset bucket | `cdk-<qualifier>-assets-<account>-<region>`: SSE-KMS with its own rotated key, versioned, public access blocked, TLS-only policy, lifecycle (noncurrent versions expire after 30 days, incomplete uploads after 1) |
//! | version parameter | `/cdk-bootstrap/<qualifier>/version` |
//! | roles | `cdk-<qualifier>-{deploy-role,file-publishing-role,cfn-exec-role,lookup-role}-<account>-<region>` |
//!
//! Not reproduced: the container-image repository and its publishing role (banca ships no
//! container assets).

use banca_model::intrinsic::Intrinsic;
use banca_model::l1::{iam, kms, s3, ssm};
use banca_model::template::{DeletionPolicy, Output, Template, TemplateErrors};
use serde_json::json;

/// The CDK's default qualifier.
pub const DEFAULT_QUALIFIER: &str = "hnb659fds";
/// The default toolkit stack name.
pub const TOOLKIT_STACK_NAME: &str = "CDKToolkit";
/// The version parameter of the default qualifier.
pub const VERSION_PARAMETER: &str = "/cdk-bootstrap/hnb659fds/version";
/// The bootstrap version this template provides (the CDK bootstrap version whose resource
/// names, roles and outputs it reproduces for file assets).
pub const BOOTSTRAP_VERSION: u32 = 28;
/// Days a replaced asset version is kept.
pub const NONCURRENT_VERSION_DAYS: i64 = 30;

/// The version parameter's name for a qualifier.
pub fn version_parameter(qualifier: &str) -> String {
    format!("/cdk-bootstrap/{qualifier}/version")
}

/// The asset bucket's name.
pub fn bucket_name(qualifier: &str, account: &str, region: &str) -> String {
    format!("cdk-{qualifier}-assets-{account}-{region}")
}

fn sub(s: &str) -> Intrinsic {
    Intrinsic::sub(s)
}

/// The bootstrap template for `qualifier`. `execution_policies` are the managed policies the
/// CloudFormation execution role gets (the CDK's default is AdministratorAccess; a bank should
/// pass a narrower one).
pub fn template(
    qualifier: &str,
    execution_policies: &[String],
) -> Result<Template, TemplateErrors> {
    build(qualifier, execution_policies).map_err(|e| TemplateErrors(vec![e]))
}

fn build_err(e: banca_model::resource::BuildError) -> banca_model::template::TemplateError {
    banca_model::template::TemplateError::InvalidProperty {
        resource: e.type_name.to_owned(),
        path: e.property.to_owned(),
        message: e.to_string(),
    }
}

fn build(
    qualifier: &str,
    execution_policies: &[String],
) -> Result<Template, banca_model::template::TemplateError> {
    use s3::bucket::builders as b;
    let mut t = Template::new().with_description(format!(
        "banca bootstrap (CDK-compatible, qualifier {qualifier}, version {BOOTSTRAP_VERSION}): asset bucket, key, roles and version parameter"
    ));
    let role_name =
        |kind: &str| format!("cdk-{qualifier}-{kind}-${{AWS::AccountId}}-${{AWS::Region}}");
    let account_root =
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}});

    let key = t.add(
        "FileAssetsBucketEncryptionKey",
        kms::Key::builder()
            .description(format!("banca/CDK {qualifier} asset bucket key"))
            .enable_key_rotation(true)
            .key_policy(json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": account_root,
                        "Action": "kms:*",
                        "Resource": "*"
                    },
                    {
                        "Sid": "S3UsesItForTheAccount",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {
                            "kms:CallerAccount": {"Ref": "AWS::AccountId"},
                            "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}
                        }}
                    }
                ]
            }))
            .build(),
    )?;
    t.entry_mut(&key).map(|e| e.retain(DeletionPolicy::Retain));
    t.add(
        "FileAssetsBucketEncryptionKeyAlias",
        kms::Alias::builder()
            .alias_name(format!("alias/cdk-{qualifier}-assets-key"))
            .target_key_id(key.reference())
            .build()
            .map_err(build_err)?,
    )?;

    let bucket = t.add(
        "StagingBucket",
        s3::Bucket::builder()
            .bucket_name(sub(&format!(
                "cdk-{qualifier}-assets-${{AWS::AccountId}}-${{AWS::Region}}"
            )))
            .bucket_encryption(
                b::BucketEncryptionBuilder::default()
                    .server_side_encryption_configuration(vec![
                        b::ServerSideEncryptionRuleBuilder::default()
                            .bucket_key_enabled(true)
                            .server_side_encryption_by_default(
                                b::ServerSideEncryptionByDefaultBuilder::default()
                                    .sse_algorithm("aws:kms")
                                    .kms_master_key_id(key.attr_arn())
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .build(),
                    ])
                    .build()
                    .map_err(build_err)?,
            )
            .versioning_configuration(
                b::VersioningConfigurationBuilder::default()
                    .status("Enabled")
                    .build()
                    .map_err(build_err)?,
            )
            .public_access_block_configuration(
                b::PublicAccessBlockConfigurationBuilder::default()
                    .block_public_acls(true)
                    .block_public_policy(true)
                    .ignore_public_acls(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .lifecycle_configuration(
                b::LifecycleConfigurationBuilder::default()
                    .rules(vec![
                        b::RuleBuilder::default()
                            .id("CleanupOldVersions")
                            .status("Enabled")
                            .noncurrent_version_expiration(
                                b::NoncurrentVersionExpirationBuilder::default()
                                    .noncurrent_days(NONCURRENT_VERSION_DAYS)
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .abort_incomplete_multipart_upload(
                                b::AbortIncompleteMultipartUploadBuilder::default()
                                    .days_after_initiation(1)
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .build()
                            .map_err(build_err)?,
                    ])
                    .build()
                    .map_err(build_err)?,
            )
            .build(),
    )?;
    t.entry_mut(&bucket)
        .map(|e| e.retain(DeletionPolicy::Retain));
    t.add(
        "StagingBucketPolicy",
        s3::BucketPolicy::builder()
            .bucket(bucket.reference())
            .policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AllowSSLRequestsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [
                        bucket.attr_arn(),
                        {"Fn::Sub": ["${Arn}/*", {"Arn": bucket.attr_arn()}]}
                    ],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]
            }))
            .build()
            .map_err(build_err)?,
    )?;

    let bucket_objects = json!({"Fn::Sub": ["${Arn}/*", {"Arn": bucket.attr_arn()}]});
    t.add(
        "FilePublishingRole",
        iam::Role::builder()
            .role_name(sub(&role_name("file-publishing-role")))
            .assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": account_root, "Action": "sts:AssumeRole"}]
            }))
            .policies(vec![
                iam::role::builders::PolicyBuilder::default()
                    .policy_name("cdk-file-publishing")
                    .policy_document(json!({
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:List*", "s3:DeleteObject*", "s3:PutObject*", "s3:Abort*"],
                                "Resource": [bucket.attr_arn(), bucket_objects]
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                                "Resource": key.attr_arn()
                            }
                        ]
                    }))
                    .build()
                    .map_err(build_err)?,
            ])
            .build()
            .map_err(build_err)?,
    )?;

    let exec_policies: Vec<String> = if execution_policies.is_empty() {
        vec!["arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess".to_owned()]
    } else {
        execution_policies.to_vec()
    };
    let exec = t.add(
        "CloudFormationExecutionRole",
        iam::Role::builder()
            .role_name(sub(&role_name("cfn-exec-role")))
            .assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            }))
            .managed_policy_arns(
                exec_policies
                    .iter()
                    .map(|p| banca_model::value::Value::from(Intrinsic::sub(p.as_str())))
                    .collect::<Vec<_>>(),
            )
            .build()
            .map_err(build_err)?,
    )?;

    t.add(
        "DeploymentActionRole",
        iam::Role::builder()
            .role_name(sub(&role_name("deploy-role")))
            .assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": account_root, "Action": "sts:AssumeRole"}]
            }))
            .policies(vec![
                iam::role::builders::PolicyBuilder::default()
                    .policy_name("default")
                    .policy_document(json!({
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CloudFormationPermissions",
                                "Effect": "Allow",
                                "Action": [
                                    "cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet",
                                    "cloudformation:DescribeChangeSet", "cloudformation:DescribeStacks",
                                    "cloudformation:DescribeStackEvents", "cloudformation:ExecuteChangeSet",
                                    "cloudformation:CreateStack", "cloudformation:UpdateStack",
                                    "cloudformation:GetTemplate", "cloudformation:DeleteStack",
                                    "cloudformation:UpdateTerminationProtection",
                                    "cloudformation:DetectStackDrift", "cloudformation:DescribeStackDriftDetectionStatus",
                                    "cloudformation:DescribeStackResourceDrifts", "cloudformation:DescribeStackResources"
                                ],
                                "Resource": "*"
                            },
                            {
                                "Sid": "PassExecutionRole",
                                "Effect": "Allow",
                                "Action": "iam:PassRole",
                                "Resource": exec.attr_arn()
                            },
                            {
                                "Sid": "ReadAssets",
                                "Effect": "Allow",
                                "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                                "Resource": [bucket.attr_arn(), bucket_objects]
                            },
                            {
                                "Sid": "ReadVersion",
                                "Effect": "Allow",
                                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                                "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/cdk-bootstrap/{qualifier}/version")}
                            }
                        ]
                    }))
                    .build()
                    .map_err(build_err)?,
            ])
            .build()
            .map_err(build_err)?,
    )?;

    t.add(
        "LookupRole",
        iam::Role::builder()
            .role_name(sub(&role_name("lookup-role")))
            .assume_role_policy_document(json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": account_root, "Action": "sts:AssumeRole"}]
            }))
            .managed_policy_arns(vec![Intrinsic::sub(
                "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess",
            )])
            .build()
            .map_err(build_err)?,
    )?;

    let version = t.add(
        "CdkBootstrapVersion",
        ssm::Parameter::builder()
            .name(version_parameter(qualifier))
            .type_("String")
            .value(BOOTSTRAP_VERSION.to_string())
            .build()
            .map_err(build_err)?,
    )?;
    t.add_output(
        "BucketName",
        Output::new(bucket.reference()).description("The asset bucket"),
    )?;
    t.add_output(
        "BucketDomainName",
        Output::new(Intrinsic::sub(format!(
            "cdk-{qualifier}-assets-${{AWS::AccountId}}-${{AWS::Region}}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}"
        ))),
    )?;
    t.add_output("FileAssetKeyArn", Output::new(key.attr_arn()))?;
    t.add_output(
        "BootstrapVersion",
        Output::new(version.attr_value()).description("The version of the bootstrap resources"),
    )?;
    Ok(t)
}

/// Deploys (or updates) the bootstrap stack in one region.
pub async fn bootstrap_region(
    aws: &crate::aws::Aws,
    region: &str,
    account: Option<&str>,
    qualifier: &str,
    execution_policies: &[String],
    waiting: crate::cfn::Waiting,
    progress: &crate::progress::Progress<'_>,
) -> Result<crate::deploy::Deployment, crate::Error> {
    let stack = toolkit_stack(region, account, qualifier, execution_policies)?;
    let opts = crate::deploy::DeployOptions {
        // The toolkit stack is ours and fixed: no review step; and its outputs must be
        // readable on every CloudFormation implementation.
        method: crate::deploy::DeployMethod::Direct,
        concurrency: 1,
        require_approval: crate::deploy::RequireApproval::Never,
        force: false,
        waiting,
        change_set_name: "banca-bootstrap".to_owned(),
    };
    let mut d = crate::deploy::deploy_stack(aws, &stack, &opts, progress).await?;
    if d.outcome != crate::progress::Outcome::Unchanged {
        d.outcome = crate::progress::Outcome::Bootstrapped;
    }
    Ok(d)
}

/// The bootstrap stack of a region, as a stack of an assembly.
pub fn toolkit_stack(
    region: &str,
    account: Option<&str>,
    qualifier: &str,
    execution_policies: &[String],
) -> Result<crate::assembly::Stack, crate::Error> {
    let t = template(qualifier, execution_policies).map_err(|e| crate::Error::AssemblyFormat {
        path: std::path::PathBuf::from("<bootstrap template>"),
        reason: e.to_string(),
    })?;
    let body = t.to_json().map_err(|e| crate::Error::AssemblyFormat {
        path: std::path::PathBuf::from("<bootstrap template>"),
        reason: e.to_string(),
    })?;
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("banca:bootstrap-qualifier".to_owned(), qualifier.to_owned());
    Ok(crate::assembly::Stack {
        id: TOOLKIT_STACK_NAME.to_owned(),
        stack_name: TOOLKIT_STACK_NAME.to_owned(),
        display_name: format!("{TOOLKIT_STACK_NAME} ({region})"),
        environment: crate::assembly::Environment {
            account: account.map(str::to_owned),
            region: region.to_owned(),
        },
        template_file: std::path::PathBuf::new(),
        template: t,
        template_body: body,
        parameters: std::collections::BTreeMap::new(),
        tags,
        termination_protection: false,
        assume_role_arn: None,
        execution_role_arn: None,
        template_asset_url: None,
        bootstrap: None,
        depends_on: Vec::new(),
        assets: Vec::new(),
        notification_arns: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_template_is_valid_and_secure() {
        let t = template(DEFAULT_QUALIFIER, &[]).expect("builds");
        let body = t.to_json().expect("valid template");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let bucket = &v["Resources"]["StagingBucket"];
        assert_eq!(bucket["DeletionPolicy"], "Retain");
        let p = &bucket["Properties"];
        assert_eq!(
            p["BucketName"]["Fn::Sub"],
            "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
        );
        assert_eq!(
            p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            "aws:kms"
        );
        assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
        assert_eq!(
            p["PublicAccessBlockConfiguration"]["BlockPublicPolicy"],
            true
        );
        assert_eq!(
            p["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
            30
        );
        let policy = &v["Resources"]["StagingBucketPolicy"]["Properties"]["PolicyDocument"];
        assert_eq!(
            policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        assert_eq!(
            v["Resources"]["FileAssetsBucketEncryptionKey"]["Properties"]["EnableKeyRotation"],
            true
        );
        let param = &v["Resources"]["CdkBootstrapVersion"]["Properties"];
        assert_eq!(param["Name"], VERSION_PARAMETER);
        assert_eq!(param["Value"], BOOTSTRAP_VERSION.to_string());
        for (id, kind) in [
            ("DeploymentActionRole", "deploy-role"),
            ("FilePublishingRole", "file-publishing-role"),
            ("CloudFormationExecutionRole", "cfn-exec-role"),
            ("LookupRole", "lookup-role"),
        ] {
            assert_eq!(
                v["Resources"][id]["Properties"]["RoleName"]["Fn::Sub"],
                format!("cdk-hnb659fds-{kind}-${{AWS::AccountId}}-${{AWS::Region}}")
            );
        }
        assert_eq!(
            bucket_name("hnb659fds", "123456789012", "us-west-2"),
            "cdk-hnb659fds-assets-123456789012-us-west-2"
        );
    }
}
