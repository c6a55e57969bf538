//! The pure state machine of one transfer: `(row, input) -> (row', effect)`, no I/O, total over
//! every state. The async shell ([`super::processor`]) persists `row'` (a compare-and-set on the
//! fence) **before** it performs the effect, and feeds the effect's result back in.
//!
//! # States (column `state`, one row per `transferId`)
//!
//! | state | meaning | a new consumer that claims it... |
//! |---|---|---|
//! | `EVENT_CONSUMED` | claimed; **no** POST has left (one is only sent after `REQUEST_BEFORE` is committed) | posts |
//! | `REQUEST_BEFORE` | a POST may have left (committed just before sending it; `post_sent_at_ms` set) | reconciles first |
//! | `WAITING` | a POST got an ambiguous answer (5xx, timeout, reset) | reconciles first |
//! | `SUCCESS` | executed (201, or the reference was found in the movements) | publishes if not notified |
//! | `FAIL` | definitely not executed (422, or absence proven after the settle window) | publishes if not notified |
//! | `REVIEW` | still ambiguous at the deadline (the movements could not be read): alarmed, never retried automatically | acknowledges |
//!
//! Notification (column `notification`): `NULL -> NOTIFY -> NOTIFICATED`. `NOTIFY` is written
//! together with `SUCCESS`/`FAIL`; `NOTIFICATED` after the SNS publish succeeded. A crash in
//! between publishes again (same `dedupKey`): at-least-once.
//!
//! Other columns: `fence` (incremented by every claim; every write is
//! `UPDATE .. WHERE fence = <claimed fence>`, so a consumer whose lease was taken over cannot
//! write), `lease_owner`/`lease_until_ms` (database time), `attempts` (POSTs sent),
//! `payload_hash` (SHA-256 of the business fields: the same `transferId` with another payload
//! is refused), `deadline_ms` (after it no POST is ever sent again; an outcome still unknown
//! goes to `REVIEW`).
//!
//! # Why it is safe
//! * A POST is sent only by the lease holder, only after `REQUEST_BEFORE` is committed under its
//!   fence, and only within [`Policy::send_guard_ms`] of that commit.
//! * A row that may have been sent is never re-sent until the reference was **not** found in the
//!   source account's movements at least [`Policy::settle_ms`] after the last send; `settle_ms`
//!   is larger than the core timeout plus the send guard plus the core's movement delay.
//! * A lease is only taken over when it has expired by the **database's** clock.

use serde::{Deserialize, Serialize};

/// The transfer column, with the design document's vocabulary plus `REVIEW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferState {
    /// Claimed, nothing sent.
    EventConsumed,
    /// About to send (so maybe sent).
    RequestBefore,
    /// Sent, outcome ambiguous.
    Waiting,
    /// Executed.
    Success,
    /// Not executed, for certain.
    Fail,
    /// Ambiguous past the deadline; a person decides.
    Review,
}

impl TransferState {
    /// Every state, for exhaustive tests.
    pub const ALL: [Self; 6] = [
        Self::EventConsumed,
        Self::RequestBefore,
        Self::Waiting,
        Self::Success,
        Self::Fail,
        Self::Review,
    ];

    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventConsumed => "EVENT_CONSUMED",
            Self::RequestBefore => "REQUEST_BEFORE",
            Self::Waiting => "WAITING",
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
            Self::Review => "REVIEW",
        }
    }

    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `SUCCESS` or `FAIL`: the customer must hear about it.
    pub fn is_outcome(self) -> bool {
        matches!(self, Self::Success | Self::Fail)
    }

    /// No automatic processing changes the money any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Fail | Self::Review)
    }

    /// A POST may have left: reconcile before anything else.
    pub fn maybe_sent(self) -> bool {
        matches!(self, Self::RequestBefore | Self::Waiting)
    }
}

/// The notification column (`NULL` is `None` in [`Row::notification`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationState {
    /// An outcome is recorded; the notification is not known to be published.
    Notify,
    /// Published.
    Notificated,
}

impl NotificationState {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notify => "NOTIFY",
            Self::Notificated => "NOTIFICATED",
        }
    }

    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NOTIFY" => Some(Self::Notify),
            "NOTIFICATED" => Some(Self::Notificated),
            _ => None,
        }
    }
}

