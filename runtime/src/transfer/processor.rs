//! The async shell around the pure machine: load -> claim -> (write, effect)* -> ack.
//!
//! It persists each step's row (fenced) before performing the step's effect, so a crash at any
//! point leaves a row from which a redelivery resumes safely. Crash points ([`CrashPoint`]) let
//! tests stop processing exactly there, as if the consumer died.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use banca_contracts::notification::{Channel, NotificationRequested, Recipient, TemplateName};
use banca_contracts::transfer::TransferRequested;
use sha2::{Digest, Sha256};

use super::machine::{self, Claim, Effect, Policy, Row, TransferState};
use super::ports::{CorePlatform, Notifier, TransferOrder};
use super::store::TransferStore;
use crate::lambda::{Clock, Rng};

/// Where a test can make the consumer "die".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// C0: received, nothing written.
    AfterReceive,
    /// C1: the claim (`EVENT_CONSUMED`) is committed.
    AfterClaim,
    /// C1: `REQUEST_BEFORE` is committed, the HTTP request has not left.
    BeforeSend,
    /// C2/C3: the core call returned (executed or not), nothing recorded.
    AfterCoreCall,
    /// C4: `SUCCESS`/`FAIL` + `NOTIFY` recorded, not published.
    AfterOutcomeRecorded,
    /// C5: published, `NOTIFICATED` not recorded.
    AfterPublish,
    /// C6: all recorded, the message not acknowledged.
    BeforeAck,
}

/// Decides whether to crash at a point (tests); production uses [`NoCrash`].
pub trait CrashHook: Send + Sync {
    /// `true` to crash here for this transfer.
    fn crash(&self, point: CrashPoint, transfer_id: &str) -> bool;
}

/// Never crashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCrash;

impl CrashHook for NoCrash {
    fn crash(&self, _: CrashPoint, _: &str) -> bool {
        false
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished (or nothing left to do): acknowledge.
    Done {
        /// The row's final state.
        state: TransferState,
    },
    /// Not finished: leave the message for redelivery after `delay_ms`.
    Retry {
        /// Suggested visibility delay.
        delay_ms: i64,
        /// Why, for the logs.
        reason: String,
    },
    /// The message can never succeed (malformed, or a payload conflicting with the row): fail
    /// the item so it reaches the DLQ.
    Invalid {
        /// Why.
        reason: String,
    },
    /// A test crash point fired: the consumer "died" here.
    Crashed(CrashPoint),
}

impl Outcome {
    /// Whether the message is acknowledged.
    pub fn is_ack(&self) -> bool {
        matches!(self, Self::Done { .. })
    }
}

/// The most steps one delivery takes (claim, send, reconcile, resend, publish, ...): a bound on
/// the loop, far above the real need.
pub const MAX_STEPS: usize = 16;

/// The transfer processor: one per process; `process` is safe to call concurrently.
pub struct Processor {
    store: Arc<dyn TransferStore>,
    core: Arc<dyn CorePlatform>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    crash: Arc<dyn CrashHook>,
    policy: Policy,
    inline_wait_ms: i64,
    owner_prefix: String,
    claims: AtomicU64,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("policy", &self.policy)
            .field("owner_prefix", &self.owner_prefix)
            .finish_non_exhaustive()
    }
}

/// The reference sent to the core platform for a transfer: stable across attempts, so
/// reconciliation finds any earlier execution.
pub fn reference_of(transfer_id: &str) -> String {
    format!("banca-{transfer_id}")
}

