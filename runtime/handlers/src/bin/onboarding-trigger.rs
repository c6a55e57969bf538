//! onboarding-trigger: S3 ObjectCreated -> Step Functions.
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::onboarding_trigger().await?);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::s3::S3Event>| {
            let deps = deps.clone();
            async move {
                Ok::<_, Error>(banca_handlers::onboarding::handle(&deps, event.payload).await?)
            }
        },
    ))
    .await
}
