//! The authorizer against the UAA simulator (tokens, JWKS) and moto (face records).

use std::sync::Arc;

use banca_handlers::authorizer::{AuthorizerDeps, JwksCache, JwtConfig, handle};
use banca_handlers::face::{FaceStore, FaceVerdict};
use banca_runtime::lambda::Clock;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;

use crate::common::*;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/me/summary";

struct Rig {
    deps: AuthorizerDeps,
    clock: Arc<banca_runtime::lambda::ManualClock>,
    sim: banca_simulators::SimHandle,
    faces: FaceStore,
}

async fn rig() -> Rig {
    let sdk = sdk().await;
    let sim = sim().await;
    let table = dynamo_table(&sdk, "faces", "userId").await;
    let faces = FaceStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let uaa = &sim.simulator().config().uaa;
    let manual = manual_clock();
    let clock: Arc<dyn Clock> = manual.clone();
    let deps = AuthorizerDeps {
        jwt: JwtConfig {
            issuer: uaa.issuer.clone(),
            audience: uaa.audience.clone(),
            leeway_secs: 30,
        },
        jwks: Arc::new(JwksCache::new(
            banca_handlers::clients::http_client().unwrap(),
            &format!("{}/.well-known/jwks.json", sim.base_url()),
            clock,
        )),
        faces: faces.clone(),
        upload_prefix: "uploads/".into(),
    };
    Rig {
        deps,
        clock: manual,
        sim,
        faces,
    }
}