/// One row of the `transfers` table. Times are database milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Primary key.
    pub transfer_id: String,
    /// SHA-256 (hex) of the request's business fields.
    pub payload_hash: String,
    /// The request as received (JSON), so a sweeper can finish the transfer without the message.
    pub payload: String,
    /// Transfer state.
    pub state: TransferState,
    /// Notification state.
    pub notification: Option<NotificationState>,
    /// Incremented by every claim; only increases.
    pub fence: i64,
    /// Who holds the lease (a random token per claim).
    pub lease_owner: String,
    /// The lease ends at this database time.
    pub lease_until_ms: i64,
    /// POSTs sent (or about to be).
    pub attempts: u32,
    /// Database time of the last `REQUEST_BEFORE` commit.
    pub post_sent_at_ms: Option<i64>,
    /// After this database time no POST is sent.
    pub deadline_ms: i64,
    /// `coreTransferId`, the rejection code, or why the transfer is under review.
    pub outcome: Option<String>,
    /// Row creation, database time.
    pub created_at_ms: i64,
    /// Last write, database time.
    pub updated_at_ms: i64,
}

/// Limits of the machine. All durations in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long a claim holds the row. Longer than one delivery's worst-case processing.
    pub lease_ms: i64,
    /// Minimum time between the last send and a "not found" that proves absence.
    pub settle_ms: i64,
    /// From the first claim: no POST after it; unresolved ambiguity becomes `REVIEW`.
    pub deadline_ms: i64,
    /// POSTs per transfer (proven-absent retries included).
    pub max_attempts: u32,
    /// A POST is sent only this soon after its `REQUEST_BEFORE` commit.
    pub send_guard_ms: i64,
    /// The core HTTP client's total timeout.
    pub core_timeout_ms: i64,
    /// The longest the core takes to show a movement after answering (contract: a few seconds).
    pub movement_delay_ms: i64,
    /// Base of the exponential backoff between retries.
    pub backoff_base_ms: i64,
    /// Cap of the backoff.
    pub backoff_cap_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            lease_ms: 30_000,
            settle_ms: 12_000,
            deadline_ms: 15 * 60_000,
            max_attempts: 3,
            send_guard_ms: 1_000,
            core_timeout_ms: 5_000,
            movement_delay_ms: 5_000,
            backoff_base_ms: 200,
            backoff_cap_ms: 20_000,
        }
    }
}

/// A [`Policy`] whose limits contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The settle window is too short to prove absence.
    #[error(
        "transfer.settle_ms: must be at least core_timeout_ms + send_guard_ms + movement_delay_ms = {needed}, got {got}"
    )]
    Settle {
        /// The smallest safe value.
        needed: i64,
        /// The configured value.
        got: i64,
    },
    /// The lease would expire while a POST can still be in flight.
    #[error("transfer.lease_ms: must exceed core_timeout_ms + send_guard_ms = {needed}, got {got}")]
    Lease {
        /// The smallest safe value (exclusive).
        needed: i64,
        /// The configured value.
        got: i64,
    },
    /// Some limit is zero or negative.
    #[error("transfer policy: every limit must be positive and max_attempts at least 1")]
    NonPositive,
}

impl Policy {
    /// Checks the relations the safety argument relies on.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let all = [
            self.lease_ms,
            self.settle_ms,
            self.deadline_ms,
            self.send_guard_ms,
            self.core_timeout_ms,
            self.backoff_base_ms,
            self.backoff_cap_ms,
        ];
        if all.iter().any(|v| *v <= 0) || self.movement_delay_ms < 0 || self.max_attempts == 0 {
            return Err(PolicyError::NonPositive);
        }
        let needed = self.core_timeout_ms + self.send_guard_ms + self.movement_delay_ms;
        if self.settle_ms < needed {
            return Err(PolicyError::Settle {
                needed,
                got: self.settle_ms,
            });
        }
        let needed = self.core_timeout_ms + self.send_guard_ms;
        if self.lease_ms <= needed {
            return Err(PolicyError::Lease {
                needed,
                got: self.lease_ms,
            });
        }
        Ok(())
    }
}

/// The result of `POST /transfers`, classified per the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreAnswer {
    /// 201: executed.
    Executed {
        /// The core's id of the transfer.
        core_transfer_id: String,
    },
    /// 422 (or 400: the order itself is invalid): nothing moved.
    Rejected {
        /// `INSUFFICIENT_FUNDS`, `INVALID_ACCOUNT`, ...
        code: String,
    },
    /// 5xx, timeout, reset, or anything else: may or may not have been executed.
    Ambiguous {
        /// For the logs.
        reason: String,
    },
}

