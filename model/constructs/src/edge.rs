//! Edge and DNS: ACM certificates, CloudFront distributions, Route 53 health checks and
//! failover records.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::s3::{AccessLogs, Bucket, BucketProps};
use crate::tree::{ResourceRef, Scope, Token};
use crate::waf::WebAcl;

/// The managed `CachingDisabled` cache policy: banking data is never cached at the edge.
pub const CACHING_DISABLED_POLICY: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// The managed `AllViewerExceptHostHeader` origin request policy (API Gateway origins).
pub const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

/// Props of [`Certificate`].
#[derive(Debug, Clone)]
pub struct CertificateProps {
    /// The domain, e.g. `banca.example.ec`. Required.
    pub domain_name: String,
    /// Other names. Default: none.
    pub alternative_names: Vec<String>,
    /// The hosted zone for DNS validation. Required: DNS validation renews unattended.
    pub hosted_zone_id: String,
}

/// A public ACM certificate validated by DNS, with certificate-transparency logging.
#[derive(Debug, Clone)]
pub struct Certificate {
    resource: ResourceRef,
}

impl Certificate {
    /// A certificate `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: CertificateProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !props.domain_name.contains('.') {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "domain_name",
                message: format!(
                    "must be a fully qualified domain, got {:?}",
                    props.domain_name
                ),
            });
        }
        let mut names = vec![props.domain_name.clone()];
        names.extend(props.alternative_names.iter().cloned());
        let mut p = json!({
            "DomainName": props.domain_name,
            "ValidationMethod": "DNS",
            "DomainValidationOptions": names.iter().map(|n| json!({"DomainName": n, "HostedZoneId": props.hosted_zone_id})).collect::<Vec<_>>(),
            "CertificateTransparencyLoggingPreference": "ENABLED",
            "KeyAlgorithm": "EC_prime256v1",
        });
        if !props.alternative_names.is_empty() {
            p["SubjectAlternativeNames"] = json!(props.alternative_names);
        }
        let resource = me.add_resource("Resource", "AWS::CertificateManager::Certificate", p)?;
        Ok(Self { resource })
    }

    /// The certificate's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The certificate's ARN (its Ref).
    pub fn arn(&self) -> Token {
        self.resource.reference()
    }
}

/// Props of [`Distribution`].
#[derive(Debug, Clone)]
pub struct DistributionProps {
    /// The API origin's domain (`<id>.execute-api.<region>.amazonaws.com`, may be a token).
    pub api_domain: Json,
    /// The stage path of the API, e.g. `/v1`.
    pub api_origin_path: String,
    /// The SPA bucket, served through origin access control. Required.
    pub spa_bucket: Bucket,
    /// Countries allowed (ISO 3166-1 alpha-2). Default: `["EC"]`.
    pub geo_allow_list: Vec<String>,
    /// The us-east-1 certificate. Required (rule CFR4 needs TLS 1.2 with a custom certificate).
    pub certificate_arn: Json,
    /// Aliases (CNAMEs). Required with the certificate.
    pub aliases: Vec<String>,
    /// The CloudFront-scoped web ACL. Required (rule CFR2).
    pub web_acl: WebAcl,
}

/// A CloudFront distribution: `/api/*` to API Gateway with caching disabled (banking data is
/// never cached at the edge), the SPA from S3 through OAC, HTTPS only (redirect), TLS 1.2_2021,
/// geo allow-list, WAF, access logs.
#[derive(Debug, Clone)]
pub struct Distribution {
    resource: ResourceRef,
}

