//! `audit`: every user operation's audit event goes through `audit-events` to
//! `audit-collector`, which stores it in the audit global table (queryable by user and time
//! through the `byUser` index).
//!
//! With `features.opensearch_audit` (off by default: two r6g.large data nodes and the
//! pipeline's capacity units cost roughly USD 400+/month) the stack adds an OpenSearch domain
//! in the isolated subnets and an ingestion pipeline with an HTTP source in the VPC. The
//! collector does not post to the pipeline yet (the handler has no such setting): the
//! pipeline is the ingestion point for a future sink of the collector.

use banca_constructs::SynthError;
use banca_constructs::analytics::{Domain, DomainProps, Pipeline, PipelineProps};
use banca_constructs::iam::{Role, RoleProps};
use serde_json::json;

use super::backend::{Spec, function};
use super::messaging::timeouts;
use super::onboarding::grant_table;
use super::{Handler, Region, Shared};

/// The audit handlers.
pub(crate) struct Audit {
    pub functions: Vec<Handler>,
}

/// Builds the stack.
pub(crate) fn build(r: &Region<'_>, env: &Shared<'_>) -> Result<Audit, SynthError> {
    let s = r.stack("audit", "audit trail of user operations")?;
    let mut spec = Spec::new("AuditCollector", "audit-collector");
    spec.timeout_secs = timeouts::AUDIT;
    spec.environment = vec![("AUDIT_TABLE", json!(env.data.audit_table))];
    let collector = function(r, &s, env, spec)?;
    collector.add_sqs_event_source("Events", &env.msg.audit, Default::default())?;
    grant_table(
        collector.role(),
        env,
        &env.data.audit_table,
        &[
            "dynamodb:PutItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:DescribeTable",
        ],
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    );

    if r.config.features.opensearch_audit {
        let role = Role::new(
            &s,
            "SearchIngestionRole",
            RoleProps {
                assumed_by: "osis-pipelines.amazonaws.com".to_owned(),
                description: Some("writes audit events into the audit search domain".to_owned()),
            },
        )?;
        let domain = Domain::new(
            &s,
            "Search",
            DomainProps::new(&env.net.vpc, env.sec.data_key.clone()),
            &role,
        )?;
        Pipeline::new(
            &s,
            "SearchIngestion",
            PipelineProps {
                domain,
                index: "audit-events".to_owned(),
                path: "/audit/ingest".to_owned(),
                encryption_key: env.sec.data_key.clone(),
                vpc: env.net.vpc.clone(),
                units: (1, 4),
            },
            &role,
        )?;
    }
    Ok(Audit {
        functions: vec![("audit-collector".to_owned(), collector)],
    })
}
