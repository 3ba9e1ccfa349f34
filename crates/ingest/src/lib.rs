//! The shared Lambda runtime of the five provider functions: configuration,
//! authentication, limits, and request → normalize → DynamoDB → response.

mod auth;
mod config;
mod error;
mod handler;
pub mod metrics;

pub use config::{Config, DEFAULT_MAX_BODY_BYTES};
pub use handler::App;
pub use normalize::Provider;

use events_table::{dynamo, DynamoTable};
use lambda_http::{service_fn, Request};
use std::convert::Infallible;

pub type Error = lambda_http::Error;

/// The environment variable holding a provider's custom success body.
pub fn success_body_var(provider: Provider) -> Option<&'static str> {
    provider.answer_body_var()
}

/// A provider function's whole life: read config, build the DynamoDB
/// client once, warm its connection, then serve requests.
pub async fn run(provider: Provider) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(success_body_var(provider))?;
    let table = DynamoTable::new(dynamo::client().await, &config.table_name);
    table.warm_up().await;
    let app = App::new(provider, config, table);
    if app.auth.refuses_everyone() {
        tracing::warn!(
            provider = provider.as_str(),
            "WEBHOOK_TOKENS is empty: every request will be refused with 401"
        );
    }
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(app.handle(request).await)
    }))
    .await
}
