//! audit-collector: SQS AuditEvent batches -> DynamoDB.
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::audit_collector().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
        let deps = deps.clone();
        async move { Ok::<_, Error>(banca_handlers::audit::handle(&deps, event.payload).await?) }
    }))
    .await
}