/// The result of looking for the reference in the source account's latest movements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciliation {
    /// The debit movement with our reference exists: the transfer was executed.
    Found {
        /// Its id.
        movement_id: String,
    },
    /// The movements were read and our reference is not among them.
    NotFound,
    /// The movements could not be read (or the page was too full to prove absence).
    Unavailable {
        /// For the logs.
        reason: String,
    },
}

/// What the shell does next, after persisting the row (when the step changed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `POST /transfers` (attempt number `attempt`, 1-based).
    SendTransfer {
        /// 1-based.
        attempt: u32,
    },
    /// Read the source account's latest movements and look for the reference.
    Reconcile,
    /// Publish the customer notification for the recorded outcome.
    Publish,
    /// Nothing left to do: acknowledge the message.
    Done,
    /// Stop for now; try again after `delay_ms` (in-process if short, else via the message's
    /// visibility).
    RetryAfter {
        /// How long to wait.
        delay_ms: i64,
        /// Why, for the logs.
        reason: &'static str,
    },
    /// The transfer went to `REVIEW`: raise the alarm, then acknowledge.
    Alarm,
}

/// The result of a claim attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// No row existed: insert this one.
    Insert(Row),
    /// The row was claimable: write this one if the fence is still `expected_fence`.
    TakeOver {
        /// The claimed row (fence already incremented).
        row: Row,
        /// The fence read.
        expected_fence: i64,
    },
    /// Another consumer holds a live lease: fail the item, retry later.
    Busy {
        /// Until the lease ends (database time), plus a little.
        retry_after_ms: i64,
    },
    /// The row is terminal: nothing to claim; run [`advance`] on it read-only (publish if
    /// needed needs a claim, so this only happens when nothing is left to do).
    Finished(Row),
    /// Same `transferId`, different payload: refused, never executed.
    PayloadMismatch,
}

/// What a new delivery may do with the row of its `transferId`.
pub fn claim(
    existing: Option<&Row>,
    transfer_id: &str,
    payload_hash: &str,
    payload: &str,
    owner: &str,
    now_ms: i64,
    policy: &Policy,
) -> Claim {
    let Some(row) = existing else {
        return Claim::Insert(Row {
            transfer_id: transfer_id.to_owned(),
            payload_hash: payload_hash.to_owned(),
            payload: payload.to_owned(),
            state: TransferState::EventConsumed,
            notification: None,
            fence: 1,
            lease_owner: owner.to_owned(),
            lease_until_ms: now_ms + policy.lease_ms,
            attempts: 0,
            post_sent_at_ms: None,
            deadline_ms: now_ms + policy.deadline_ms,
            outcome: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        });
    };
    if row.payload_hash != payload_hash {
        return Claim::PayloadMismatch;
    }
    let nothing_left = match row.state {
        TransferState::Review => true,
        s if s.is_outcome() => row.notification == Some(NotificationState::Notificated),
        _ => false,
    };
    if nothing_left {
        return Claim::Finished(row.clone());
    }
    if row.lease_until_ms > now_ms {
        return Claim::Busy {
            retry_after_ms: row.lease_until_ms - now_ms + 1,
        };
    }
    let mut next = row.clone();
    next.fence = row.fence + 1;
    next.lease_owner = owner.to_owned();
    next.lease_until_ms = now_ms + policy.lease_ms;
    next.updated_at_ms = now_ms;
    Claim::TakeOver {
        row: next,
        expected_fence: row.fence,
    }
}

/// A step: the row to persist (if it changed) and the effect to perform after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `Some` when the row changed and must be written (fenced) before `effect`.
    pub write: Option<Row>,
    /// What to do next.
    pub effect: Effect,
}

fn keep(effect: Effect) -> Step {
    Step {
        write: None,
        effect,
    }
}

fn write(row: Row, effect: Effect) -> Step {
    Step {
        write: Some(row),
        effect,
    }
}

fn outcome(row: &Row, state: TransferState, why: String, now_ms: i64) -> Step {
    let mut next = row.clone();
    next.state = state;
    next.notification = Some(NotificationState::Notify);
    next.outcome = Some(why);
    next.updated_at_ms = now_ms;
    write(next, Effect::Publish)
}