/// SHA-256 over the business fields (not `requestedAt`/`channel`, which do not change what
/// moves): same transferId with another amount, account, currency or description is refused.
pub fn payload_hash(t: &TransferRequested) -> String {
    let mut h = Sha256::new();
    for part in [
        t.transfer_id.as_str(),
        t.customer_id.as_str(),
        t.source_account.as_str(),
        t.destination_account.as_str(),
        t.destination_name.as_str(),
        &t.amount.to_string(),
        t.currency.as_str(),
        t.description.as_deref().unwrap_or(""),
    ] {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Builder-style construction of a [`Processor`].
pub struct ProcessorParts {
    /// Transfer rows.
    pub store: Arc<dyn TransferStore>,
    /// The core platform.
    pub core: Arc<dyn CorePlatform>,
    /// Notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Local clock (backoff sleeps, elapsed time between database reads).
    pub clock: Arc<dyn Clock>,
    /// Jitter.
    pub rng: Arc<dyn Rng>,
    /// Limits.
    pub policy: Policy,
    /// Waits at most this long in-process before handing a retry back to the queue.
    pub inline_wait_ms: i64,
    /// Identifies this consumer in `lease_owner`.
    pub owner_prefix: String,
}

impl Processor {
    /// A processor; fails when the policy contradicts itself.
    pub fn new(parts: ProcessorParts) -> Result<Self, machine::PolicyError> {
        parts.policy.validate()?;
        Ok(Self {
            store: parts.store,
            core: parts.core,
            notifier: parts.notifier,
            clock: parts.clock,
            rng: parts.rng,
            crash: Arc::new(NoCrash),
            policy: parts.policy,
            inline_wait_ms: parts.inline_wait_ms,
            owner_prefix: parts.owner_prefix,
            claims: AtomicU64::new(0),
        })
    }

    /// The same processor with a crash hook (tests).
    pub fn with_crash_hook(mut self, crash: Arc<dyn CrashHook>) -> Self {
        self.crash = crash;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TransferStore> {
        &self.store
    }

    fn jitter(&self, ceiling_ms: i64) -> i64 {
        let c = u64::try_from(ceiling_ms.max(0)).unwrap_or(0);
        i64::try_from(self.rng.up_to(c)).unwrap_or(0)
    }

    /// Processes one SQS message body.
    pub async fn process(&self, body: &str) -> Outcome {
        let request = match TransferRequested::from_json(body) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "transfer request refused");
                return Outcome::Invalid {
                    reason: e.to_string(),
                };
            }
        };
        let span = tracing::info_span!("transfer", transferId = %request.transfer_id);
        let outcome = tracing::Instrument::instrument(self.run(&request, body), span.clone()).await;
        let id = request.transfer_id.as_str();
        span.in_scope(|| match &outcome {
            Outcome::Done { state } => tracing::info!(
                transferId = id,
                state = state.as_str(),
                "transfer processed"
            ),
            Outcome::Retry { delay_ms, reason } => {
                tracing::info!(
                    transferId = id,
                    delay_ms,
                    reason,
                    "transfer will be retried"
                )
            }
            Outcome::Invalid { reason } => {
                tracing::error!(transferId = id, reason, "transfer refused")
            }
            Outcome::Crashed(p) => tracing::warn!(transferId = id, point = ?p, "test crash point"),
        });
        outcome
    }

    async fn run(&self, request: &TransferRequested, body: &str) -> Outcome {
        let id = request.transfer_id.as_str();
        if self.crash.crash(CrashPoint::AfterReceive, id) {
            return Outcome::Crashed(CrashPoint::AfterReceive);
        }
        let hash = payload_hash(request);
        let (db_now, existing) = match self.store.load(id).await {
            Ok(v) => v,
            Err(e) => return self.retry_store(&e),
        };
        // Database time for every later decision: the time read plus local elapsed time.
        let local_base = self.clock.now_ms();
        let now = || db_now + (self.clock.now_ms() - local_base);
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        let owner = format!("{}-{n}", self.owner_prefix);
        let mut row = match machine::claim(
            existing.as_ref(),
            id,
            &hash,
            body,
            &owner,
            db_now,
            &self.policy,
        ) {
            Claim::Insert(row) => match self.store.insert(&row).await {
                Ok(true) => row,
                Ok(false) => return self.retry("lost the claim race", self.policy.backoff_base_ms),
                Err(e) => return self.retry_store(&e),
            },
            Claim::TakeOver {
                row,
                expected_fence,
            } => match self.store.update(&row, expected_fence).await {
                Ok(true) => row,
                Ok(false) => return self.retry("lost the claim race", self.policy.backoff_base_ms),
                Err(e) => return self.retry_store(&e),
            },
            Claim::Busy { retry_after_ms } => {
                return self.retry("another consumer holds the lease", retry_after_ms);
            }
            Claim::Finished(row) => return Outcome::Done { state: row.state },
            Claim::PayloadMismatch => {
                return Outcome::Invalid {
                    reason: "same transferId, different payload: refused, not executed".to_owned(),
                };
            }
        };
        if self.crash.crash(CrashPoint::AfterClaim, id) {
            return Outcome::Crashed(CrashPoint::AfterClaim);
        }
        let mut step = machine::advance(&row, now(), &self.policy);
        for _ in 0..MAX_STEPS {
            if let Effect::SendTransfer { .. } = step.effect {
                // Never start a POST that could outlive our lease: a successor could then
                // reconcile, see nothing yet, and resend.
                let margin = self.policy.core_timeout_ms + self.policy.send_guard_ms;
                if row.lease_until_ms - now() < margin {
                    return self
                        .release(
                            &row,
                            now(),
                            "lease too short to send",
                            self.policy.backoff_base_ms,
                        )
                        .await;
                }
            }
            let before_write = row.clone();
            if let Some(next) = step.write.take() {
                match self.store.update(&next, row.fence).await {
                    Ok(true) => row = next,
                    Ok(false) => {
                        return self.retry(
                            "fenced out: a newer claim owns the transfer",
                            self.policy.backoff_base_ms,
                        );
                    }
                    Err(e) => return self.retry_store(&e),
                }
                if row.state.is_outcome()
                    && step.effect == Effect::Publish
                    && self.crash.crash(CrashPoint::AfterOutcomeRecorded, id)
                {
                    return Outcome::Crashed(CrashPoint::AfterOutcomeRecorded);
                }
            }
            step = match step.effect {
                Effect::SendTransfer { attempt } => {
                    if self.crash.crash(CrashPoint::BeforeSend, id) {
                        return Outcome::Crashed(CrashPoint::BeforeSend);
                    }
                    let sent_at = now();
                    if sent_at - row.post_sent_at_ms.unwrap_or(sent_at) > self.policy.send_guard_ms
                    {
                        // Too late to send safely and nothing left: undo the REQUEST_BEFORE.
                        let restored = machine::unsend(&before_write, sent_at);
                        if let Err(e) = self.store.update(&restored, row.fence).await {
                            tracing::warn!(error = %e, "could not undo REQUEST_BEFORE; the next delivery reconciles");
                        }
                        return self.retry(
                            "send guard elapsed before the request left",
                            self.policy.backoff_base_ms,
                        );
                    }
                    let order = order_of(request);
                    let answer = self.core.post_transfer(&order).await;
                    tracing::info!(attempt, answer = ?answer, "core transfer call");
                    if self.crash.crash(CrashPoint::AfterCoreCall, id) {
                        return Outcome::Crashed(CrashPoint::AfterCoreCall);
                    }
                    machine::on_core_answer(&row, answer, now(), &self.policy)
                }
                Effect::Reconcile => {
                    let since = row.created_at_ms;
                    let found = self
                        .core
                        .find_debit(&request.source_account, &reference_of(id), since)
                        .await;
                    tracing::info!(result = ?found, "reconciled against movements");
                    machine::on_reconciliation(&row, found, now(), &self.policy)
                }
                Effect::Publish => {
                    let ok = self.publish(request, &row).await;
                    if ok && self.crash.crash(CrashPoint::AfterPublish, id) {
                        return Outcome::Crashed(CrashPoint::AfterPublish);
                    }
                    machine::on_published(&row, ok, now(), &self.policy)
                }
                Effect::Done => {
                    if self.crash.crash(CrashPoint::BeforeAck, id) {
                        return Outcome::Crashed(CrashPoint::BeforeAck);
                    }
                    return Outcome::Done { state: row.state };
                }
                Effect::Alarm => {
                    // The alarm: an ERROR log line with a fixed marker that a CloudWatch metric
                    // filter counts (monitoring stack), plus the sweeper's report.
                    tracing::error!(alarm = "TRANSFER_REVIEW", outcome = ?row.outcome, "transfer needs review");
                    return Outcome::Done { state: row.state };
                }
                Effect::RetryAfter { delay_ms, reason } => {
                    let jittered = delay_ms
                        + self.jitter(machine::backoff_ceiling_ms(&self.policy, row.attempts));
                    if jittered > self.inline_wait_ms {
                        return self.release(&row, now(), reason, jittered).await;
                    }
                    self.clock
                        .sleep(Duration::from_millis(u64::try_from(jittered).unwrap_or(0)))
                        .await;
                    machine::advance(&row, now(), &self.policy)
                }
            };
        }
        self.release(
            &row,
            now(),
            "step limit reached",
            self.policy.backoff_base_ms,
        )
        .await
    }

    /// Gives the lease back (best effort: if the write fails, the lease simply expires) and
    /// hands the retry to the queue.
    async fn release(&self, row: &Row, now_ms: i64, reason: &str, delay_ms: i64) -> Outcome {
        let released = machine::release(row, now_ms);
        if let Err(e) = self.store.update(&released, row.fence).await {
            tracing::warn!(error = %e, "could not release the lease; it will expire");
        }
        self.retry(reason, delay_ms)
    }

    async fn publish(&self, request: &TransferRequested, row: &Row) -> bool {
        let contact = match self.core.contact(&request.customer_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "customer contact unavailable");
                return false;
            }
        };
        let Some(message) = notification_for(request, row, &contact, self.rng.as_ref()) else {
            tracing::error!("customer contact data is not valid for a notification");
            return false;
        };
        match self.notifier.publish(&message).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "notification publish failed");
                false
            }
        }
    }

    fn retry(&self, reason: &str, delay_ms: i64) -> Outcome {
        Outcome::Retry {
            delay_ms: delay_ms.max(0),
            reason: reason.to_owned(),
        }
    }

    fn retry_store(&self, e: &super::store::StoreError) -> Outcome {
        tracing::warn!(error = %e, "transfer store error");
        let delay = self.jitter(
            self.policy
                .backoff_cap_ms
                .min(self.policy.backoff_base_ms * 8),
        );
        Outcome::Retry {
            delay_ms: delay,
            reason: "transfer store unavailable".to_owned(),
        }
    }

    /// Finds non-terminal rows past their deadline (C13) and drives each once more from its
    /// stored payload: found -> SUCCESS, proven absent -> FAIL, unknown -> REVIEW. Returns what
    /// became of each, for the alarm and the logs.
    pub async fn sweep(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, Outcome)>, super::store::StoreError> {
        let rows = self.store.overdue(limit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            tracing::error!(alarm = "TRANSFER_OVERDUE", transferId = %row.transfer_id, state = row.state.as_str(), "non-terminal transfer past its deadline");
            let outcome = self.process(&row.payload).await;
            out.push((row.transfer_id, outcome));
        }
        Ok(out)
    }
}

