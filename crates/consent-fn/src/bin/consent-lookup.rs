//! `consent-lookup`: `GET /consent?email=...` (or `phone=`, `contact=`) on
//! the HTTP API, behind IAM authorization: the person's consent as the
//! `webhooks consent --json` object (docs/consent.md). With the erasure hash
//! key, a forgotten person is found by their old address.

use consent_fn::{erasure, lookup, settings_from_env, table_name_from_env, ConsentTable};
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let key = erasure::key_at_start().await?;
    if key.is_none() {
        tracing::warn!("no erasure hash key: a forgotten person's lookup answers unknown");
    }
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env())
        .with_hash_key(key);
    let settings = settings_from_env();
    let (table, settings) = (&table, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(lookup::http_answer(table, settings, &request).await)
    }))
    .await
}
