//! authorizer: API Gateway REQUEST/TOKEN Lambda authorizer (UAA JWT + face record).
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::authorizer().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { Ok::<_, Error>(banca_handlers::authorizer::handle(&deps, event.payload).await) }
    }))
    .await
}