fn review(row: &Row, why: String, now_ms: i64) -> Step {
    let mut next = row.clone();
    next.state = TransferState::Review;
    next.outcome = Some(why);
    next.updated_at_ms = now_ms;
    write(next, Effect::Alarm)
}

/// Exponential backoff ceiling for retry `n` (the shell adds full jitter).
pub fn backoff_ceiling_ms(policy: &Policy, n: u32) -> i64 {
    let factor = 1i64.checked_shl(n.min(30)).unwrap_or(i64::MAX);
    policy
        .backoff_base_ms
        .saturating_mul(factor)
        .min(policy.backoff_cap_ms)
}

/// What the lease holder does next with its row.
pub fn advance(row: &Row, now_ms: i64, _policy: &Policy) -> Step {
    match row.state {
        TransferState::EventConsumed => {
            if now_ms >= row.deadline_ms {
                // Never sent and too late to send: a definite failure the customer hears about.
                return outcome(
                    row,
                    TransferState::Fail,
                    "DEADLINE_NOT_SENT".to_owned(),
                    now_ms,
                );
            }
            send(row, now_ms)
        }
        TransferState::RequestBefore | TransferState::Waiting => keep(Effect::Reconcile),
        TransferState::Success | TransferState::Fail => match row.notification {
            Some(NotificationState::Notificated) => keep(Effect::Done),
            // `None` cannot be written with an outcome; treat it like NOTIFY (publish) rather
            // than lose the notification.
            _ => keep(Effect::Publish),
        },
        TransferState::Review => keep(Effect::Done),
    }
}

fn send(row: &Row, now_ms: i64) -> Step {
    let mut next = row.clone();
    next.state = TransferState::RequestBefore;
    next.attempts = row.attempts + 1;
    next.post_sent_at_ms = Some(now_ms);
    next.updated_at_ms = now_ms;
    let attempt = next.attempts;
    write(next, Effect::SendTransfer { attempt })
}

/// The lease holder stops for now (a retry is handed back to the queue): it gives the lease
/// up so the next delivery need not wait for it to expire. The fence is kept: giving up the
/// lease does not let this holder's later writes through once someone else claims.
pub fn release(row: &Row, now_ms: i64) -> Row {
    let mut next = row.clone();
    next.lease_until_ms = now_ms.min(row.lease_until_ms);
    next.updated_at_ms = now_ms;
    next
}

/// The lease holder recorded `REQUEST_BEFORE` but then did not send (the send guard elapsed,
/// e.g. an overloaded database made the commit slow). It still holds the lease and the fence,
/// so nobody else can have sent: it restores the row as it was before that write (the
/// attempt is not spent) and gives the lease up.
pub fn unsend(before_send: &Row, now_ms: i64) -> Row {
    release(before_send, now_ms)
}

/// After `POST /transfers` answered (or did not).
pub fn on_core_answer(row: &Row, answer: CoreAnswer, now_ms: i64, policy: &Policy) -> Step {
    if row.state != TransferState::RequestBefore {
        // Only a REQUEST_BEFORE row sends; anything else is a shell bug. Re-derive the next
        // step from the row instead of trusting the answer.
        return advance(row, now_ms, policy);
    }
    match answer {
        CoreAnswer::Executed { core_transfer_id } => {
            outcome(row, TransferState::Success, core_transfer_id, now_ms)
        }
        CoreAnswer::Rejected { code } => outcome(row, TransferState::Fail, code, now_ms),
        CoreAnswer::Ambiguous { .. } => {
            let mut next = row.clone();
            next.state = TransferState::Waiting;
            next.updated_at_ms = now_ms;
            let delay_ms = settle_remaining(row, now_ms, policy).max(1);
            write(
                next,
                Effect::RetryAfter {
                    delay_ms,
                    reason: "ambiguous core answer: reconcile after the settle window",
                },
            )
        }
    }
}

fn settle_remaining(row: &Row, now_ms: i64, policy: &Policy) -> i64 {
    row.post_sent_at_ms
        .map_or(0, |sent| sent + policy.settle_ms - now_ms)
        .max(0)
}

