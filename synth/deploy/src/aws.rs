//! AWS clients, one per service and region, from aws-config's standard chain (environment,
//! profile, SSO, IMDS...). `AWS_ENDPOINT_URL` (and the per-service variants) is honoured by the
//! chain itself, so the same code talks to AWS or to a local moto.
//!
//! Tests replace any service with a client built on recorded responses
//! ([`Aws::with_cloudformation`] and friends); the replacement answers for every region.

use aws_config::{BehaviorVersion, Region, SdkConfig};

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
        }
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
