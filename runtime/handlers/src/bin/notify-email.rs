//! notify-email: SQS (SNS fan-out) -> templates -> SES v2.
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::email().await?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let deps = deps.clone();
            async move {
                Ok::<_, Error>(banca_handlers::notify::email::handle(&deps, event.payload).await?)
            }
        },
    ))
    .await
}