/// After reading the movements.
pub fn on_reconciliation(row: &Row, found: Reconciliation, now_ms: i64, policy: &Policy) -> Step {
    if !row.state.maybe_sent() {
        return advance(row, now_ms, policy);
    }
    match found {
        Reconciliation::Found { movement_id } => outcome(
            row,
            TransferState::Success,
            format!("movement:{movement_id}"),
            now_ms,
        ),
        Reconciliation::NotFound => {
            let wait = settle_remaining(row, now_ms, policy);
            if wait > 0 {
                // A movement may still appear: "not found" proves nothing yet.
                return keep(Effect::RetryAfter {
                    delay_ms: wait,
                    reason: "not found within the settle window",
                });
            }
            // Absence is proven: the earlier attempt did not execute.
            if now_ms >= row.deadline_ms {
                return outcome(
                    row,
                    TransferState::Fail,
                    "DEADLINE_NOT_EXECUTED".to_owned(),
                    now_ms,
                );
            }
            if row.attempts >= policy.max_attempts {
                return outcome(
                    row,
                    TransferState::Fail,
                    "RETRIES_EXHAUSTED".to_owned(),
                    now_ms,
                );
            }
            send(row, now_ms)
        }
        Reconciliation::Unavailable { .. } => {
            if now_ms >= row.deadline_ms {
                return review(row, "AMBIGUOUS_AT_DEADLINE".to_owned(), now_ms);
            }
            keep(Effect::RetryAfter {
                delay_ms: backoff_ceiling_ms(policy, row.attempts),
                reason: "movements unavailable",
            })
        }
    }
}

