//! `consent`: the function fed by the events table's stream (consent types
//! only, by the event source mapping's filter). It keeps the consent table
//! current, reports the records it could not apply as batch item failures,
//! writes the deliverability metrics of each batch, and, when fan-out is on,
//! publishes each verdict change as `consent.changed` (docs/consent.md).

use consent_fn::changes::Changes;
use consent_fn::metrics::Tally;
use consent_fn::{settings_from_env, stream, table_name_from_env, ConsentTable};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env());
    // `consent.changed` on the bus only when the stack's fan-out is on.
    let changes = match std::env::var("EVENT_BUS_NAME")
        .ok()
        .filter(|b| !b.is_empty())
    {
        Some(bus) => {
            let config = aws_config::load_from_env().await;
            Changes::to_bus(
                aws_sdk_eventbridge::Client::new(&config),
                bus,
                settings_from_env(),
            )
        }
        None => Changes::off(),
    };
    let (table, changes) = (&table, &changes);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let mut tally = Tally::default();
        let answer = stream::handle_batch(table, &event.payload, &mut tally, changes).await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut stdout = std::io::stdout().lock();
        for line in tally.lines(now) {
            // A metrics line lost to a closed stdout is not worth failing the batch.
            let _ = writeln!(stdout, "{line}");
        }
        answer.map_err(Error::from)
    }))
    .await
}