impl Distribution {
    /// A distribution `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: DistributionProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.geo_allow_list.is_empty()
            || props
                .geo_allow_list
                .iter()
                .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "geo_allow_list",
                message: format!(
                    "must be non-empty ISO 3166-1 alpha-2 codes like \"EC\", got {:?}",
                    props.geo_allow_list
                ),
            });
        }
        if !props.api_origin_path.starts_with('/') {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "api_origin_path",
                message: format!("must start with /, got {:?}", props.api_origin_path),
            });
        }
        // CloudFront standard logs need ACLs on the log bucket.
        let logs = Bucket::new(
            &me,
            "Logs",
            BucketProps {
                access_logs: AccessLogs::None,
                ..BucketProps::default()
            },
        )?;
        logs.resource().set_property(
            "OwnershipControls",
            json!({"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}),
        );
        logs.resource().suppress(
            "AwsSolutions-S1",
            "this bucket holds CloudFront access logs; logging it would loop",
        );
        let oac = me.add_resource("OriginAccessControl", "AWS::CloudFront::OriginAccessControl", json!({
            "OriginAccessControlConfig": {"Name": format!("{}-{id}", me.stack_name()?), "OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"},
        }))?;
        let resource = me.add_resource("Resource", "AWS::CloudFront::Distribution", json!({
            "DistributionConfig": {
                "Enabled": true,
                "Comment": me.path(),
                "Aliases": props.aliases,
                "HttpVersion": "http2and3",
                "DefaultRootObject": "index.html",
                "PriceClass": "PriceClass_All",
                "Origins": [
                    {"Id": "api", "DomainName": props.api_domain, "OriginPath": props.api_origin_path,
                     "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"], "HTTPSPort": 443}},
                    {"Id": "spa", "DomainName": props.spa_bucket.regional_domain_name(),
                     "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac.get_att("Id")},
                ],
                "DefaultCacheBehavior": {"TargetOriginId": "spa", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": CACHING_DISABLED_POLICY, "Compress": true},
                "CacheBehaviors": [{
                    "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                    "CachePolicyId": CACHING_DISABLED_POLICY, "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
                }],
                "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Locations": props.geo_allow_list}},
                "ViewerCertificate": {"AcmCertificateArn": props.certificate_arn, "SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
                "WebACLId": props.web_acl.arn(),
                "Logging": {"Bucket": logs.resource().get_att("RegionalDomainName"), "IncludeCookies": false, "Prefix": "cloudfront/"},
            },
        }))?;
        props.spa_bucket.add_to_resource_policy(json!({
            "Sid": "AllowCloudFrontOac", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject", "Resource": {"Fn::Join": ["", [props.spa_bucket.arn(), "/*"]]},
            "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": ["arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Dist}", {"Dist": resource.reference()}]}}},
        }));
        if let Some(k) = props.spa_bucket.key() {
            // SourceAccount, not the distribution: the key would otherwise depend on the
            // distribution, which depends on the bucket, which depends on the key.
            k.allow_service("cloudfront.amazonaws.com", &["kms:Decrypt"], None);
        }
        Ok(Self { resource })
    }

    /// The distribution's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The `*.cloudfront.net` domain.
    pub fn domain_name(&self) -> Token {
        self.resource.get_att("DomainName")
    }
}

/// An HTTPS health check of `/health` on a domain (for failover records).
#[derive(Debug, Clone)]
pub struct HealthCheck {
    resource: ResourceRef,
}

impl HealthCheck {
    /// A health check `id` under `scope` of `https://<domain><path>`.
    pub fn new(scope: &Scope, id: &str, domain: Json, path: &str) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if !path.starts_with('/') {
            return Err(SynthError::InvalidProps {
                path: me.path().to_owned(),
                field: "path",
                message: format!("must start with /, got {path:?}"),
            });
        }
        let resource = me.add_resource("Resource", "AWS::Route53::HealthCheck", json!({
            "HealthCheckConfig": {"Type": "HTTPS", "FullyQualifiedDomainName": domain, "ResourcePath": path, "Port": 443,
                "RequestInterval": 30, "FailureThreshold": 3, "EnableSNI": true},
        }))?;
        Ok(Self { resource })
    }

    /// The health check's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}

/// Props of [`FailoverRecords`].
#[derive(Debug, Clone)]
pub struct FailoverRecordsProps {
    /// The hosted zone id. Required.
    pub hosted_zone_id: String,
    /// The record name, e.g. `api.banca.example.ec`. Required.
    pub name: String,
    /// The primary region's target domain (CNAME).
    pub primary: Json,
    /// Its health check.
    pub primary_health_check: HealthCheck,
    /// The DR region's target domain.
    pub secondary: Json,
    /// TTL in seconds. Default: 60 (fast failover).
    pub ttl_secs: u32,
}

/// A PRIMARY/SECONDARY pair of CNAME records: Route 53 answers with the secondary when the
/// primary's health check fails.
#[derive(Debug, Clone)]
pub struct FailoverRecords {
    /// The primary record.
    pub primary: ResourceRef,
    /// The secondary record.
    pub secondary: ResourceRef,
}

impl FailoverRecords {
    /// Failover records `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: FailoverRecordsProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let record = |kind: &str, target: &Json, hc: Option<&HealthCheck>| {
            let mut r = json!({
                "HostedZoneId": props.hosted_zone_id, "Name": props.name, "Type": "CNAME", "TTL": props.ttl_secs.to_string(),
                "SetIdentifier": kind.to_ascii_lowercase(), "Failover": kind, "ResourceRecords": [target],
            });
            if let Some(h) = hc {
                r["HealthCheckId"] = h.resource.reference().to_json();
            }
            r
        };
        let primary = me.add_resource(
            "Primary",
            "AWS::Route53::RecordSet",
            record("PRIMARY", &props.primary, Some(&props.primary_health_check)),
        )?;
        let secondary = me.add_resource(
            "Secondary",
            "AWS::Route53::RecordSet",
            record("SECONDARY", &props.secondary, None),
        )?;
        Ok(Self { primary, secondary })
    }
}
