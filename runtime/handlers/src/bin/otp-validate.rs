//! otp-validate: POST /otpValidate -> transfer-requests.
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    banca_runtime::lambda::init_logging()?;
    let deps = Arc::new(banca_handlers::boot::otp_validate().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::apigw::ApiGatewayProxyRequest>| {
        let deps = deps.clone();
        async move { Ok::<_, Error>(banca_handlers::otp::api::validate(&deps, event.payload).await) }
    }))
    .await
}
