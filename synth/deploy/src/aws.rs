//! AWS clients, one per service and region, from aws-config's standard chain (environment,
//! profile, SSO, IMDS...). `AWS_ENDPOINT_URL` (and the per-service variants) is honoured by the
//! chain itself, so the same code talks to AWS or to a local moto.
//!
//! Tests replace any service with a client built on recorded responses
//! ([`Aws::with_cloudformation`] and friends); the replacement answers for every region.
//!
//! A stack is deployed as the role its cloud assembly names (the CDK bootstrap's deploy role,
//! its assets as the file-publishing role), through [`Aws::as_role`]: credentials from STS
//! AssumeRole, refreshed before they expire, so a long deploy outlives the first hour.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

/// Assumed roles by (role ARN, region): the configuration acting as the role, or why the role
/// could not be assumed.
type Roles = HashMap<(String, String), Result<SdkConfig, String>>;

/// The AWS clients a command uses.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    path_style: bool,
    cloudformation: Option<aws_sdk_cloudformation::Client>,
    s3: Option<aws_sdk_s3::Client>,
    ssm: Option<aws_sdk_ssm::Client>,
    sts: Option<aws_sdk_sts::Client>,
    rds: Option<aws_sdk_rds::Client>,
    route53: Option<aws_sdk_route53::Client>,
    autoscaling: Option<aws_sdk_autoscaling::Client>,
    roles: Arc<tokio::sync::Mutex<Roles>>,
}

