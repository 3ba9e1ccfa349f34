//! `RETENTION_DAYS` against the local DynamoDB of `make test` (its table
//! made from infra/template.yaml, TTL included): unset or `0`, no item gets
//! `expires_at` (kept forever; the template's default is `0`); `N`, every
//! item, events and `invalid` items alike, gets `expires_at` = its receive
//! time + N days, in Unix seconds, the attribute the table's TTL reads. Any
//! other value stops the function at start.
//!
//! `#[ignore]`d so a plain `cargo test` without a server stays green.

mod common;

use aws_sdk_dynamodb::Client;
use common::{answer, counts, stored_item, table_name, Req, TOKEN};
use events_table::item::Item;
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use normalize::{normalize, quarantine, Timestamp};

const DAY: i64 = 86_400;

fn config(retention: Option<&str>) -> Result<Config, String> {
    Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(TOKEN.into()),
            "TABLE_NAME" => Some(table_name()),
            "RETENTION_DAYS" => retention.map(str::to_owned),
            _ => None,
        },
        None,
    )
    .map_err(|e| e.to_string())
}

fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// The items one request of each kind leaves, stored with `RETENTION_DAYS`
/// = `retention`: an event, a member kept as `invalid` beside it, and a
/// refused body kept whole.
async fn items_stored_with(retention: Option<&str>) -> [(&'static str, Item); 3] {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "run through `make test` (infra/local/with-dynamodb.sh), which starts the local DynamoDB"
    );
    let client = dynamo::client().await;
    let table = DynamoTable::new(client.clone(), table_name());
    let app = App::new(Provider::Sendpulse, config(retention).unwrap(), table);
    let tag = nonce();

    let event = format!(
        r#"{{"timestamp":"1732528800","event":"open","task_id":"{tag}","email":"reader@example.com"}}"#
    );
    let member = format!(r#""not an event {tag}""#);
    let body = format!("[{event},{member}]");
    let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
    assert_eq!((status, counts(&json)), (200, (2, 1, 0)), "{json}");
    assert_eq!(json["quarantined"], 1, "{json}");

    let refused = format!(r#"{{"not json {tag}""#);
    let (status, json) = answer(app.handle(Req::post(refused.clone()).build()).await);
    assert_eq!(status, 400, "{json}");

    let now = Timestamp::now();
    let alone = format!("[{event}]");
    let event_id = &normalize(Provider::Sendpulse, alone.as_bytes(), now).unwrap()[0].event_id;
    let member_id = quarantine(Provider::Sendpulse, member.as_bytes(), "", now).event_id;
    let body_id = quarantine(Provider::Sendpulse, refused.as_bytes(), "", now).event_id;
    [
        ("event", get(&client, event_id).await),
        ("quarantined member", get(&client, &member_id).await),
        ("refused body", get(&client, &body_id).await),
    ]
}

async fn get(client: &Client, id: &str) -> Item {
    stored_item(client, &table_name(), id)
        .await
        .unwrap_or_else(|| panic!("{id} not stored"))
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn unset_or_zero_retention_writes_no_expiry() {
    for retention in [None, Some("0"), Some(" 0 ")] {
        for (kind, item) in items_stored_with(retention).await {
            assert!(
                !item.contains_key("expires_at"),
                "RETENTION_DAYS={retention:?}: the {kind} item expires: {:?}",
                item["expires_at"]
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn retention_of_n_days_expires_every_item_n_days_after_its_receipt() {
    for days in [1, 30, 3650] {
        let setting = days.to_string();
        for (kind, item) in items_stored_with(Some(&setting)).await {
            let received = item["received_at"].as_s().unwrap();
            let received = Timestamp::parse(received).unwrap().unix_seconds();
            let expires: i64 = item
                .get("expires_at")
                .unwrap_or_else(|| {
                    panic!("RETENTION_DAYS={days}: the {kind} item has no expires_at")
                })
                .as_n()
                .expect("a number, as DynamoDB's TTL needs")
                .parse()
                .expect("whole seconds");
            assert_eq!(
                expires,
                received + days * DAY,
                "RETENTION_DAYS={days}: the {kind} item"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn the_table_expires_items_by_the_attribute_the_functions_write() {
    let client = dynamo::client().await;
    let ttl = client
        .describe_time_to_live()
        .table_name(table_name())
        .send()
        .await
        .expect("DescribeTimeToLive");
    let description = ttl.time_to_live_description.expect("a TTL description");
    assert_eq!(description.attribute_name(), Some("expires_at"));
}

#[test]
fn other_retention_values_stop_the_function_at_start() {
    for bad in ["-1", "seven", "1.5", "1e3", "4294967296"] {
        let error = config(Some(bad)).expect_err(bad);
        assert!(error.contains("RETENTION_DAYS"), "{error}");
    }
    assert_eq!(config(Some("0")).unwrap().retention_days, None);
    assert_eq!(config(Some("7")).unwrap().retention_days, Some(7));
}
