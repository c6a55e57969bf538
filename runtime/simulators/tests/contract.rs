//! The simulators over real HTTP, as their clients see them: each answer checked against
//! `shared/contracts/existing-systems.openapi.yaml`, and every fault kind driven through the
//! admin API.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use banca_simulators::{SimConfig, SimHandle, faults};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

struct T {
    sim: SimHandle,
    http: reqwest::Client,
}

impl T {
    async fn new(config: SimConfig) -> Self {
        let sim = banca_simulators::start(config).await.unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(1500))
            .build()
            .unwrap();
        Self { sim, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    fn core(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header("X-Client-Id", "banca")
            .header("X-Client-Secret", "banca-gateway-secret")
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .core(self.http.get(self.url(path)))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn transfer(&self, body: Value) -> Result<(u16, Value), reqwest::Error> {
        let r = self
            .core(self.http.post(self.url("/transfers")))
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    async fn admin_put(&self, path: &str, body: Value) -> u16 {
        self.http
            .put(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn admin_get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn order(reference: &str, amount: &str) -> Value {
    json!({"sourceAccount":"2200118877","destinationAccount":"2200991122","amount":amount,
           "currency":"USD","reference":reference,"description":"rent"})
}

#[tokio::test]
async fn core_reads_follow_the_contract() {
    let t = T::new(SimConfig::default()).await;
    let (s, basic) = t.get("/customers/C-100234/basic").await;
    assert_eq!(s, 200);
    for f in ["customerId", "fullName", "email", "phone"] {
        assert!(basic[f].is_string(), "{f} in {basic}");
    }
    assert!(
        basic.get("nationalId").is_none(),
        "basic info is not the complete record"
    );
    let (s, complete) = t.get("/customers/C-100234/complete").await;
    assert_eq!(s, 200);
    assert_eq!(complete["nationalId"], "1710034065");
    assert_eq!(t.get("/customers/C-999/basic").await.0, 404);
    assert_eq!(t.get("/customers/C-999/complete").await.0, 404);
    let (s, products) = t.get("/customers/C-100234/products").await;
    assert_eq!(s, 200);
    assert_eq!(products[0]["productId"], "2200118877");
    assert_eq!(products[0]["kind"], "savings");
    assert_eq!(products[0]["balance"], "5000.00");
    assert_eq!(t.get("/accounts/999999/movements").await.0, 404);
    assert_eq!(t.get("/accounts/2200118877/movements?limit=0").await.0, 400);
    assert_eq!(
        t.get("/accounts/2200118877/movements?limit=501").await.0,
        400
    );
    assert_eq!(
        t.get("/accounts/2200118877/movements?from=2026-02-30")
            .await
            .0,
        400
    );
    assert_eq!(
        t.get("/customers/C-100234/transfers/latest?limit=11")
            .await
            .0,
        400
    );

    // Without the gateway headers: 401.
    let r = t
        .http
        .get(t.url("/customers/C-100234/basic"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn a_transfer_moves_money_once_per_post_and_copies_the_reference() {
    let t = T::new(SimConfig::default()).await;
    let (s, receipt) = t.transfer(order("banca:t-1", "125.50")).await.unwrap();
    assert_eq!(s, 201);
    assert!(receipt["coreTransferId"].is_string() && receipt["executedAt"].is_string());
    let (_, movements) = t.get("/accounts/2200118877/movements").await;
    assert_eq!(movements[0]["reference"], "banca:t-1");
    assert_eq!(movements[0]["direction"], "debit");
    assert_eq!(movements[0]["amount"], "125.50");
    assert_eq!(movements[0]["counterpartyName"], "Juan Perez");
    let (_, credit) = t.get("/accounts/2200991122/movements").await;
    assert_eq!(credit[0]["direction"], "credit");

    // No idempotency key: the same POST again moves money again, and the ledger shows it.
    assert_eq!(
        t.transfer(order("banca:t-1", "125.50")).await.unwrap().0,
        201
    );
    assert_eq!(
        t.admin_get("/__admin/ledger/banca:t-1").await,
        json!({"posts":2,"executed":2,"rejected":0})
    );
    assert_eq!(
        t.sim
            .simulator()
            .account("2200118877")
            .unwrap()
            .balance
            .to_string(),
        "4749.00"
    );

    let (_, latest) = t.get("/customers/C-100234/transfers/latest").await;
    assert_eq!(latest.as_array().unwrap().len(), 2);
    assert_eq!(latest[0]["destinationName"], "Juan Perez");
    assert_eq!(latest[0]["amount"], "125.50");
    let (_, one) = t.get("/customers/C-100234/transfers/latest?limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    // Date filter: today's movements are inside a range around today, outside one in 2001.
    let (_, old) = t
        .get("/accounts/2200118877/movements?from=2001-01-01&to=2001-12-31")
        .await;
    assert_eq!(old, json!([]));
}

#[tokio::test]
async fn business_rejections_are_422_with_a_code_and_move_nothing() {
    let t = T::new(SimConfig::default()).await;
    let cases = [
        (order("r1", "99999.00"), "LIMIT_EXCEEDED"),
        (order("r2", "9000.00"), "INSUFFICIENT_FUNDS"),
        (
            json!({"sourceAccount":"2200118877","destinationAccount":"123456789","amount":"1.00","currency":"USD","reference":"r3"}),
            "INVALID_ACCOUNT",
        ),
    ];
    for (body, code) in cases {
        let (s, rej) = t.transfer(body).await.unwrap();
        assert_eq!((s, rej["code"].as_str().unwrap()), (422, code));
        assert!(rej["message"].is_string());
    }
    assert_eq!(
        t.admin_put(
            "/__admin/core/accounts",
            json!({"accountId":"2200334455","customerId":"C-100236","balance":"50.00","blocked":true})
        )
        .await,
        204
    );
    let body = json!({"sourceAccount":"2200334455","destinationAccount":"2200991122","amount":"1.00","currency":"USD","reference":"r4"});
    assert_eq!(t.transfer(body).await.unwrap().1["code"], "ACCOUNT_BLOCKED");
    assert_eq!(
        t.sim
            .simulator()
            .account("2200118877")
            .unwrap()
            .balance
            .to_string(),
        "5000.00"
    );
    assert_eq!(t.sim.simulator().ledger("r2").rejected, 1);
    // Malformed orders are 400, not a business rejection.
    assert_eq!(t.transfer(order("r5", "1.5")).await.unwrap().0, 400);
    assert_eq!(
        t.transfer(order(&"x".repeat(65), "1.00")).await.unwrap().0,
        400
    );
}

#[tokio::test]
async fn injected_faults_error_lost_and_error_after_execute() {
    let t = T::new(SimConfig::default()).await;
    let spec = json!({"script":["error","errorAfterExecute","lost","timeout"],"hangMs":3000});
    assert_eq!(
        t.admin_put("/__admin/faults/core.transfers", spec).await,
        204
    );

    let (s, _) = t.transfer(order("f1", "1.00")).await.unwrap();
    assert_eq!(s, 503);
    assert_eq!(
        t.sim.simulator().ledger("f1"),
        banca_simulators::LedgerEntry {
            posts: 1,
            executed: 0,
            rejected: 0
        }
    );

    let (s, _) = t.transfer(order("f2", "1.00")).await.unwrap();
    assert_eq!(s, 503, "executed, then a 5xx: ambiguous for the caller");
    assert_eq!(t.sim.simulator().ledger("f2").executed, 1);

    let err = t.transfer(order("f3", "1.00")).await.unwrap_err();
    assert!(err.is_timeout(), "the response is lost: {err}");
    assert_eq!(t.sim.simulator().ledger("f3").executed, 1);

    let err = t.transfer(order("f4", "1.00")).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(t.sim.simulator().ledger("f4").executed, 0);

    assert_eq!(
        t.transfer(order("f5", "1.00")).await.unwrap().0,
        201,
        "the script is used up"
    );
    let counts = t.admin_get("/__admin/requests").await;
    assert_eq!(counts["core.transfers"], 5);

    // Refused specs say why.
    let r = t
        .http
        .put(t.url("/__admin/faults/core.nope"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("unknown endpoint"));
    assert_eq!(
        t.admin_put("/__admin/faults/core.transfers", json!({"errorRate": 2.0}))
            .await,
        400
    );
}

#[tokio::test]
async fn latency_and_read_endpoint_faults() {
    let t = T::new(SimConfig::default()).await;
    t.admin_put(
        "/__admin/faults/core.movements",
        json!({"script":["error"],"status":502}),
    )
    .await;
    assert_eq!(t.get("/accounts/2200118877/movements").await.0, 502);
    assert_eq!(t.get("/accounts/2200118877/movements").await.0, 200);
    t.admin_put(
        "/__admin/faults/core.customerBasic",
        json!({"latencyMs":200}),
    )
    .await;
    let start = std::time::Instant::now();
    assert_eq!(t.get("/customers/C-100234/basic").await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(200));
    let r = t
        .http
        .delete(t.url("/__admin/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        t.admin_get("/__admin/faults/core.customerBasic").await["latencyMs"],
        0
    );
}

#[tokio::test]
async fn movements_can_appear_only_after_a_delay() {
    let t = T::new(SimConfig::default()).await;
    t.admin_put(
        "/__admin/faults/core.transfers",
        json!({"movementDelayMs": 5000}),
    )
    .await;
    assert_eq!(t.transfer(order("late-1", "10.00")).await.unwrap().0, 201);
    let (_, now) = t.get("/accounts/2200118877/movements").await;
    assert_eq!(now, json!([]), "not visible yet");
    assert_eq!(
        t.admin_get("/__admin/core/accounts/2200118877/movements")
            .await[0]["reference"],
        "late-1"
    );
    let r = t
        .http
        .post(t.url("/__admin/clock/advance"))
        .json(&json!({"ms": 5000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, later) = t.get("/accounts/2200118877/movements").await;
    assert_eq!(later[0]["reference"], "late-1");
}

#[tokio::test]
async fn open_accounts_mode_creates_accounts_and_customers_on_demand() {
    let t = T::new(SimConfig::open()).await;
    let body = json!({"sourceAccount":"1000000001","destinationAccount":"1000000002","amount":"10.00","currency":"USD","reference":"o-1"});
    assert_eq!(t.transfer(body).await.unwrap().0, 201);
    let (s, c) = t.get("/customers/C-1000000001/basic").await;
    assert_eq!(s, 200);
    assert!(c["phone"].as_str().unwrap().starts_with("+5939"));
    assert_eq!(
        t.get("/accounts/1000000002/movements").await.1[0]["direction"],
        "credit"
    );
}

fn verify_jwt(token: &str, jwks: &Value) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is published");
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &sig,
        )
        .expect("signature verifies with the published key");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

async fn token(t: &T, form: &[(&str, &str)]) -> (u16, Value) {
    let r = t
        .http
        .post(t.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

#[tokio::test]
async fn uaa_password_and_refresh_grants_issue_verifiable_rs256_tokens() {
    let t = T::new(SimConfig::default()).await;
    let client = [
        ("client_id", "banca-web"),
        ("client_secret", "banca-web-secret"),
    ];
    let (s, tok) = token(
        &t,
        &[
            &client[..],
            &[
                ("grant_type", "password"),
                ("username", "maria"),
                ("password", "Quito#2026"),
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 300);
    let jwks = t.admin_get("/.well-known/jwks.json").await;
    let claims = verify_jwt(tok["access_token"].as_str().unwrap(), &jwks);
    let mut keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["aud", "exp", "iat", "iss", "scope", "sub"]);
    assert_eq!(
        claims["sub"],
        t.sim.simulator().user("maria").unwrap().user_id
    );
    assert_eq!(claims["aud"], "banca-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    // Refresh: works once (rotation), then is invalid_grant.
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    let refresh = [
        &client[..],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
        ],
    ]
    .concat();
    let (s, tok2) = token(&t, &refresh).await;
    assert_eq!(s, 200);
    assert_eq!(
        verify_jwt(tok2["access_token"].as_str().unwrap(), &jwks)["sub"],
        claims["sub"]
    );
    assert_eq!(token(&t, &refresh).await.1["error"], "invalid_grant");

    // Wrong password, unknown grant, bad client.
    let (s, e) = token(
        &t,
        &[
            &client[..],
            &[
                ("grant_type", "password"),
                ("username", "maria"),
                ("password", "x"),
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, e) = token(
        &t,
        &[&client[..], &[("grant_type", "client_credentials")]].concat(),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, e) = token(
        &t,
        &[
            ("client_id", "banca-web"),
            ("client_secret", "nope"),
            ("grant_type", "password"),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // HTTP basic client authentication works too.
    let r = t
        .http
        .post(t.url("/oauth/token"))
        .basic_auth("banca-web", Some("banca-web-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "maria"),
            ("password", "Quito#2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn uaa_key_rotation_keeps_old_tokens_verifiable_until_retired() {
    let t = T::new(SimConfig::default()).await;
    let form = [
        ("client_id", "banca-web"),
        ("client_secret", "banca-web-secret"),
        ("grant_type", "password"),
        ("username", "maria"),
        ("password", "Quito#2026"),
    ];
    let old = token(&t, &form).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // No short timeout here: generating an RSA key takes a while on a loaded machine.
    let r: Value = reqwest::Client::new()
        .post(t.url("/__admin/uaa/rotate-key"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = r["kid"].as_str().unwrap().to_owned();
    let jwks = t.admin_get("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    verify_jwt(&old, &jwks);
    let new = token(&t, &form).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(new.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid);
    t.sim.simulator().rotate_signing_key(true).unwrap();
    let jwks = t.admin_get("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert!(
        !jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == new_kid)
    );

    // Arbitrary claims for authorizer tests (e.g. an expired token).
    let signed: Value = t
        .http
        .post(t.url("/__admin/uaa/sign"))
        .json(&json!({"iss":"x","sub":"u-1","aud":"banca-api","exp":1,"iat":0,"scope":"banking"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        verify_jwt(signed["token"].as_str().unwrap(), &jwks)["exp"],
        1
    );
}

#[tokio::test]
async fn uaa_registers_users_and_refuses_duplicates() {
    let t = T::new(SimConfig::default()).await;
    let user = json!({"username":"pedro","password":"S3guro!","customerId":"C-100235",
                      "email":"pedro@example.com","phone":"+593987654321"});
    let r = t
        .http
        .post(t.url("/users"))
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert!(body["userId"].as_str().unwrap().starts_with("u-"));
    let r = t
        .http
        .post(t.url("/users"))
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let mut bad = user.clone();
    bad["username"] = json!("otro");
    bad["phone"] = json!("0991234567");
    assert_eq!(
        t.http
            .post(t.url("/users"))
            .json(&bad)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    // The new user can log in.
    let form = [
        ("client_id", "banca-web"),
        ("client_secret", "banca-web-secret"),
        ("grant_type", "password"),
        ("username", "pedro"),
        ("password", "S3guro!"),
    ];
    let (s, tok) = token(&t, &form).await;
    assert_eq!(s, 200);
    assert_eq!(
        verify_jwt(
            tok["access_token"].as_str().unwrap(),
            &t.sim.simulator().jwks()
        )["sub"],
        body["userId"]
    );
}

#[tokio::test]
async fn twilio_sends_counts_and_rejects_like_twilio() {
    let t = T::new(SimConfig::default()).await;
    let sid = "AC00000000000000000000000000000001";
    let url = t.url(&format!("/2010-04-01/Accounts/{sid}/Messages.json"));
    let send = |to: &'static str| {
        t.http
            .post(&url)
            .basic_auth(sid, Some("twilio-test-token"))
            .form(&[
                ("To", to),
                ("From", "+15005550006"),
                ("Body", "Su codigo es 123456"),
            ])
            .send()
    };
    let r = send("+593991234567").await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert!(body["sid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(body["status"], "queued");
    send("+593991234567").await.unwrap();

    let r = send("0991234567").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 21211);

    let r = t
        .http
        .post(&url)
        .basic_auth(sid, Some("wrong"))
        .form(&[
            ("To", "+593991234567"),
            ("From", "+15005550006"),
            ("Body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    t.sim
        .simulator()
        .set_fault(
            faults::TWILIO_MESSAGES,
            banca_simulators::FaultSpec {
                script: [banca_simulators::Step::Error].into(),
                status: 429,
                ..Default::default()
            },
        )
        .unwrap();
    let r = send("+593991234567").await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 20429);

    let listed = t
        .admin_get("/__admin/twilio/messages?to=%2B593991234567")
        .await;
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["messages"][0]["body"], "Su codigo es 123456");
    assert_eq!(
        t.admin_get("/__admin/twilio/counts").await,
        json!({"+593991234567": 2})
    );

    // Reset clears messages, faults and the ledger.
    assert_eq!(
        t.http
            .post(t.url("/__admin/reset"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(t.admin_get("/__admin/twilio/counts").await, json!({}));
}