fn order_of(r: &TransferRequested) -> TransferOrder {
    TransferOrder {
        source_account: r.source_account.clone(),
        destination_account: r.destination_account.clone(),
        amount: r.amount,
        currency: r.currency.clone(),
        reference: reference_of(&r.transfer_id),
        description: r.description.clone(),
    }
}

/// The customer notification for a row in `SUCCESS` or `FAIL`.
pub fn notification_for(
    request: &TransferRequested,
    row: &Row,
    contact: &super::ports::Contact,
    rng: &dyn Rng,
) -> Option<NotificationRequested> {
    let (template, word) = match row.state {
        TransferState::Success => (TemplateName::TransferSucceeded, "SUCCESS"),
        TransferState::Fail => (TemplateName::TransferFailed, "FAIL"),
        _ => return None,
    };
    let mut data = serde_json::Map::new();
    data.insert("amount".into(), request.amount.to_string().into());
    data.insert("currency".into(), request.currency.clone().into());
    data.insert(
        "destinationName".into(),
        request.destination_name.clone().into(),
    );
    data.insert("transferId".into(), request.transfer_id.clone().into());
    if row.state == TransferState::Fail {
        data.insert(
            "reason".into(),
            row.outcome.clone().unwrap_or_default().into(),
        );
    }
    // A random version-4-shaped UUID; uniqueness per publish, the dedupKey carries identity.
    let (a, b) = (rng.up_to(u64::MAX), rng.up_to(u64::MAX));
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
    let message = NotificationRequested::new(
        uuid.parse().ok()?,
        format!("transfer:{}:{word}", request.transfer_id),
        request.customer_id.parse().ok()?,
        vec![Channel::Email, Channel::Sms],
        template,
        banca_contracts::fields::Locale::EsEc,
        Recipient {
            email: contact.email.parse().ok(),
            phone: contact.phone.parse().ok(),
        },
        data,
    );
    message.validate().ok()?;
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount: &str) -> TransferRequested {
        TransferRequested::from_json(&format!(
            r#"{{"type":"TransferRequested","version":1,"transferId":"t-1","customerId":"C-1",
            "sourceAccount":"2200118877","destinationAccount":"2200991122","destinationName":"Maria",
            "amount":"{amount}","currency":"USD","requestedAt":"2026-11-28T10:15:00Z","channel":"web"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn payload_hash_covers_business_fields_only() {
        assert_eq!(payload_hash(&req("1.00")), payload_hash(&req("1.00")));
        assert_ne!(payload_hash(&req("1.00")), payload_hash(&req("1.01")));
        let mut later = req("1.00");
        later.requested_at = "2026-11-28T10:16:00Z".into();
        assert_eq!(
            payload_hash(&later),
            payload_hash(&req("1.00")),
            "a redelivery is not a new payload"
        );
        assert_eq!(payload_hash(&req("1.00")).len(), 64);
        assert!(reference_of("2f1c0a8e-5a4b-4c55-9a39-0d3c1e2b7f10").len() <= 64);
    }
}
