//! What the tests of every crate and the bench share, so none keeps its own
//! copy: API Gateway requests ([`request`]), the fixtures, an in-memory
//! table that holds DynamoDB's limits ([`memory`]), a local DynamoDB of a
//! test's own ([`dynoxide`]), a proxy in front of it that answers chosen
//! calls with DynamoDB's faults ([`fault_proxy`]), a local Secrets Manager
//! ([`moto`]), and `cargo lambda watch` ([`watch`]).
//! Development only; never part of a function.

pub mod dynoxide;
pub mod fault_proxy;
pub mod memory;
pub mod moto;
pub mod request;
pub mod watch;

pub use dynoxide::Dynoxide;
pub use fault_proxy::{Fault, FaultProxy, Rule};
pub use memory::{ItemTest, MemoryTable};
pub use moto::Moto;
pub use request::{answer, counts, Req, TOKEN};
pub use watch::Watch;

use events_table::item::{decode_raw, Item};
use normalize::Provider;
use std::path::PathBuf;
use std::time::Duration;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, as text.
pub fn read(path: &str) -> String {
    let path = repo_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A provider's fixture bodies (`crates/normalize/tests/fixtures/<provider>/`),
/// sorted.
pub fn normalizer_fixtures(provider: Provider) -> Vec<PathBuf> {
    let dir = repo_root()
        .join("crates/normalize/tests/fixtures")
        .join(provider.as_str());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// [`normalizer_fixtures`] and the provider's sample body
/// (`events/bodies/<provider>.json`), sorted.
pub fn fixture_files(provider: Provider) -> Vec<PathBuf> {
    let mut files = normalizer_fixtures(provider);
    files.push(repo_root().join(format!("events/bodies/{provider}.json")));
    files.sort();
    files
}

/// A provider's sample body (`events/bodies/<provider>.json`) as API Gateway
/// (HTTP API v2) hands it to the function: `events/apigw-v2-template.json`
/// with `{provider}` replaced by the provider's name and `body` set to the
/// sample body, as `make invoke` builds it (`infra/local/sample_event.py`).
pub fn sample_event(provider: Provider) -> String {
    let template = read("events/apigw-v2-template.json").replace("{provider}", provider.as_str());
    let mut event: serde_json::Value =
        serde_json::from_str(&template).expect("events/apigw-v2-template.json is JSON");
    event["body"] = read(&format!("events/bodies/{provider}.json")).into();
    event.to_string()
}

/// An item of the local table by its `event_id`, read consistently.
pub async fn stored_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    event_id: &str,
) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key(
            "event_id",
            aws_sdk_dynamodb::types::AttributeValue::S(event_id.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

/// A TCP port nothing listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on 127.0.0.1:`port` (up to 30 s).
pub async fn wait_port(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// The bytes the provider sent, from a stored item's `raw`, whatever its
/// encoding.
pub fn raw_bytes(item: &Item) -> Vec<u8> {
    let raw = item["raw"].as_s().unwrap();
    let encoding = item
        .get("attributes")
        .and_then(|a| a.as_m().ok())
        .and_then(|a| a.get("raw_encoding"))
        .and_then(|e| e.as_s().ok())
        .map(String::as_str);
    decode_raw(raw, encoding).unwrap()
}

/// The table of the local DynamoDB `make test` starts.
pub fn table_name() -> String {
    std::env::var("TABLE_NAME").unwrap_or_else(|_| "webhook-events".to_owned())
}

/// The local DynamoDB's settings from the environment `make test` sets, to
/// hand to functions started by a test.
pub fn local_dynamodb_env() -> Vec<(&'static str, String)> {
    [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "TABLE_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ]
    .into_iter()
    .map(|name| {
        let value = std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set; run through `make test`"));
        (name, value)
    })
    .collect()
}

/// A table of a test's own keyed by `event_id`, with a stream of new images:
/// enough for storing events and reading them back by id, a scan or the
/// stream (tests needing the indexes create the template's table with
/// infra/local/create_table.py).
pub async fn create_events_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("event_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("event_id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema"),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .expect("stream specification"),
        )
        .send()
        .await
        .expect("CreateTable");
}

/// The items of `table` whose `campaign_id` is `campaign`, counted with a
/// consistent, paged Scan (tests use a nonce as the campaign, so other
/// tests' items do not count).
pub async fn count_campaign(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    campaign: &str,
) -> usize {
    client
        .scan()
        .table_name(table)
        .filter_expression("campaign_id = :c")
        .expression_attribute_values(
            ":c",
            aws_sdk_dynamodb::types::AttributeValue::S(campaign.into()),
        )
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("Scan")
        .len()
}

/// Stores the events of `body` into `table` as a provider's function would,
/// received at `received` (Unix seconds).
pub async fn store_body(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    provider: Provider,
    body: &str,
    received: i64,
) {
    let received = normalize::Timestamp::from_unix_seconds(received).expect("a receive time");
    let events = normalize::normalize(provider, body.as_bytes(), received).expect("a valid body");
    let table = events_table::DynamoTable::new(client.clone(), table);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    events_table::store_all(
        &table,
        events
            .iter()
            .map(|e| events_table::item::to_item(e, None))
            .collect(),
        deadline,
    )
    .await
    .expect("stored");
}
