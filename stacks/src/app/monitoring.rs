//! `monitoring`: the ops topic, alarms and a dashboard per region.
//!
//! Alarms: every DLQ holding a message, every function's errors and throttles, the API's 5xx
//! responses, the database's CPU, and the share of transfers ending in FAIL (metric filters on
//! the transfer processor's JSON logs: `message = "transfer processed"`, `state = "FAIL"`).

use std::collections::BTreeMap;

use banca_constructs::SynthError;
use banca_constructs::ops::{Alarm, AlarmProps, Dashboard, Metric, Widget};
use banca_constructs::sns::{Topic, TopicProps};
use serde_json::json;

use super::backend::Backend;
use super::identity::{Identity, STAGE};
use super::onboarding::Onboarding;
use super::{Handler, Region, Shared};

/// The namespace of the transfer metrics.
pub fn transfer_namespace(project: &str) -> String {
    format!("{project}/transfers")
}

fn alarm(
    s: &banca_constructs::Scope,
    id: &str,
    topic: &Topic,
    metric: Metric,
    threshold: f64,
    description: String,
) -> Result<Alarm, SynthError> {
    Alarm::new(
        s,
        id,
        AlarmProps {
            metric,
            threshold,
            comparison: "GreaterThanThreshold".to_owned(),
            evaluation_periods: 1,
            topic: topic.clone(),
            description,
        },
    )
}

