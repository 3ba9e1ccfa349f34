//! The shared Lambda runtime of the five provider functions: configuration,
//! authentication, limits, and request → normalize → DynamoDB → response.

mod auth;
mod config;
mod error;
mod handler;
pub mod metrics;
mod tokens;

pub use config::{Config, SecretIds, DEFAULT_MAX_BODY_BYTES};
pub use handler::App;
pub use normalize::Provider;
pub use tokens::{secrets_client, secrets_client_at, Tokens};

use events_table::{dynamo, DynamoTable};
use lambda_http::{service_fn, Request};
use std::convert::Infallible;

pub type Error = lambda_http::Error;

/// The environment variable holding a provider's custom success body.
pub fn success_body_var(provider: Provider) -> Option<&'static str> {
    provider.answer_body_var()
}

/// A provider function's whole life: read config, build the DynamoDB
/// client once and warm its connection while the token secrets are read
/// (when configured), then serve requests.
pub async fn run(provider: Provider) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(success_body_var(provider))?;
    let table = DynamoTable::new(dynamo::client().await, &config.table_name);
    let tokens = async {
        match &config.secrets {
            Some(ids) => {
                let client = secrets_client().await;
                Tokens::from_secrets(client, ids.clone(), config.allow_unauthenticated).await
            }
            None => Tokens::fixed(&config),
        }
    };
    let ((), tokens) = tokio::join!(table.warm_up(), tokens);
    if tokens.refuses_everyone() && config.secrets.is_none() {
        tracing::warn!(
            provider = provider.as_str(),
            "WEBHOOK_TOKENS is empty: every request will be refused with 401"
        );
    }
    let app = App::with_tokens(provider, config, tokens, table);
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(app.handle(request).await)
    }))
    .await
}
