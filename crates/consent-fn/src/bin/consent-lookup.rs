//! `consent-lookup`: `GET /consent?email=...` (or `phone=`, `contact=`) on
//! the HTTP API, behind IAM authorization: the person's consent as the
//! `webhooks consent --json` object (docs/consent.md).

use consent_fn::{lookup, settings_from_env, table_name_from_env, ConsentTable};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env());
    let settings = settings_from_env();
    let (table, settings) = (&table, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(lookup::http_answer(table, settings, &request).await)
    }))
    .await
}
