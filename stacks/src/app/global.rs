//! `global-edge` (us-east-1): what sits in front of both regions.
//!
//! - CloudFront at `app.<domain>`: the SPA from an S3 bucket through origin access control,
//!   `/api/*` to `api.<domain>` with caching disabled (no banking data is cached at the edge,
//!   by regulation), HTTPS only, TLS 1.2_2021, the countries of `geo_allow_list` only, and the
//!   CloudFront-scoped WAF (rate limit + managed rule groups).
//! - Route 53: `api.<domain>` fails over from the primary API (PRIMARY, with a health check
//!   of its `/health`) to the dr API (SECONDARY); `app.<domain>` aliases the distribution.
//! - The us-east-1 ACM certificate CloudFront requires.

use banca_constructs::edge::{
    Certificate, CertificateProps, Distribution, DistributionProps, FailoverRecords,
    FailoverRecordsProps, HealthCheck,
};
use banca_constructs::kms::{Key, KeyProps};
use banca_constructs::s3::{Bucket, BucketProps};
use banca_constructs::waf::{WafScope, WebAcl, WebAclProps};
use banca_constructs::{App, StackProps, StageId, SynthError};
use serde_json::json;

use super::identity::{Identity, STAGE};
use crate::config::Config;

/// CloudFront's hosted zone id, the target zone of alias records to distributions.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// Builds the stack.
pub(crate) fn build(
    app: &App,
    stage: StageId,
    c: &Config,
    primary: &Identity,
    dr: &Identity,
) -> Result<(), SynthError> {
    let s = app.stack(
        stage,
        "edge",
        StackProps {
            description: Some(format!(
                "{} global edge: CloudFront, WAF, SPA, DNS failover",
                c.project
            )),
            ..StackProps::default()
        },
    )?;
    let zone = c.domain.hosted_zone_id.clone();
    let app_host = format!("app.{}", c.domain.name);
    let api_host = format!("api.{}", c.domain.name);
    let key = Key::new(
        &s,
        "EdgeKey",
        KeyProps {
            description: Some("edge logs and the SPA bucket".to_owned()),
            ..KeyProps::default()
        },
    )?;
    let spa = Bucket::new(
        &s,
        "Spa",
        BucketProps {
            encryption_key: Some(key.clone()),
            ..BucketProps::default()
        },
    )?;
    let waf = WebAcl::new(
        &s,
        "Waf",
        WebAclProps {
            rate_limit: u32::try_from(c.waf.rate_limit_per_5_minutes).unwrap_or(u32::MAX),
            ..WebAclProps::new(WafScope::CloudFront, key.clone())
        },
    )?;
    let cert = Certificate::new(
        &s,
        "Certificate",
        CertificateProps {
            domain_name: app_host.clone(),
            alternative_names: Vec::new(),
            hosted_zone_id: zone.clone(),
        },
    )?;
    let dist = Distribution::new(
        &s,
        "Cdn",
        DistributionProps {
            api_domain: json!(api_host),
            api_origin_path: "/".to_owned(),
            spa_bucket: spa,
            geo_allow_list: c.geo_allow_list.clone(),
            certificate_arn: cert.arn().to_json(),
            aliases: vec![app_host.clone()],
            web_acl: waf,
        },
    )?;
    // `/api/*` reaches the API's `api` base path unchanged, so the API origin has no path;
    // the construct requires one, so it is cleared here.
    dist.resource().with_entry(|e| {
        if let Some(origins) = e
            .properties
            .pointer_mut("/DistributionConfig/Origins")
            .and_then(|o| o.as_array_mut())
        {
            for o in origins
                .iter_mut()
                .filter(|o| o.get("Id").and_then(|i| i.as_str()) == Some("api"))
            {
                if let Some(m) = o.as_object_mut() {
                    m.remove("OriginPath");
                }
            }
        }
    });
    s.add_resource("AppRecord", "AWS::Route53::RecordSet", json!({
        "HostedZoneId": zone, "Name": app_host, "Type": "A",
        "AliasTarget": {"DNSName": dist.domain_name(), "HostedZoneId": CLOUDFRONT_ZONE_ID, "EvaluateTargetHealth": false},
    }))?;
    let health = HealthCheck::new(
        &s,
        "PrimaryApiHealth",
        primary.execute_domain.clone(),
        &format!("/{STAGE}/health"),
    )?;
    FailoverRecords::new(
        &s,
        "Api",
        FailoverRecordsProps {
            hosted_zone_id: zone,
            name: api_host,
            primary: primary.regional_domain.clone(),
            primary_health_check: health,
            secondary: dr.regional_domain.clone(),
            ttl_secs: 60,
        },
    )?;
    Ok(())
}
