//! audit-collector against moto DynamoDB (with the byUser index), and the query helper.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use banca_handlers::audit::{AuditStore, BY_USER_INDEX, OCCURRED_KEY, PK, USER_ID, handle};
use serde_json::json;

use crate::common::*;

pub(crate) async fn table(sdk: &aws_config::SdkConfig) -> String {
    let name = unique("audit");
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK))
        .attribute_definitions(attr(USER_ID))
        .attribute_definitions(attr(OCCURRED_KEY))
        .key_schema(key(PK, KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(BY_USER_INDEX)
                .key_schema(key(USER_ID, KeyType::Hash))
                .key_schema(key(OCCURRED_KEY, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

pub(crate) fn event(id: &str, user: &str, at: &str, action: &str) -> String {
    json!({"type":"AuditEvent","version":1,"eventId": id,"occurredAt": at,
           "actor":{"userId": user,"ip":"190.152.0.10","userAgent":"banca-app/1.0"},
           "action": action,"resource": format!("transfer/{id}"),"outcome":"success","details":{"channel":"mobile"}})
    .to_string()
}

#[tokio::test]
async fn events_are_stored_once_and_queried_by_user_and_time() {
    let sdk = sdk().await;
    let table = table(&sdk).await;
    let store = AuditStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone());
    let user = unique("u");
    let other = unique("v");
    let batch = vec![
        event("e-1", &user, "2026-11-28T10:00:00Z", "transfer.requested"),
        "{\"type\":\"AuditEvent\"".to_owned(),
        event("e-2", &user, "2026-11-28T11:00:00Z", "otp.validate"),
        event("e-3", &other, "2026-11-28T10:30:00Z", "user.signup"),
        event("e-4", &user, "2026-11-28T12:00:00Z", "Not An Action"),
        event("e-5", &user, "2026-11-29T09:00:00Z", "transfer.requested"),
    ];
    let r = handle(&store, sqs_event(&batch, 1)).await.unwrap();
    assert_eq!(
        failed_ids(&r),
        ["m1", "m4"],
        "only the malformed items fail"
    );
    // Redelivery of the whole batch (and a reused eventId with other content): no duplicates.
    let mut again = batch.clone();
    again.push(event(
        "e-1",
        &user,
        "2026-11-30T00:00:00Z",
        "transfer.requested",
    ));
    let r = handle(&store, sqs_event(&again, 2)).await.unwrap();
    assert_eq!(failed_ids(&r), ["m1", "m4"]);
    let scan = aws_sdk_dynamodb::Client::new(&sdk)
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 4);

    let day = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let found = store
        .query_user(
            &user.parse().unwrap(),
            day("2026-11-28T00:00:00Z"),
            day("2026-11-28T23:59:59Z"),
        )
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        ["e-1", "e-2"],
        "oldest first, other users and days excluded"
    );
    assert_eq!(found[0].details["channel"], "mobile");
    // Inclusive bounds.
    let exact = store
        .query_user(
            &user.parse().unwrap(),
            day("2026-11-28T11:00:00Z"),
            day("2026-11-28T11:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);
}

#[tokio::test]
async fn a_store_failure_fails_the_items_for_retry() {
    let sdk = sdk().await;
    let store = AuditStore::new(aws_sdk_dynamodb::Client::new(&sdk), unique("no-such-table"));
    let r = handle(
        &store,
        sqs_event(
            &[event("e-9", "u-1", "2026-11-28T10:00:00Z", "user.login")],
            1,
        ),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&r), ["m0"]);
}
