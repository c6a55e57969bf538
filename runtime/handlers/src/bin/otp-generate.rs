//! otp-generate: POST /otpGenerate.
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::otp_generate().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::apigw::ApiGatewayProxyRequest>| {
        let deps = deps.clone();
        async move { Ok::<_, Error>(banca_handlers::otp::api::generate(&deps, event.payload).await) }
    }))
    .await
}