/// After the SNS publish.
pub fn on_published(row: &Row, ok: bool, now_ms: i64, policy: &Policy) -> Step {
    if !row.state.is_outcome() {
        return advance(row, now_ms, policy);
    }
    if !ok {
        return keep(Effect::RetryAfter {
            delay_ms: policy.backoff_base_ms,
            reason: "notification publish failed",
        });
    }
    let mut next = row.clone();
    next.notification = Some(NotificationState::Notificated);
    next.updated_at_ms = now_ms;
    write(next, Effect::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::default()
    }

    fn fresh(now: i64) -> Row {
        match claim(None, "t1", "h", "{}", "a", now, &policy()) {
            Claim::Insert(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn with(state: TransferState, notification: Option<NotificationState>) -> Row {
        Row {
            state,
            notification,
            attempts: 1,
            post_sent_at_ms: Some(1_000),
            ..fresh(1_000)
        }
    }

    #[test]
    fn default_policy_is_valid_and_contradictions_are_refused() {
        assert_eq!(policy().validate(), Ok(()));
        let p = Policy {
            settle_ms: 1_000,
            ..policy()
        };
        assert!(matches!(
            p.validate(),
            Err(PolicyError::Settle { needed: 11_000, .. })
        ));
        let p = Policy {
            lease_ms: 6_000,
            ..policy()
        };
        assert!(matches!(p.validate(), Err(PolicyError::Lease { .. })));
        let p = Policy {
            max_attempts: 0,
            ..policy()
        };
        assert_eq!(p.validate(), Err(PolicyError::NonPositive));
    }

    #[test]
    fn happy_path() {
        let p = policy();
        let r = fresh(1_000);
        assert_eq!(
            (r.state, r.fence, r.lease_until_ms),
            (TransferState::EventConsumed, 1, 31_000)
        );
        let s = advance(&r, 1_010, &p);
        assert_eq!(s.effect, Effect::SendTransfer { attempt: 1 });
        let r = s.write.unwrap();
        assert_eq!(
            (r.state, r.post_sent_at_ms),
            (TransferState::RequestBefore, Some(1_010))
        );
        let s = on_core_answer(
            &r,
            CoreAnswer::Executed {
                core_transfer_id: "CT1".into(),
            },
            1_020,
            &p,
        );
        assert_eq!(s.effect, Effect::Publish);
        let r = s.write.unwrap();
        assert_eq!(
            (r.state, r.notification),
            (TransferState::Success, Some(NotificationState::Notify))
        );
        let s = on_published(&r, true, 1_030, &p);
        assert_eq!(s.effect, Effect::Done);
        assert_eq!(
            s.write.unwrap().notification,
            Some(NotificationState::Notificated)
        );
    }

    #[test]
    fn claims_respect_live_leases_payloads_and_finished_rows() {
        let p = policy();
        let r = fresh(1_000);
        assert_eq!(
            claim(Some(&r), "t1", "h", "{}", "b", 30_999, &p),
            Claim::Busy { retry_after_ms: 2 }
        );
        match claim(Some(&r), "t1", "h", "{}", "b", 31_000, &p) {
            Claim::TakeOver {
                row,
                expected_fence,
            } => {
                assert_eq!(
                    (row.fence, expected_fence, row.lease_owner.as_str()),
                    (2, 1, "b")
                );
                assert_eq!(row.lease_until_ms, 61_000);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            claim(Some(&r), "t1", "other", "{}", "b", 99_999, &p),
            Claim::PayloadMismatch
        );
        let done = with(TransferState::Success, Some(NotificationState::Notificated));
        assert!(matches!(
            claim(Some(&done), "t1", "h", "{}", "b", 0, &p),
            Claim::Finished(_)
        ));
        let review_row = with(TransferState::Review, None);
        assert!(matches!(
            claim(Some(&review_row), "t1", "h", "{}", "b", 0, &p),
            Claim::Finished(_)
        ));
        // SUCCESS but not yet notified must be claimed so the notification goes out (C4).
        let pending = with(TransferState::Success, Some(NotificationState::Notify));
        assert!(matches!(
            claim(Some(&pending), "t1", "h", "{}", "b", 99_999, &p),
            Claim::TakeOver { .. }
        ));
    }

    #[test]
    fn ambiguous_answers_reconcile_after_the_settle_window_and_never_fail() {
        let p = policy();
        let r = advance(&fresh(0), 0, &p).write.unwrap();
        let s = on_core_answer(
            &r,
            CoreAnswer::Ambiguous {
                reason: "timeout".into(),
            },
            5_000,
            &p,
        );
        let r = s.write.unwrap();
        assert_eq!(
            r.state,
            TransferState::Waiting,
            "a 5xx/timeout is never FAIL (C14)"
        );
        assert_eq!(
            s.effect,
            Effect::RetryAfter {
                delay_ms: 7_000,
                reason: "ambiguous core answer: reconcile after the settle window"
            }
        );
        assert_eq!(advance(&r, 12_000, &p).effect, Effect::Reconcile);
        // Not found inside the window: wait, do not resend (C15).
        let s = on_reconciliation(&r, Reconciliation::NotFound, 11_999, &p);
        assert_eq!(
            (s.write, s.effect.clone()),
            (
                None,
                Effect::RetryAfter {
                    delay_ms: 1,
                    reason: "not found within the settle window"
                }
            )
        );
        // Found: SUCCESS, no second POST (C2/C3).
        let s = on_reconciliation(
            &r,
            Reconciliation::Found {
                movement_id: "MV1".into(),
            },
            6_000,
            &p,
        );
        assert_eq!(s.write.unwrap().state, TransferState::Success);
        // Proven absent: resend as attempt 2.
        let s = on_reconciliation(&r, Reconciliation::NotFound, 12_000, &p);
        assert_eq!(s.effect, Effect::SendTransfer { attempt: 2 });
    }

    #[test]
    fn retries_are_bounded_and_the_deadline_stops_sending() {
        let p = policy();
        let mut r = with(TransferState::Waiting, None);
        r.attempts = 3;
        let s = on_reconciliation(&r, Reconciliation::NotFound, 100_000, &p);
        let w = s.write.unwrap();
        assert_eq!(
            (w.state, w.outcome.as_deref()),
            (TransferState::Fail, Some("RETRIES_EXHAUSTED"))
        );
        r.attempts = 1;
        let late = r.deadline_ms + 1;
        let s = on_reconciliation(&r, Reconciliation::NotFound, late, &p);
        assert_eq!(s.write.unwrap().state, TransferState::Fail);
        let s = on_reconciliation(
            &r,
            Reconciliation::Unavailable {
                reason: "503".into(),
            },
            late,
            &p,
        );
        assert_eq!(
            (s.write.unwrap().state, s.effect),
            (TransferState::Review, Effect::Alarm)
        );
        let s = on_reconciliation(
            &r,
            Reconciliation::Unavailable {
                reason: "503".into(),
            },
            2_000,
            &p,
        );
        assert_eq!(s.write, None);
        assert!(matches!(s.effect, Effect::RetryAfter { .. }));
        // Never sent and past the deadline: FAIL without a POST.
        let mut never = fresh(0);
        never.deadline_ms = 10;
        let s = advance(&never, 10, &p);
        assert_eq!(s.write.unwrap().state, TransferState::Fail);
        assert_eq!(s.effect, Effect::Publish);
    }

    #[test]
    fn release_ends_the_lease_but_keeps_the_fence() {
        let p = policy();
        let r = fresh(1_000);
        let released = release(&r, 2_000);
        assert_eq!((released.fence, released.lease_until_ms), (r.fence, 2_000));
        assert!(matches!(
            claim(Some(&released), "t1", "h", "{}", "b", 2_000, &p),
            Claim::TakeOver { .. }
        ));
        assert_eq!(
            release(&r, 99_000).lease_until_ms,
            r.lease_until_ms,
            "never extends"
        );
    }

    #[test]
    fn rejections_fail_and_publish_failure_keeps_notify() {
        let p = policy();
        let r = advance(&fresh(0), 0, &p).write.unwrap();
        let s = on_core_answer(
            &r,
            CoreAnswer::Rejected {
                code: "INSUFFICIENT_FUNDS".into(),
            },
            1,
            &p,
        );
        let r = s.write.unwrap();
        assert_eq!(
            (r.state, r.notification),
            (TransferState::Fail, Some(NotificationState::Notify))
        );
        let s = on_published(&r, false, 2, &p);
        assert_eq!(s.write, None, "the row stays FAIL/NOTIFY (C10)");
        assert!(matches!(s.effect, Effect::RetryAfter { .. }));
    }

    /// Totality: every input in every state gives a step, and the invariants hold: a POST is
    /// only sent from a write that records REQUEST_BEFORE; an outcome always comes with NOTIFY;
    /// the fence never changes outside a claim; terminal states never go back.
    #[test]
    fn every_state_and_input_is_handled_safely() {
        let p = policy();
        let notes = [
            None,
            Some(NotificationState::Notify),
            Some(NotificationState::Notificated),
        ];
        for state in TransferState::ALL {
            for note in notes {
                let row = with(state, note);
                type Input<'p> = Box<dyn Fn(&Row, i64) -> Step + 'p>;
                let inputs: Vec<Input<'_>> = vec![
                    Box::new(|r, now| advance(r, now, &p)),
                    Box::new(|r, now| {
                        on_core_answer(
                            r,
                            CoreAnswer::Executed {
                                core_transfer_id: "c".into(),
                            },
                            now,
                            &p,
                        )
                    }),
                    Box::new(|r, now| {
                        on_core_answer(r, CoreAnswer::Rejected { code: "X".into() }, now, &p)
                    }),
                    Box::new(|r, now| {
                        on_core_answer(r, CoreAnswer::Ambiguous { reason: "x".into() }, now, &p)
                    }),
                    Box::new(|r, now| {
                        on_reconciliation(
                            r,
                            Reconciliation::Found {
                                movement_id: "m".into(),
                            },
                            now,
                            &p,
                        )
                    }),
                    Box::new(|r, now| on_reconciliation(r, Reconciliation::NotFound, now, &p)),
                    Box::new(|r, now| {
                        on_reconciliation(
                            r,
                            Reconciliation::Unavailable { reason: "x".into() },
                            now,
                            &p,
                        )
                    }),
                    Box::new(|r, now| on_published(r, true, now, &p)),
                    Box::new(|r, now| on_published(r, false, now, &p)),
                ];
                for now in [2_000, 50_000, row.deadline_ms + 1] {
                    for input in &inputs {
                        let step = input(&row, now);
                        let after = step.write.clone().unwrap_or_else(|| row.clone());
                        assert_eq!(after.fence, row.fence, "{state:?}");
                        if let Effect::SendTransfer { attempt } = step.effect {
                            let w = step
                                .write
                                .as_ref()
                                .expect("a send is always recorded first");
                            assert_eq!(w.state, TransferState::RequestBefore);
                            assert_eq!(w.attempts, attempt);
                            assert!(attempt <= p.max_attempts);
                            assert!(now < row.deadline_ms, "no POST after the deadline");
                        }
                        if after.state.is_outcome() && !row.state.is_outcome() {
                            assert_eq!(after.notification, Some(NotificationState::Notify));
                        }
                        if row.state.is_terminal() {
                            assert_eq!(after.state, row.state, "terminal states stay");
                        }
                        if step.effect == Effect::Publish {
                            assert!(after.state.is_outcome());
                        }
                    }
                }
            }
        }
    }
}