impl Aws {
    /// Clients from the standard credential and configuration chain.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_config(config)
    }

    /// Clients from a loaded configuration.
    pub fn from_config(config: SdkConfig) -> Self {
        // A custom endpoint (moto, LocalStack, a VPC endpoint by IP) cannot serve
        // virtual-hosted bucket names; path-style works everywhere a custom endpoint does.
        let path_style = config.endpoint_url().is_some();
        Self {
            config,
            path_style,
            cloudformation: None,
            s3: None,
            ssm: None,
            sts: None,
            rds: None,
            route53: None,
            autoscaling: None,
            roles: Arc::default(),
        }
    }

    /// The clients to use as `role_arn` in `region`: these clients acting as the role; or,
    /// when it cannot be assumed (bootstrapped without roles, no sts:AssumeRole on it), these
    /// same clients with the current credentials, as `cdk deploy` goes on, together with the
    /// reason the first time it is seen. Each role is assumed once per region.
    pub async fn as_role(&self, role_arn: &str, region: &str) -> (Aws, Option<String>) {
        let key = (role_arn.to_owned(), region.to_owned());
        let mut roles = self.roles.lock().await;
        let mut first_failure = None;
        if !roles.contains_key(&key) {
            let assumed = match &self.sts {
                Some(sts) => self.assume_with(sts, role_arn).await,
                None => {
                    let provider = AssumeRoleProvider::builder(role_arn)
                        .session_name("banca-deploy")
                        .region(Region::new(region.to_owned()))
                        .configure(&self.config)
                        .build()
                        .await;
                    match provider.provide_credentials().await {
                        Ok(_) => Ok(SharedCredentialsProvider::new(provider)),
                        Err(e) => {
                            Err(aws_smithy_types::error::display::DisplayErrorContext(&e)
                                .to_string())
                        }
                    }
                }
            }
            .map(|credentials| {
                self.config
                    .to_builder()
                    .credentials_provider(credentials)
                    .build()
            });
            if let Err(why) = &assumed {
                first_failure = Some(why.clone());
            }
            roles.insert(key.clone(), assumed);
        }
        match &roles[&key] {
            Ok(config) => (
                Aws {
                    config: config.clone(),
                    ..self.clone()
                },
                None,
            ),
            Err(_) => (self.clone(), first_failure),
        }
    }

    /// One AssumeRole through a given STS client (tests answer it with recorded responses):
    /// the session's credentials, not refreshed.
    async fn assume_with(
        &self,
        sts: &aws_sdk_sts::Client,
        role_arn: &str,
    ) -> Result<SharedCredentialsProvider, String> {
        let out = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("banca-deploy")
            .send()
            .await
            .map_err(|e| aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())?;
        let c = out
            .credentials()
            .ok_or_else(|| "AssumeRole returned no credentials".to_owned())?;
        Ok(SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                std::time::SystemTime::try_from(*c.expiration()).ok(),
                "banca-assume-role",
            ),
        ))
    }

    /// The region of the configuration (`AWS_REGION`, profile), if any.
    pub fn default_region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }

    fn region_config(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// CloudFormation in `region`.
    pub fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        self.cloudformation
            .clone()
            .unwrap_or_else(|| aws_sdk_cloudformation::Client::new(&self.region_config(region)))
    }

    /// S3 in `region`.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        self.s3.clone().unwrap_or_else(|| {
            let conf = aws_sdk_s3::config::Builder::from(&self.region_config(region))
                .force_path_style(self.path_style)
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        })
    }

    /// SSM in `region`.
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        self.ssm
            .clone()
            .unwrap_or_else(|| aws_sdk_ssm::Client::new(&self.region_config(region)))
    }

    /// STS in `region`.
    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        self.sts
            .clone()
            .unwrap_or_else(|| aws_sdk_sts::Client::new(&self.region_config(region)))
    }

    /// RDS in `region`.
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        self.rds
            .clone()
            .unwrap_or_else(|| aws_sdk_rds::Client::new(&self.region_config(region)))
    }

    /// Route 53 (global; its API lives in us-east-1).
    pub fn route53(&self) -> aws_sdk_route53::Client {
        self.route53
            .clone()
            .unwrap_or_else(|| aws_sdk_route53::Client::new(&self.region_config("us-east-1")))
    }

    /// Auto Scaling in `region`.
    pub fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        self.autoscaling
            .clone()
            .unwrap_or_else(|| aws_sdk_autoscaling::Client::new(&self.region_config(region)))
    }

    /// The account of the credentials (STS GetCallerIdentity).
    pub async fn account(&self, region: &str) -> Result<String, crate::Error> {
        let out = self
            .sts(region)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| crate::Error::aws("GetCallerIdentity", "the credentials", region, &e))?;
        out.account.ok_or_else(|| crate::Error::Aws {
            operation: "GetCallerIdentity",
            target: "the credentials".into(),
            region: region.to_owned(),
            message: "the answer has no account id".into(),
            hint: None,
        })
    }

    /// Uses this CloudFormation client for every region (tests).
    #[must_use]
    pub fn with_cloudformation(mut self, c: aws_sdk_cloudformation::Client) -> Self {
        self.cloudformation = Some(c);
        self
    }

    /// Uses this S3 client for every region (tests).
    #[must_use]
    pub fn with_s3(mut self, c: aws_sdk_s3::Client) -> Self {
        self.s3 = Some(c);
        self
    }

    /// Uses this SSM client for every region (tests).
    #[must_use]
    pub fn with_ssm(mut self, c: aws_sdk_ssm::Client) -> Self {
        self.ssm = Some(c);
        self
    }

    /// Uses this STS client for every region (tests).
    #[must_use]
    pub fn with_sts(mut self, c: aws_sdk_sts::Client) -> Self {
        self.sts = Some(c);
        self
    }

    /// Uses this RDS client for every region (tests).
    #[must_use]
    pub fn with_rds(mut self, c: aws_sdk_rds::Client) -> Self {
        self.rds = Some(c);
        self
    }

    /// Uses this Route 53 client (tests).
    #[must_use]
    pub fn with_route53(mut self, c: aws_sdk_route53::Client) -> Self {
        self.route53 = Some(c);
        self
    }

    /// Uses this Auto Scaling client for every region (tests).
    #[must_use]
    pub fn with_autoscaling(mut self, c: aws_sdk_autoscaling::Client) -> Self {
        self.autoscaling = Some(c);
        self
    }
}
