//! The core platform and the independent system: customers, accounts, movements and the one
//! non-idempotent operation, `POST /transfers`.
//!
//! Faithful to the contract: the core has no idempotency key (two POSTs move money twice), it
//! copies `reference` verbatim into the debit movement of the source account, and a movement
//! can become visible some time after the POST returned (`FaultSpec::movement_delay_ms`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use banca_contracts::money::Amount;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::faults::{
    CORE_CUSTOMER_BASIC, CORE_MOVEMENTS, CORE_PRODUCTS, CORE_TRANSFERS, CORE_TRANSFERS_LATEST,
    INDEPENDENT_CUSTOMER_COMPLETE,
};
use crate::{Simulator, after, before, lock, time};

/// A customer as the core platform and the independent system know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// `C-100234`.
    pub customer_id: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address.
    pub email: String,
    /// E.164 phone number.
    pub phone: String,
    /// Commercial segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Ecuadorian cedula (independent system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    /// `YYYY-MM-DD` (independent system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Postal address (independent system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Occupation (independent system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    /// Money string (independent system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_income: Option<String>,
}

/// An account (a product of kind savings or checking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// 6-20 digits.
    pub account_id: String,
    /// The owner.
    pub customer_id: String,
    /// `savings` or `checking`.
    #[serde(default = "savings")]
    pub kind: String,
    /// ISO 4217 code.
    #[serde(default = "usd")]
    pub currency: String,
    /// Current balance.
    pub balance: Amount,
    /// A blocked account rejects transfers with `ACCOUNT_BLOCKED`.
    #[serde(default)]
    pub blocked: bool,
}

fn savings() -> String {
    "savings".to_owned()
}
fn usd() -> String {
    "USD".to_owned()
}

/// A posted movement, as `GET /accounts/{id}/movements` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    /// Unique id.
    pub movement_id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// When it was posted (RFC 3339 UTC).
    pub posted_at: String,
    /// Always positive; `direction` says which way.
    pub amount: Amount,
    /// ISO 4217 code.
    pub currency: String,
    /// `debit` or `credit`.
    pub direction: String,
    /// The other account.
    pub counterparty_account: String,
    /// The other account's holder.
    pub counterparty_name: String,
    /// The caller's reference, verbatim.
    pub reference: String,
}

/// What the core saw for one `reference`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// Every `POST /transfers` that reached the server with this reference.
    pub posts: u64,
    /// How many of them moved money. More than 1 is a double execution.
    pub executed: u64,
    /// How many were rejected with 422.
    pub rejected: u64,
}

struct Posted {
    movement: Movement,
    posted_ms: i64,
    visible_ms: i64,
}

pub(crate) struct CoreState {
    customers: BTreeMap<String, Customer>,
    accounts: BTreeMap<String, Account>,
    /// Per account, in posting order (oldest first).
    movements: BTreeMap<String, Vec<Posted>>,
    ledger: BTreeMap<String, LedgerEntry>,
    next_id: u64,
}

impl CoreState {
    pub(crate) fn seeded() -> Self {
        let mut s = Self {
            customers: BTreeMap::new(),
            accounts: BTreeMap::new(),
            movements: BTreeMap::new(),
            ledger: BTreeMap::new(),
            next_id: 1,
        };
        let people = [
            (
                "C-100234",
                "Maria Lopez",
                "maria@example.com",
                "+593991234567",
                "2200118877",
                500_000,
            ),
            (
                "C-100235",
                "Juan Perez",
                "juan@example.com",
                "+593987654321",
                "2200991122",
                120_000,
            ),
            (
                "C-100236",
                "Ana Torres",
                "ana@example.com",
                "+593998877665",
                "2200334455",
                50_00,
            ),
        ];
        for (id, name, email, phone, account, cents) in people {
            s.customers.insert(
                id.to_owned(),
                Customer {
                    customer_id: id.to_owned(),
                    full_name: name.to_owned(),
                    email: email.to_owned(),
                    phone: phone.to_owned(),
                    segment: Some("retail".to_owned()),
                    national_id: Some("1710034065".to_owned()),
                    birth_date: Some("1988-04-12".to_owned()),
                    address: Some("Av. Amazonas N34-120, Quito".to_owned()),
                    occupation: Some("engineer".to_owned()),
                    monthly_income: Some("2500.00".to_owned()),
                },
            );
            s.accounts.insert(
                account.to_owned(),
                Account {
                    account_id: account.to_owned(),
                    customer_id: id.to_owned(),
                    kind: savings(),
                    currency: usd(),
                    balance: money(cents),
                    blocked: false,
                },
            );
        }
        s
    }

