//! `consent`: the function fed by the events table's stream (consent types
//! only, by the event source mapping's filter). It keeps the consent table
//! current and reports the records it could not apply as batch item
//! failures (docs/consent.md).

use consent_fn::{stream, table_name_from_env, ConsentTable};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env());
    let table = &table;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        stream::handle_batch(table, &event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
