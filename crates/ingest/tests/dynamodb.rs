//! Storage against a real DynamoDB-compatible server (moto), run by
//! `make test` through infra/local/with-dynamodb.sh, which starts the
//! server, creates the table and sets AWS_ENDPOINT_URL_DYNAMODB.
//! `#[ignore]`d so a plain `cargo test` without a server stays green.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use common::{answer, counts, repo_root, Req, TOKEN};
use events_table::item::{fit, to_item, Item};
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use normalize::{normalize, quarantine, Timestamp};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn table_name() -> String {
    std::env::var("TABLE_NAME").unwrap_or_else(|_| "webhook-events".into())
}

fn config() -> Config {
    Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(TOKEN.into()),
            "TABLE_NAME" => Some(table_name()),
            _ => None,
        },
        None,
    )
    .unwrap()
}

async fn local_app(provider: Provider) -> App<DynamoTable> {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "run through `make test` (infra/local/with-dynamodb.sh), which starts the local DynamoDB"
    );
    App::new(
        provider,
        config(),
        DynamoTable::new(dynamo::client().await, table_name()),
    )
}

async fn get(client: &Client, table: &str, id: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key("event_id", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

/// The stored item without the attributes that depend on when it arrived.
fn content(mut item: Item) -> Item {
    item.remove("received_at");
    item.remove("expires_at");
    if item
        .get("occurred_at_source")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        == Some("received")
    {
        item.remove("occurred_at");
        item.remove("day_key");
    }
    item
}

fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}

fn sendpulse_batch(n: usize, campaign: &str) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"timestamp":"{}","event":"open","task_id":"{campaign}","email":"reader{i}@example.com"}}"#, 1732528800 + i))
        .collect();
    format!("[{}]", items.join(","))
}