    fn next(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}{:010}", self.next_id);
        self.next_id += 1;
        id
    }

    fn ensure_account(&mut self, open: bool, account_id: &str) -> bool {
        if self.accounts.contains_key(account_id) {
            return true;
        }
        if !open || !is_account_id(account_id) {
            return false;
        }
        let customer_id = format!("C-{account_id}");
        self.ensure_customer(true, &customer_id);
        self.accounts.insert(
            account_id.to_owned(),
            Account {
                account_id: account_id.to_owned(),
                customer_id,
                kind: savings(),
                currency: usd(),
                balance: money(100_000_000_000),
                blocked: false,
            },
        );
        true
    }

    fn ensure_customer(&mut self, open: bool, customer_id: &str) -> bool {
        if self.customers.contains_key(customer_id) {
            return true;
        }
        if !open || customer_id.is_empty() || customer_id.len() > 64 {
            return false;
        }
        // A stable, valid E.164 number derived from the id, so notifications can be asserted.
        let digits: u64 = customer_id
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 100_000_000;
        let local = customer_id
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "");
        self.customers.insert(
            customer_id.to_owned(),
            Customer {
                customer_id: customer_id.to_owned(),
                full_name: format!("Cliente {customer_id}"),
                email: format!("{local}@example.com"),
                phone: format!("+5939{digits:08}"),
                segment: Some("retail".to_owned()),
                national_id: None,
                birth_date: None,
                address: None,
                occupation: None,
                monthly_income: None,
            },
        );
        true
    }
}

fn money(cents: i64) -> Amount {
    Amount::from_decimal(Decimal::new(cents, 2)).unwrap_or_else(unreachable_amount)
}

#[allow(clippy::panic)]
fn unreachable_amount() -> Amount {
    // Only reached if a literal above were negative: a bug in this file, not input.
    panic!("seed amounts are non-negative with two places")
}

fn is_account_id(s: &str) -> bool {
    (6..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl Simulator {
    /// Adds or replaces a customer.
    pub fn upsert_customer(&self, customer: Customer) {
        lock(&self.core)
            .customers
            .insert(customer.customer_id.clone(), customer);
    }

    /// Adds or replaces an account; its customer must exist.
    pub fn upsert_account(&self, account: Account) -> Result<(), crate::SimError> {
        let mut core = lock(&self.core);
        if !is_account_id(&account.account_id) {
            return Err(crate::SimError::Invalid(format!(
                "accountId must be 6-20 digits, got {:?}",
                account.account_id
            )));
        }
        if !core.customers.contains_key(&account.customer_id) {
            return Err(crate::SimError::Invalid(format!(
                "customer {:?} does not exist; hint: create it first",
                account.customer_id
            )));
        }
        core.accounts.insert(account.account_id.clone(), account);
        Ok(())
    }

    /// An account's current state.
    pub fn account(&self, account_id: &str) -> Option<Account> {
        lock(&self.core).accounts.get(account_id).cloned()
    }

    /// The ledger entry of one reference (zeroes when never seen).
    pub fn ledger(&self, reference: &str) -> LedgerEntry {
        lock(&self.core)
            .ledger
            .get(reference)
            .copied()
            .unwrap_or_default()
    }

    /// The whole ledger.
    pub fn ledger_all(&self) -> BTreeMap<String, LedgerEntry> {
        lock(&self.core).ledger.clone()
    }

    /// Every movement of an account, visible or not yet, newest first.
    pub fn all_movements(&self, account_id: &str) -> Vec<Movement> {
        lock(&self.core)
            .movements
            .get(account_id)
            .map(|v| v.iter().rev().map(|p| p.movement.clone()).collect())
            .unwrap_or_default()
    }
}

pub(crate) fn routes() -> Router<Arc<Simulator>> {
    Router::new()
        .route("/customers/{customer_id}/basic", get(customer_basic))
        .route("/customers/{customer_id}/complete", get(customer_complete))
        .route("/customers/{customer_id}/products", get(products))
        .route(
            "/customers/{customer_id}/transfers/latest",
            get(transfers_latest),
        )
        .route("/accounts/{account_id}/movements", get(movements))
        .route("/transfers", post(post_transfer))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({"error": message.into()}))).into_response()
}

fn authorized(sim: &Simulator, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-client-id") == Some(sim.config.gateway_client_id.as_str())
        && header("x-client-secret") == Some(sim.config.gateway_client_secret.as_str())
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid X-Client-Id/X-Client-Secret",
    )
}

