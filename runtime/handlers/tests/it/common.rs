//! Shared fixtures.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use banca_handlers::clients::{GatewayClient, GatewayCredentials};
use banca_runtime::lambda::{Clock, ManualClock, SeededRng, Sensitive};
use banca_simulators::{SimConfig, SimHandle};

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000_000;
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

pub async fn sdk() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL must point at moto (source scripts/env.sh)"
    );
    banca_runtime::lambda::load_sdk_config().await
}

pub async fn redis() -> redis::aio::ConnectionManager {
    let url = std::env::var("BANCA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).unwrap();
    redis::aio::ConnectionManager::new(client).await.unwrap()
}

pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(1_800_000_000_000))
}

pub async fn sim() -> SimHandle {
    banca_simulators::start(SimConfig::default()).await.unwrap()
}

pub fn gateway(sim: &SimHandle, clock: Arc<dyn Clock>) -> GatewayClient {
    let cfg = sim.simulator().config();
    GatewayClient::new(
        banca_handlers::clients::http_client().unwrap(),
        &sim.base_url(),
        Sensitive::new(GatewayCredentials {
            client_id: cfg.gateway_client_id.clone(),
            client_secret: cfg.gateway_client_secret.clone(),
        }),
        Arc::new(SeededRng::new(7)),
        clock,
    )
}

pub async fn queue(sdk: &aws_config::SdkConfig, name: &str) -> String {
    aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(unique(name))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Every message body now in the queue (bounded: 10 receives).
pub async fn drain(sdk: &aws_config::SdkConfig, url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    for _ in 0..10 {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let msgs = r.messages();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            out.push(m.body().unwrap_or_default().to_owned());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

/// An SQS Lambda event with these bodies, ids `m0`, `m1`, ... and receive count `receives`.
pub fn sqs_event(bodies: &[String], receives: u32) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({
                "messageId": format!("m{i}"),
                "receiptHandle": "AQEB",
                "body": b,
                "attributes": {
                    "ApproximateReceiveCount": receives.to_string(),
                    "SentTimestamp": "1800000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1800000000000"
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:banca-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

pub fn failed_ids(r: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// An API Gateway (REST, proxy) request as Lambda receives it, with the authorizer's context.
pub fn api_request(
    method: &str,
    path: &str,
    body: Option<&str>,
    user: Option<(&str, &str)>,
    query: &[(&str, &str)],
) -> ApiGatewayProxyRequest {
    let mut authorizer = serde_json::Map::new();
    if let Some((u, c)) = user {
        authorizer.insert("principalId".into(), u.into());
        authorizer.insert("userId".into(), u.into());
        authorizer.insert("customerId".into(), c.into());
        authorizer.insert("integrationLatency".into(), 12.into());
    }
    let q: serde_json::Map<String, serde_json::Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).into()))
        .collect();
    serde_json::from_value(serde_json::json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "User-Agent": "banca-app/1.0"},
        "multiValueHeaders": {},
        "queryStringParameters": if q.is_empty() { serde_json::Value::Null } else { serde_json::Value::Object(q) },
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "190.152.0.10", "userAgent": "banca-app/1.0"},
            "resourcePath": path,
            "httpMethod": method,
            "apiId": "1234567890",
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": false
    }))
    .unwrap()
}

pub fn status_and_body(
    r: &aws_lambda_events::apigw::ApiGatewayProxyResponse,
) -> (i64, serde_json::Value) {
    let body = match &r.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (r.status_code, body)
}

/// A moto server of this test process's own, for SES only. SES mail is read back through
/// moto's `/moto-api/data.json`, which serialises *every* model of the server: on the shared
/// moto, one Lambda function created by another test (whose model needs Docker to serialise)
/// makes it answer 500. A private instance holds nothing but our SES state. It is started once,
/// on an ephemeral loopback port, by a shell that ends it when this test process exits.
pub async fn ses_endpoint() -> String {
    static ENDPOINT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    ENDPOINT
        .get_or_init(|| async {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let script = format!(
                "py=$(command -v python3.11 || command -v python3); \
                 \"$py\" -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & child=$!; \
                 while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $child",
                parent = std::process::id()
            );
            // Deliberately not waited for: the shell outlives nothing but this process, and
            // ends the server itself when this process is gone.
            #[allow(clippy::zombie_processes)]
            let _watchdog = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}");
            // Bounded wait for the server: 100 tries, 100 ms apart.
            for _ in 0..100 {
                if reqwest::get(format!("{url}/moto-api/")).await.is_ok() {
                    return url;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("private moto for SES did not start on {url}")
        })
        .await
        .clone()
}

/// An SES v2 client of the private moto.
pub async fn ses_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::config::Builder::from(sdk)
        .endpoint_url(ses_endpoint().await)
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// Messages SES (v2, simple and raw) accepted in moto for `to`, read back through moto's
/// model endpoint: `(subject, body)` for simple ones, `("<raw>", raw MIME)` for raw ones.
pub async fn ses_sent_to(to: &str) -> Vec<(String, String)> {
    // moto serialises its whole state here; a concurrent test mutating it can make one read
    // fail, so read again (bounded).
    let mut data = serde_json::Value::Null;
    for _ in 0..5 {
        let resp = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint().await))
            .await
            .unwrap();
        if let Ok(v) = resp.json::<serde_json::Value>().await {
            data = v;
            break;
        }
    }
    assert!(data.is_object(), "moto data.json unreadable 5 times");
    let mut out = Vec::new();
    for m in data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let tos = m["destinations"]["ToAddresses"].to_string();
        if tos.contains(&format!("\"{to}\"")) {
            out.push((
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    for m in data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if m["destinations"].to_string().contains(&format!("\"{to}\"")) {
            out.push((
                "<raw>".into(),
                m["raw_data"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

pub async fn verified_sender(sdk: &aws_config::SdkConfig) -> String {
    let from = format!("{}@bank.example", unique("notify"));
    ses_client(sdk)
        .await
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    from
}

pub async fn dynamo_table(sdk: &aws_config::SdkConfig, name: &str, pk: &str) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let table = unique(name);
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(pk)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(pk)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    table
}

pub async fn secret(sdk: &aws_config::SdkConfig, value: &str) -> String {
    let name = unique("secret");
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    name
}
