//! movements-report against the core simulator, Redis and moto SES (raw MIME read back).

use std::sync::Arc;

use banca_handlers::notify::dedup::Dedup;
use banca_handlers::report::{ReportDeps, handle};
use banca_handlers::summary::BasicInfoCache;
use banca_handlers::templates::Templates;
use banca_runtime::lambda::Clock;
use base64::Engine as _;
use serde_json::json;

use crate::common::*;

fn request(id: &str, from: &str, to: &str) -> String {
    json!({"type":"ReportRequested","version":1,"requestId": id,"customerId":"C-100235",
           "accountId":"2200991122","from": from,"to": to,"locale":"es-EC"})
    .to_string()
}

/// The decoded parts of a raw MIME message (base64 bodies), by content type.
fn parts(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in raw.split("\r\n\r\n").collect::<Vec<_>>().windows(2) {
        let headers = chunk[0];
        if let Some(ct) = headers
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            && headers.contains("Content-Transfer-Encoding: base64")
        {
            let b64: String = chunk[1]
                .lines()
                .take_while(|l| !l.starts_with("--"))
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .unwrap();
            out.push((ct.to_owned(), String::from_utf8(bytes).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn a_report_is_rendered_attached_and_mailed_once() {
    let sdk = sdk().await;
    let sim = sim().await;
    let clock: Arc<dyn Clock> = manual_clock();
    let from = verified_sender(&sdk).await;
    let prefix = format!("{}:", unique("rep"));
    // Make movements: two transfers from Juan's account through the core platform itself.
    let http = reqwest::Client::new();
    let cfg = sim.simulator().config().clone();
    for (amount, reference) in [("12.30", "ref-a"), ("0.10", "ref-b")] {
        let status = http
            .post(format!("{}/transfers", sim.base_url()))
            .header("X-Client-Id", &cfg.gateway_client_id)
            .header("X-Client-Secret", &cfg.gateway_client_secret)
            .json(
                &json!({"sourceAccount":"2200991122","destinationAccount":"2200118877",
                          "amount": amount,"currency":"USD","reference": reference}),
            )
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201);
    }
    let today = chrono::Utc::now().date_naive();
    let deps = ReportDeps {
        core: gateway(&sim, clock.clone()),
        cache: BasicInfoCache::new(redis().await, &prefix, 300, 3600, clock.clone()),
        ses: ses_client(&sdk).await,
        from,
        templates: Arc::new(Templates::load().unwrap()),
        dedup: Dedup::new(redis().await, &prefix, 3600),
        max_span_days: 92,
        clock,
    };
    let id = unique("r");
    let d = |days: i64| (today + chrono::Duration::days(days)).to_string();
    let bodies = vec![
        request(&id, &d(-30), &d(0)),
        request("r-rev", &d(0), &d(-1)),
        request("r-long", &d(-200), &d(0)),
        "{}".to_owned(),
    ];
    let r = handle(&deps, sqs_event(&bodies, 1)).await.unwrap();
    assert_eq!(
        failed_ids(&r),
        ["m1", "m2", "m3"],
        "reversed, too long and unparseable fail alone"
    );
    // Juan's address on file at the core platform; read back from moto.
    let sent = ses_sent_to("juan@example.com").await;
    let raw: Vec<&String> = sent
        .iter()
        .filter(|(s, b)| s == "<raw>" && b.contains(&id))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(raw.len(), 1);
    let raw = raw[0];
    assert!(
        raw.contains(&format!(
            "Subject: Sus movimientos del {} al {}",
            d(-30),
            d(0)
        )),
        "{raw}"
    );
    let parts = parts(raw);
    let html = &parts
        .iter()
        .find(|(ct, _)| ct.starts_with("text/html"))
        .unwrap()
        .1;
    assert!(
        html.contains("Movimientos de la cuenta ******1122") && html.contains("Juan Perez"),
        "{html}"
    );
    assert!(html.contains("Total débitos: 12.40 USD"), "{html}");
    let csv = &parts
        .iter()
        .find(|(ct, _)| ct.starts_with("text/csv"))
        .unwrap()
        .1;
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "\"Fecha\",\"Cuenta contraparte\",\"Nombre contraparte\",\"Débito\",\"Crédito\",\"Referencia\""
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(",\"12.30\",\"\",\"ref-a\"")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(",\"0.10\",\"\",\"ref-b\"")),
        "{csv}"
    );

    // Redelivered after success: not mailed twice.
    let r = handle(&deps, sqs_event(&[request(&id, &d(-30), &d(0))], 2))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty());
    let again = ses_sent_to("juan@example.com").await;
    assert_eq!(
        again
            .iter()
            .filter(|(s, b)| s == "<raw>" && b.contains(&id))
            .count(),
        1
    );

    // Core down: the item fails so SQS retries it; nothing is mailed.
    sim.simulator()
        .set_fault(
            banca_simulators::faults::CORE_MOVEMENTS,
            banca_simulators::FaultSpec {
                error_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let id2 = unique("r");
    let r = handle(&deps, sqs_event(&[request(&id2, &d(-3), &d(0))], 1))
        .await
        .unwrap();
    assert_eq!(failed_ids(&r), ["m0"]);
}