async fn customer_basic(
    State(sim): State<Arc<Simulator>>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let d = sim.decide(CORE_CUSTOMER_BASIC, Some(&customer_id));
    if let Some(r) = before(&d).await {
        return r;
    }
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let found = {
        let mut core = lock(&sim.core);
        let open = sim.config.open_accounts;
        core.ensure_customer(open, &customer_id)
            .then(|| core.customers.get(&customer_id).cloned())
            .flatten()
    };
    let served = match found {
        Some(c) => Json(serde_json::json!({
            "customerId": c.customer_id, "fullName": c.full_name, "email": c.email,
            "phone": c.phone, "segment": c.segment,
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown customer {customer_id}"),
        ),
    };
    after(&d, served).await
}

async fn customer_complete(
    State(sim): State<Arc<Simulator>>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let d = sim.decide(INDEPENDENT_CUSTOMER_COMPLETE, Some(&customer_id));
    if let Some(r) = before(&d).await {
        return r;
    }
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let found = {
        let mut core = lock(&sim.core);
        let open = sim.config.open_accounts;
        core.ensure_customer(open, &customer_id)
            .then(|| core.customers.get(&customer_id).cloned())
            .flatten()
    };
    let served = match found {
        Some(c) => Json(c).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown customer {customer_id}"),
        ),
    };
    after(&d, served).await
}

async fn products(
    State(sim): State<Arc<Simulator>>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let d = sim.decide(CORE_PRODUCTS, Some(&customer_id));
    if let Some(r) = before(&d).await {
        return r;
    }
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let list: Vec<serde_json::Value> = lock(&sim.core)
        .accounts
        .values()
        .filter(|a| a.customer_id == customer_id)
        .map(|a| {
            serde_json::json!({
                "productId": a.account_id, "kind": a.kind, "currency": a.currency,
                "balance": a.balance,
            })
        })
        .collect();
    after(&d, Json(list).into_response()).await
}

#[derive(Deserialize)]
struct LatestQuery {
    limit: Option<String>,
}

async fn transfers_latest(
    State(sim): State<Arc<Simulator>>,
    Path(customer_id): Path<String>,
    Query(q): Query<LatestQuery>,
    headers: HeaderMap,
) -> Response {
    let d = sim.decide(CORE_TRANSFERS_LATEST, Some(&customer_id));
    if let Some(r) = before(&d).await {
        return r;
    }
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 4,
        Some(Ok(n)) if (1..=10).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "limit must be an integer within 1..=10",
            );
        }
    };
    let now = sim.now_ms();
    let mut latest: Vec<(i64, serde_json::Value)> = {
        let core = lock(&sim.core);
        core.accounts
            .values()
            .filter(|a| a.customer_id == customer_id)
            .flat_map(|a| core.movements.get(&a.account_id).into_iter().flatten())
            .filter(|p| p.movement.direction == "debit" && p.visible_ms <= now)
            .map(|p| {
                (
                    p.posted_ms,
                    serde_json::json!({
                        "date": p.movement.posted_at, "amount": p.movement.amount,
                        "destinationName": p.movement.counterparty_name,
                    }),
                )
            })
            .collect()
    };
    latest.sort_by_key(|e| std::cmp::Reverse(e.0));
    let list: Vec<_> = latest.into_iter().take(limit).map(|(_, v)| v).collect();
    after(&d, Json(list).into_response()).await
}

#[derive(Deserialize)]
struct MovementsQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
}

async fn movements(
    State(sim): State<Arc<Simulator>>,
    Path(account_id): Path<String>,
    Query(q): Query<MovementsQuery>,
    headers: HeaderMap,
) -> Response {
    let d = sim.decide(CORE_MOVEMENTS, Some(&account_id));
    if let Some(r) = before(&d).await {
        return r;
    }
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "limit must be an integer within 1..=500",
            );
        }
    };
    let parse = |v: &Option<String>, field: &str| match v {
        None => Ok(None),
        Some(s) => time::parse_date(s)
            .map(Some)
            .ok_or_else(|| format!("{field} must be a date YYYY-MM-DD, got {s:?}")),
    };
    let (from, to) = match (parse(&q.from, "from"), parse(&q.to, "to")) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, m),
    };
    let now = sim.now_ms();
    let listed: Option<Vec<Movement>> = {
        let mut core = lock(&sim.core);
        core.ensure_account(sim.config.open_accounts, &account_id)
            .then(|| {
                core.movements
                    .get(&account_id)
                    .into_iter()
                    .flatten()
                    .rev()
                    .filter(|p| p.visible_ms <= now)
                    .filter(|p| {
                        let day = p.posted_ms.div_euclid(86_400_000);
                        from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t)
                    })
                    .take(limit)
                    .map(|p| p.movement.clone())
                    .collect()
            })
    };
    let served = match listed {
        Some(list) => Json(list).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown account {account_id}"),
        ),
    };
    after(&d, served).await
}

/// `TransferOrder` of the contract.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransferOrder {
    source_account: String,
    destination_account: String,
    amount: String,
    currency: String,
    reference: String,
    #[serde(default)]
    description: Option<String>,
}

fn reject(code: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(serde_json::json!({"code": code, "message": message})),
    )
        .into_response()
}