fn fixtures(provider: Provider) -> Vec<std::path::PathBuf> {
    let dir = repo_root()
        .join("crates/normalize/tests/fixtures")
        .join(provider.as_str());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.push(repo_root().join(format!("events/bodies/{provider}.json")));
    files.sort();
    files
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn every_fixture_is_stored_with_its_attributes() {
    let mut checked = 0;
    for provider in Provider::ALL {
        let app = local_app(provider).await;
        let client = dynamo::client().await;
        for path in fixtures(provider) {
            let body = std::fs::read(&path).unwrap();
            let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
            let name = path.display();
            match normalize(provider, &body, Timestamp::now()) {
                Ok(events) => {
                    assert_eq!(status, 200, "{name}: {json}");
                    assert_eq!(counts(&json).0 as usize, events.len(), "{name}");
                    for event in events {
                        let stored = get(&client, &table_name(), &event.event_id).await;
                        let stored = stored
                            .unwrap_or_else(|| panic!("{name}: {} not stored", event.event_id));
                        let expected = fit(to_item(&event, None)).unwrap();
                        assert_eq!(content(stored), content(expected), "{name}");
                        checked += 1;
                    }
                }
                Err(error) => {
                    assert_eq!(status, 400, "{name}: {json}");
                    let kept = quarantine(provider, &body, &error.to_string(), Timestamp::now());
                    let stored = get(&client, &table_name(), &kept.event_id).await;
                    assert!(stored.is_some(), "{name}: quarantine item missing");
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} events checked");
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn redelivery_leaves_one_item_per_event_and_keeps_the_first() {
    let app = local_app(Provider::Sendpulse).await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let body = sendpulse_batch(30, &campaign);
    let first = answer(app.handle(Req::post(body.clone()).build()).await);
    let events = normalize(Provider::Sendpulse, body.as_bytes(), Timestamp::now()).unwrap();
    let before = get(&client, &table_name(), &events[0].event_id)
        .await
        .unwrap();
    let second = answer(app.handle(Req::post(body).build()).await);
    assert_eq!((first.0, counts(&first.1)), (200, (30, 30, 0)));
    assert_eq!((second.0, counts(&second.1)), (200, (30, 0, 30)));
    let after = get(&client, &table_name(), &events[0].event_id)
        .await
        .unwrap();
    assert_eq!(before, after, "a redelivery must not touch the stored item");
    assert_eq!(count_campaign(&client, &campaign).await, 30);
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn concurrent_deliveries_of_one_body_leave_one_item_per_event() {
    let app = local_app(Provider::Sendpulse).await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let body = sendpulse_batch(40, &campaign);
    let deliveries = (0..8).map(|_| app.handle(Req::post(body.clone()).build()));
    let answers = futures_util::future::join_all(deliveries).await;
    for (status, json) in answers.into_iter().map(answer) {
        assert_eq!(status, 200, "{json}");
        let (received, stored, duplicates) = counts(&json);
        assert_eq!(received, stored + duplicates);
    }
    assert_eq!(count_campaign(&client, &campaign).await, 40);
}

/// Items of a campaign, counted with a paged Scan (the campaign id is a
/// per-test nonce, so other tests' items do not count).
async fn count_campaign(client: &Client, campaign: &str) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table_name())
            .filter_expression("campaign_id = :c")
            .expression_attribute_values(":c", AttributeValue::S(campaign.into()))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("Scan");
        count += page.items().len();
        start = page.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn a_hundred_event_batch_costs_at_most_five_calls() {
    let app = local_app(Provider::Sendpulse).await;
    let body = sendpulse_batch(100, &nonce());
    let (status, json) = answer(app.handle(Req::post(body).build()).await);
    assert_eq!((status, counts(&json)), (200, (100, 100, 0)));
    let calls = app.table.calls();
    assert!(calls <= 5, "{calls} DynamoDB calls for 100 events");
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn refused_requests_store_nothing_and_bad_bodies_are_quarantined() {
    let app = local_app(Provider::Egoi).await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let egoi = format!(
        r#"{{"events":[{{"action":"email_open","action_date":1732530000,"action_data":{{"messageHash":"{campaign}"}},"list_id":"1","contact":{{"base":["x1"],"fields":[]}}}}]}}"#
    );
    for (request, status) in [
        (Req::post(egoi.clone()).no_token(), 401),
        (Req::post(egoi.clone()).method("PATCH"), 405),
    ] {
        assert_eq!(answer(app.handle(request.build()).await).0, status);
    }
    assert_eq!(count_campaign(&client, &campaign).await, 0);

    let bad = format!(r#"{{"evnts":"{campaign}"}}"#);
    let (status, json) = answer(app.handle(Req::post(bad.clone()).build()).await);
    assert_eq!(status, 400, "{json}");
    let reason = json["error"].as_str().unwrap();
    let kept = quarantine(Provider::Egoi, bad.as_bytes(), reason, Timestamp::now());
    let item = get(&client, &table_name(), &kept.event_id)
        .await
        .expect("quarantine item");
    assert_eq!(item["event_type"].as_s().unwrap(), "invalid");
    assert_eq!(item["raw"].as_s().unwrap(), &bad);
    assert_eq!(
        item["attributes"].as_m().unwrap()["reason"].as_s().unwrap(),
        reason
    );
}

/// A moto server of this test's own, so it can be paused and stopped.
struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    async fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on PATH (make test puts .venv/bin there)");
        let server = Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let client = server.client().await;
        client
            .create_table()
            .table_name("faults")
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("event_id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("event_id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("CreateTable");
        server
    }

    async fn client(&self) -> Client {
        dynamo::client_at(Some(&self.endpoint)).await
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs moto_server, which `make test` installs"]
async fn storage_outage_answers_503_and_the_redelivery_stores_everything_once() {
    let mut server = Server::start().await;
    let table = DynamoTable::new(server.client().await, "faults");
    let cfg = Config {
        table_name: "faults".into(),
        ..config()
    };
    let app = App::new(Provider::Sendpulse, cfg, table);

    let stored_before = sendpulse_batch(10, "before");
    assert_eq!(
        answer(app.handle(Req::post(stored_before).build()).await).0,
        200
    );

    // Paused: connections hang until the client's timeouts give up.
    server.signal("-STOP");
    let body = sendpulse_batch(50, "during");
    let started = std::time::Instant::now();
    let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
    assert_eq!(status, 503, "{json}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    server.signal("-CONT");

    let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
    assert_eq!((status, counts(&json)), (200, (50, 50, 0)));
    let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
    assert_eq!((status, counts(&json)), (200, (50, 0, 50)));

    // Stopped: connections are refused.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let (status, _) = answer(
        app.handle(Req::post(sendpulse_batch(5, "after")).build())
            .await,
    );
    assert_eq!(status, 503);
}
