//! `messaging`: the notifications topic (standard, not FIFO: it must take more than 3,000
//! messages per second and consumers tolerate duplicates) and the queues, each with a DLQ,
//! SQS-managed encryption, a TLS-only policy and long polling. Visibility timeouts are six
//! times the consuming function's timeout (AWS's advice for Lambda event sources).
//!
//! The topic fans out by the message body: a notification whose `channels` contains `email`
//! goes to `notify-email`, `sms` to `notify-sms` (both when it lists both). Deliveries that
//! fail land in `notify-analysis`, kept 4 days for analysis.

use banca_constructs::SynthError;
use banca_constructs::sns::{FilterPolicy, Topic, TopicProps};
use banca_constructs::sqs::{Queue, QueueProps};
use serde_json::json;

use super::Region;
use super::security::Security;

/// Seconds the failed-delivery analysis queue keeps a message (the seed: 4 days).
pub const ANALYSIS_RETENTION_SECS: u32 = 4 * 24 * 3600;

/// Timeouts of the consuming functions, seconds; the queues' visibility follows from them.
pub mod timeouts {
    /// transfer-processor: a batch of 10 transfers with bounded inline retries.
    pub const TRANSFER_PROCESSOR: u32 = 60;
    /// notify-email and notify-sms.
    pub const NOTIFY: u32 = 30;
    /// audit-collector.
    pub const AUDIT: u32 = 30;
    /// movements-report: reads a range of movements and renders an e-mail.
    pub const REPORT: u32 = 120;
}

/// Visibility timeout of a queue consumed by a function with `timeout` seconds.
pub const fn visibility_for(timeout: u32) -> u32 {
    timeout * 6
}

/// The topic and queues of one region.
pub(crate) struct Messaging {
    pub topic: Topic,
    pub transfers: Queue,
    pub email: Queue,
    pub sms: Queue,
    pub analysis: Queue,
    pub audit: Queue,
    pub reports: Queue,
}

impl Messaging {
    /// Every queue with its name in this stack, DLQs included.
    pub fn all_queues(&self) -> Vec<(&'static str, &Queue)> {
        let mut out = Vec::new();
        for (name, q) in [
            ("TransferRequests", &self.transfers),
            ("NotifyEmail", &self.email),
            ("NotifySms", &self.sms),
            ("NotifyAnalysis", &self.analysis),
            ("AuditEvents", &self.audit),
            ("ReportRequests", &self.reports),
        ] {
            out.push((name, q));
        }
        out
    }
}

/// Builds the stack.
pub(crate) fn build(r: &Region<'_>, sec: &Security) -> Result<Messaging, SynthError> {
    let _ = sec;
    let s = r.stack("messaging", "notification topic and work queues")?;
    let topic = Topic::new(
        &s,
        "Notifications",
        TopicProps {
            display_name: Some(format!("{} notifications", r.config.project)),
            ..TopicProps::default()
        },
    )?;
    let queue = |id: &str, consumer_timeout: Option<u32>| {
        Queue::new(
            &s,
            id,
            QueueProps {
                visibility_timeout_secs: consumer_timeout.map_or(30, visibility_for),
                ..QueueProps::default()
            },
        )
    };
    let transfers = queue("TransferRequests", Some(timeouts::TRANSFER_PROCESSOR))?;
    let email = queue("NotifyEmail", Some(timeouts::NOTIFY))?;
    let sms = queue("NotifySms", Some(timeouts::NOTIFY))?;
    let audit = queue("AuditEvents", Some(timeouts::AUDIT))?;
    let reports = queue("ReportRequests", Some(timeouts::REPORT))?;
    let analysis = Queue::new(
        &s,
        "NotifyAnalysis",
        QueueProps {
            retention_period_secs: ANALYSIS_RETENTION_SECS,
            ..QueueProps::default()
        },
    )?;
    topic.add_sqs_subscription(
        "ToEmail",
        &email,
        Some(FilterPolicy::message_body(json!({"channels": ["email"]}))),
    )?;
    topic.add_sqs_subscription(
        "ToSms",
        &sms,
        Some(FilterPolicy::message_body(json!({"channels": ["sms"]}))),
    )?;
    Ok(Messaging {
        topic,
        transfers,
        email,
        sms,
        analysis,
        audit,
        reports,
    })
}