async fn post_transfer(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let order: TransferOrder = match serde_json::from_slice(&body) {
        Ok(o) => o,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid TransferOrder: {e}"),
            );
        }
    };
    let amount: Amount = match order.amount.parse() {
        Ok(a) => a,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "amount must match ^[0-9]+\\.[0-9]{{2}}$, got {:?}",
                    order.amount
                ),
            );
        }
    };
    if order.reference.is_empty() || order.reference.len() > 64 {
        return error(StatusCode::BAD_REQUEST, "reference must be 1-64 characters");
    }
    if order
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 140)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "description must be at most 140 characters",
        );
    }
    // Every POST that reached the server counts, whatever happens next.
    lock(&sim.core)
        .ledger
        .entry(order.reference.clone())
        .or_default()
        .posts += 1;
    let d = sim.decide(CORE_TRANSFERS, Some(&order.reference));
    if let Some(r) = before(&d).await {
        return r;
    }
    let served = execute(&sim, &order, amount, d.movement_delay_ms);
    after(&d, served).await
}

fn execute(sim: &Simulator, order: &TransferOrder, amount: Amount, delay_ms: u64) -> Response {
    let open = sim.config.open_accounts;
    let now = sim.now_ms();
    let mut core = lock(&sim.core);
    let rejected = |core: &mut CoreState, code: &str, message: String| {
        core.ledger
            .entry(order.reference.clone())
            .or_default()
            .rejected += 1;
        reject(code, message)
    };
    if !core.ensure_account(open, &order.source_account) {
        return rejected(
            &mut core,
            "INVALID_ACCOUNT",
            format!("unknown source account {}", order.source_account),
        );
    }
    if !core.ensure_account(open, &order.destination_account)
        || order.source_account == order.destination_account
    {
        return rejected(
            &mut core,
            "INVALID_ACCOUNT",
            format!("invalid destination account {}", order.destination_account),
        );
    }
    let (src, dst) = match (
        core.accounts.get(&order.source_account).cloned(),
        core.accounts.get(&order.destination_account).cloned(),
    ) {
        (Some(s), Some(d)) => (s, d),
        _ => return rejected(&mut core, "INVALID_ACCOUNT", "account vanished".to_owned()),
    };
    if src.currency != order.currency || dst.currency != order.currency {
        return rejected(
            &mut core,
            "INVALID_ACCOUNT",
            format!("accounts do not hold {}", order.currency),
        );
    }
    if src.blocked || dst.blocked {
        return rejected(
            &mut core,
            "ACCOUNT_BLOCKED",
            "an account of the transfer is blocked".to_owned(),
        );
    }
    if amount.decimal() > sim.config.transfer_limit {
        return rejected(
            &mut core,
            "LIMIT_EXCEEDED",
            format!(
                "amount {amount} exceeds the limit of {:.2}",
                sim.config.transfer_limit
            ),
        );
    }
    let (Some(new_src), Some(new_dst)) = (
        Amount::from_decimal(src.balance.decimal() - amount.decimal()),
        Amount::from_decimal(dst.balance.decimal() + amount.decimal()),
    ) else {
        return rejected(
            &mut core,
            "INSUFFICIENT_FUNDS",
            format!("balance below {amount}"),
        );
    };
    let dest_name = core
        .customers
        .get(&dst.customer_id)
        .map(|c| c.full_name.clone())
        .unwrap_or_default();
    let src_name = core
        .customers
        .get(&src.customer_id)
        .map(|c| c.full_name.clone())
        .unwrap_or_default();
    if let Some(a) = core.accounts.get_mut(&src.account_id) {
        a.balance = new_src;
    }
    if let Some(a) = core.accounts.get_mut(&dst.account_id) {
        a.balance = new_dst;
    }
    let core_transfer_id = core.next("CT");
    let visible_ms = now + i64::try_from(delay_ms).unwrap_or(i64::MAX / 2);
    for (account, direction, other, other_name) in [
        (&src.account_id, "debit", &dst.account_id, dest_name),
        (&dst.account_id, "credit", &src.account_id, src_name),
    ] {
        let movement = Movement {
            movement_id: core.next("MV"),
            account_id: account.clone(),
            posted_at: time::rfc3339(now),
            amount,
            currency: order.currency.clone(),
            direction: direction.to_owned(),
            counterparty_account: other.clone(),
            counterparty_name: other_name,
            reference: order.reference.clone(),
        };
        core.movements
            .entry(account.clone())
            .or_default()
            .push(Posted {
                movement,
                posted_ms: now,
                visible_ms,
            });
    }
    core.ledger
        .entry(order.reference.clone())
        .or_default()
        .executed += 1;
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"coreTransferId": core_transfer_id, "executedAt": time::rfc3339(now)})),
    )
        .into_response()
}