pub(crate) async fn login(sim: &banca_simulators::SimHandle) -> String {
    let uaa = &sim.simulator().config().uaa;
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", banca_simulators::uaa::DEMO_USERNAME),
            ("password", banca_simulators::uaa::DEMO_PASSWORD),
            ("client_id", uaa.client_id.as_str()),
            ("client_secret", uaa.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_owned()
}

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

fn token_event(token: &str) -> serde_json::Value {
    json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": ARN})
}

fn request_event(token: &str) -> serde_json::Value {
    // The REQUEST authorizer payload (ApiGatewayCustomAuthorizerRequestTypeRequest).
    let e: aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(json!({
            "type": "REQUEST", "methodArn": ARN, "resource": "/me/summary", "path": "/me/summary",
            "httpMethod": "GET",
            "headers": {"Authorization": format!("Bearer {token}"), "User-Agent": "banca-app/1.0"},
            "queryStringParameters": {}, "pathParameters": {}, "stageVariables": {},
            "requestContext": {"path": "/prod/me/summary", "accountId": "123456789012",
                "resourceId": "abc", "stage": "prod", "requestId": "r-1",
                "identity": {"sourceIp": "190.152.0.10"}, "resourcePath": "/me/summary",
                "httpMethod": "GET", "apiId": "abc123"}
        }))
        .unwrap();
    serde_json::to_value(e).unwrap()
}

async fn activate(r: &Rig, user: &str, customer: &str) {
    let user = user.parse().unwrap();
    r.faces
        .put_pending(&user, &customer.parse().unwrap(), "2026-11-28T10:00:00Z")
        .await
        .unwrap();
    let verdict = FaceVerdict::Accepted {
        confidence: 99.9,
        brightness: 70.0,
        sharpness: 80.0,
    };
    r.faces
        .activate(&user, "uploads/u/p.jpg", &verdict, "2026-11-28T10:05:00Z")
        .await
        .unwrap();
}

fn effect(
    resp: &aws_lambda_events::apigw::ApiGatewayCustomAuthorizerResponse,
) -> (String, serde_json::Value) {
    let v = serde_json::to_value(resp).unwrap();
    (
        v["policyDocument"]["Statement"][0]["Effect"]
            .as_str()
            .unwrap()
            .to_owned(),
        v["context"].clone(),
    )
}

#[tokio::test]
async fn valid_token_with_face_is_allowed_with_the_user_in_context() {
    let r = rig().await;
    let token = login(&r.sim).await;
    let user = claims_of(&token)["sub"].as_str().unwrap().to_owned();
    activate(&r, &user, "C-100234").await;
    for event in [token_event(&token), request_event(&token)] {
        let resp = handle(&r.deps, event).await;
        let (eff, ctx) = effect(&resp);
        assert_eq!(eff, "Allow", "{ctx}");
        assert_eq!(ctx["userId"], user.as_str());
        assert_eq!(ctx["customerId"], "C-100234");
        assert_eq!(resp.principal_id.as_deref(), Some(user.as_str()));
        let v = serde_json::to_value(&resp).unwrap();
        assert_eq!(
            v["policyDocument"]["Statement"][0]["Resource"][0],
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"
        );
    }
    assert_eq!(r.deps.jwks.fetches(), 1, "the JWKS is cached");
}

#[tokio::test]
async fn valid_token_without_face_is_denied_with_photo_required() {
    let r = rig().await;
    let token = login(&r.sim).await;
    let user = claims_of(&token)["sub"].as_str().unwrap().to_owned();
    let (eff, ctx) = effect(&handle(&r.deps, token_event(&token)).await);
    assert_eq!(eff, "Deny");
    assert_eq!(ctx["reason"], "photo_required");
    assert_eq!(ctx["uploadPrefix"], format!("uploads/{user}/"));
    assert!(
        ctx["message"]
            .as_str()
            .unwrap()
            .starts_with("photo required")
    );
    // Signed up but the photo is not accepted yet: same answer.
    r.faces
        .put_pending(
            &user.parse().unwrap(),
            &"C-100234".parse().unwrap(),
            "2026-11-28T10:00:00Z",
        )
        .await
        .unwrap();
    let (eff, ctx) = effect(&handle(&r.deps, request_event(&token)).await);
    assert_eq!(
        (eff.as_str(), ctx["reason"].as_str()),
        ("Deny", Some("photo_required"))
    );
}

#[tokio::test]
async fn every_doubtful_token_is_denied() {
    let r = rig().await;
    let good = login(&r.sim).await;
    let user = claims_of(&good)["sub"].as_str().unwrap().to_owned();
    activate(&r, &user, "C-100234").await;
    let base = claims_of(&good);
    let now = base["iat"].as_i64().unwrap();
    let sign = |mut patch: serde_json::Value| {
        let mut claims = base.clone();
        for (k, v) in patch.as_object_mut().unwrap().iter() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        r.sim.simulator().sign_claims(&claims).unwrap()
    };
    let header_of = |t: &str| -> serde_json::Value {
        serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap()
    };
    let with_header = |t: &str, h: serde_json::Value| {
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[0] = B64.encode(h.to_string());
        parts.join(".")
    };
    let kid = header_of(&good)["kid"].clone();
    // HS256 "signed" with the public key (the JWKS modulus) as the HMAC secret.
    let jwks: serde_json::Value =
        reqwest::get(format!("{}/.well-known/jwks.json", r.sim.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let public = jwks["keys"][0]["n"].as_str().unwrap().as_bytes().to_vec();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = kid.as_str().map(str::to_owned);
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &base,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    let mut tampered_claims = base.clone();
    tampered_claims["sub"] = json!("u-someone-else");
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = B64.encode(tampered_claims.to_string());
        parts.join(".")
    };
    let cases = vec![
        ("expired", sign(json!({"exp": now - 120, "iat": now - 600}))),
        (
            "wrong issuer",
            sign(json!({"iss": "https://evil.example/oauth/token"})),
        ),
        ("wrong audience", sign(json!({"aud": "another-api"}))),
        ("not yet valid", sign(json!({"nbf": now + 600}))),
        ("issued in the future", sign(json!({"iat": now + 600}))),
        ("no exp", sign(json!({"exp": null}))),
        ("no iss", sign(json!({"iss": null}))),
        ("no aud", sign(json!({"aud": null}))),
        ("no sub", sign(json!({"sub": null}))),
        (
            "alg none",
            format!(
                "{}.{}.",
                B64.encode(json!({"alg":"none","typ":"JWT","kid": kid}).to_string()),
                good.split('.').nth(1).unwrap()
            ),
        ),
        (
            "alg none, signature kept",
            with_header(&good, json!({"alg":"none","typ":"JWT","kid": kid})),
        ),
        ("HS256 with the public key", hs256),
        (
            "unknown kid",
            with_header(&good, json!({"alg":"RS256","typ":"JWT","kid":"not-a-key"})),
        ),
        (
            "no kid",
            with_header(&good, json!({"alg":"RS256","typ":"JWT"})),
        ),
        ("tampered payload", tampered),
        ("garbage", "a.b.c".into()),
        ("two parts", "a.b".into()),
        ("huge", "a".repeat(9000)),
    ];
    for (name, token) in cases {
        let (eff, ctx) = effect(&handle(&r.deps, token_event(&token)).await);
        assert_eq!(
            (eff.as_str(), ctx["reason"].as_str()),
            ("Deny", Some("invalid_token")),
            "{name}"
        );
        assert!(ctx.get("userId").is_none(), "{name}");
    }
    // No token at all, and a Basic header.
    for event in [
        json!({"type":"TOKEN","authorizationToken":"","methodArn":ARN}),
        json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":"Basic dTpw"}}),
    ] {
        assert_eq!(effect(&handle(&r.deps, event).await).0, "Deny");
    }
    // Unknown kids refetch the JWKS at most once per interval, however many arrive.
    assert!(
        r.deps.jwks.fetches() <= 2,
        "fetches {}",
        r.deps.jwks.fetches()
    );
    // The good token still passes.
    assert_eq!(
        effect(&handle(&r.deps, token_event(&good)).await).0,
        "Allow"
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_one_refresh() {
    let r = rig().await;
    let first = login(&r.sim).await;
    let user = claims_of(&first)["sub"].as_str().unwrap().to_owned();
    activate(&r, &user, "C-100234").await;
    assert_eq!(
        effect(&handle(&r.deps, token_event(&first)).await).0,
        "Allow"
    );
    r.sim.simulator().rotate_signing_key(false).unwrap();
    let second = login(&r.sim).await;
    // Within the refresh interval an unknown kid is refused without asking the UAA...
    assert_eq!(
        effect(&handle(&r.deps, token_event(&second)).await).0,
        "Deny"
    );
    assert_eq!(r.deps.jwks.fetches(), 1);
    // ...after it, one refresh picks the new key up.
    r.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(
        effect(&handle(&r.deps, token_event(&second)).await).0,
        "Allow"
    );
    assert_eq!(r.deps.jwks.fetches(), 2);
    assert_eq!(
        effect(&handle(&r.deps, token_event(&first)).await).0,
        "Allow",
        "old key still published"
    );
}

#[tokio::test]
async fn a_face_store_failure_denies() {
    let r = rig().await;
    let token = login(&r.sim).await;
    let sdk = sdk().await;
    let deps = AuthorizerDeps {
        faces: FaceStore::new(aws_sdk_dynamodb::Client::new(&sdk), unique("missing-table")),
        ..r.deps.clone()
    };
    let (eff, ctx) = effect(&handle(&deps, token_event(&token)).await);
    assert_eq!(
        (eff.as_str(), ctx["reason"].as_str()),
        ("Deny", Some("unavailable"))
    );
}