/// Builds the stack.
pub(crate) fn build(
    r: &Region<'_>,
    env: &Shared<'_>,
    functions: &[Handler],
    back: &Backend,
    idn: &Identity,
    onb: &Onboarding,
) -> Result<(), SynthError> {
    let s = r.stack("monitoring", "alarms, dashboard and the ops topic")?;
    let c = r.config;
    let topic = Topic::new(
        &s,
        "OpsTopic",
        TopicProps {
            display_name: Some(format!("{} operations", c.project)),
            ..TopicProps::default()
        },
    )?;
    if let Some(email) = &c.alarms.ops_email {
        s.add_resource(
            "OpsEmail",
            "AWS::SNS::Subscription",
            json!({"Protocol": "email", "Endpoint": email, "TopicArn": topic.arn()}),
        )?;
    }
    let mut alarms = Vec::new();

    let dlqs = s.child("Dlq")?;
    for (name, q) in env.msg.all_queues() {
        if let Some(dlq) = q.dead_letter_queue() {
            let mut m = Metric::new(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                ("QueueName", dlq.name().to_json()),
            );
            m.statistic = "Maximum".to_owned();
            alarms.push(alarm(&dlqs, name, &topic, m, 0.0, format!("the dead-letter queue of {name} holds messages: inspect them, fix the cause, redrive")).map(|a| (name.to_owned(), a))?);
        }
    }
    let mut m = Metric::new(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        ("QueueName", onb.trigger_failures.name().to_json()),
    );
    m.statistic = "Maximum".to_owned();
    alarms.push((
        "OnboardingTrigger".to_owned(),
        alarm(
            &dlqs,
            "OnboardingTrigger",
            &topic,
            m,
            0.0,
            "photo uploads whose onboarding could not start are waiting: fix the cause, replay them".to_owned(),
        )?,
    ));
    let fns = s.child("Functions")?;
    for (name, f) in functions {
        let id: String = name
            .split('-')
            .map(|p| {
                let mut c = p.chars();
                c.next()
                    .map(|h| h.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        alarm(
            &fns,
            &format!("{id}Errors"),
            &topic,
            Metric::new("AWS/Lambda", "Errors", ("FunctionName", f.name().to_json())),
            0.0,
            format!("{name} failed invocations"),
        )?;
        alarm(
            &fns,
            &format!("{id}Throttles"),
            &topic,
            Metric::new(
                "AWS/Lambda",
                "Throttles",
                ("FunctionName", f.name().to_json()),
            ),
            0.0,
            format!("{name} is throttled (reserved concurrency or account limit)"),
        )?;
    }

    let mut api5xx = Metric::new(
        "AWS/ApiGateway",
        "5XXError",
        ("ApiName", json!(idn.api_name)),
    );
    api5xx.dimensions.insert("Stage".to_owned(), json!(STAGE));
    api5xx.period_secs = 300;
    let api_alarm = alarm(
        &s,
        "Api5xx",
        &topic,
        api5xx.clone(),
        f64::from(c.alarms.api_5xx_per_5_minutes),
        "the API answered 5xx more often than allowed in 5 minutes".to_owned(),
    )?;

    let mut cpu = Metric::new(
        "AWS/RDS",
        "CPUUtilization",
        (
            "DBInstanceIdentifier",
            env.data.database.resource().reference().to_json(),
        ),
    );
    cpu.statistic = "Average".to_owned();
    cpu.period_secs = 300;
    let cpu_alarm = alarm(
        &s,
        "DatabaseCpu",
        &topic,
        cpu.clone(),
        f64::from(c.alarms.rds_cpu_percent),
        "the transfer database's CPU is high".to_owned(),
    )?;

    // Transfer outcomes from the processor's logs.
    let ns = transfer_namespace(&c.project);
    let log_group = back.transfer_processor.log_group().name();
    for (id, pattern, metric) in [
        (
            "TransfersProcessedFilter",
            "{ $.message = \"transfer processed\" }",
            "TransfersProcessed",
        ),
        (
            "TransfersFailedFilter",
            "{ $.message = \"transfer processed\" && $.state = \"FAIL\" }",
            "TransfersFailed",
        ),
    ] {
        s.add_resource(id, "AWS::Logs::MetricFilter", json!({
            "LogGroupName": log_group, "FilterPattern": pattern,
            "MetricTransformations": [{"MetricNamespace": ns, "MetricName": metric, "MetricValue": "1", "DefaultValue": 0, "Unit": "Count"}],
        }))?;
    }
    topic.allow_service_publish("cloudwatch.amazonaws.com");
    let stat = |name: &str| json!({"Metric": {"Namespace": ns, "MetricName": name}, "Period": 300, "Stat": "Sum"});
    s.add_resource("TransferFailRate", "AWS::CloudWatch::Alarm", json!({
        "AlarmDescription": "more transfers than allowed ended in FAIL over 5 minutes: check the core platform and the processor's logs",
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": f64::from(c.alarms.transfer_fail_rate_percent),
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic.arn()], "OKActions": [topic.arn()],
        "Metrics": [
            {"Id": "rate", "Expression": "IF(processed > 0, 100 * failed / processed, 0)", "Label": "transfers ending in FAIL, %", "ReturnData": true},
            {"Id": "failed", "MetricStat": stat("TransfersFailed"), "ReturnData": false},
            {"Id": "processed", "MetricStat": stat("TransfersProcessed"), "ReturnData": false},
        ],
    }))?;

    let transfer = |name: &str| Metric {
        namespace: ns.clone(),
        name: name.to_owned(),
        dimensions: BTreeMap::new(),
        statistic: "Sum".to_owned(),
        period_secs: 300,
    };
    let mut dlq_alarms: Vec<Alarm> = alarms.into_iter().map(|(_, a)| a).collect();
    dlq_alarms.push(api_alarm);
    dlq_alarms.push(cpu_alarm);
    Dashboard::new(
        &s,
        "Dashboard",
        vec![
            Widget::Text {
                markdown: format!(
                    "# {} {} ({})\nTransfers, API and database; alarms notify the ops topic.",
                    c.project,
                    r.stage_id(),
                    r.region
                ),
            },
            Widget::Graph {
                title: "Transfers".to_owned(),
                metrics: vec![transfer("TransfersProcessed"), transfer("TransfersFailed")],
            },
            Widget::Graph {
                title: "API 5xx".to_owned(),
                metrics: vec![api5xx],
            },
            Widget::Graph {
                title: "Database CPU".to_owned(),
                metrics: vec![cpu],
            },
            Widget::AlarmStatus {
                title: "Queues, API and database".to_owned(),
                alarms: dlq_alarms,
            },
        ],
    )?;
    Ok(())
}
