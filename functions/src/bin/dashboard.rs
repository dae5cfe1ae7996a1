//! The dashboard Lambda: the web dashboard's router ([`clipper_functions::dashboard`], the
//! same one `clipper run` serves) behind a Lambda Function URL, over the DynamoDB channels,
//! clips and sessions tables. Thin wiring of
//! [`clipper_functions::dashboard::function::function_app`].
//!
//! Environment: `TWITCH_CLIENT_ID`, `TWITCH_CLIENT_SECRET_ID` (secret holding the client
//! secret; log-in needs it), `CHANNELS_TABLE`, `CLIPS_TABLE`, `SESSIONS_TABLE`, optional
//! `TWITCH_TOKEN_SECRET` (a log-in by the clipper's account saves its token there),
//! `DASHBOARD_OWNER`, `DASHBOARD_ADMINS` (comma-separated logins), `DASHBOARD_PUBLIC_URL`
//! (custom domain; default: the Function URL), `TWITCH_OAUTH_URL`, `RUST_LOG`.

use std::sync::Arc;

use clipper_functions::aws::AwsConfig;
use clipper_functions::dashboard::function::{function_app, FunctionSettings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let app = function_app(&aws, &FunctionSettings::from_env()?).await?;
    lambda_http::run(Arc::new(app).router()).await
}
