//! DynamoDB's own answers, over HTTP: a function (the real `DynamoTable`
//! and the production SDK client) stores through test-support's fault
//! proxy, in front of the local DynamoDB of `make test`, which answers
//! chosen calls as DynamoDB does when it throttles, leaves items or keys
//! unprocessed, or refuses a batch as invalid. What each answer promises is
//! then read back from the server:
//! - throttled past every retry: `503`, and the redelivery stores each
//!   event once;
//! - unprocessed items and keys: retried until written (`200`);
//! - a batch refused as invalid: narrowed down to the offending item, which
//!   is kept as an `invalid` item, and the others stored (`200`).
//!
//! `#[ignore]`d so a plain `cargo test` without a server stays green.

mod common;

use common::{answer, counts, stored_item, table_name, Fault, FaultProxy, Req, Rule, TOKEN};
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use normalize::{quarantine, Timestamp};
use std::time::{Duration, Instant};
use test_support::count_campaign;

const WRITE: &str = "BatchWriteItem";
const GET: &str = "BatchGetItem";

/// A proxy in front of the local DynamoDB, and a SendPulse function
/// storing through it.
async fn app_behind_proxy() -> (App<DynamoTable>, FaultProxy) {
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "run through `make test` (infra/local/with-dynamodb.sh), which starts the local DynamoDB",
    );
    let proxy = FaultProxy::start(&upstream).await;
    let config = Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(TOKEN.into()),
            "TABLE_NAME" => Some(table_name()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let table = DynamoTable::new(proxy.client().await, table_name());
    (App::new(Provider::Sendpulse, config, table), proxy)
}

fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// `n` SendPulse open events of campaign `campaign`, each member's text.
fn members(n: usize, campaign: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"timestamp":"{}","event":"open","task_id":"{campaign}","email":"reader{i}@example.com"}}"#, 1732528800 + i))
        .collect()
}

fn body(members: &[String]) -> String {
    format!("[{}]", members.join(","))
}

async fn send(app: &App<DynamoTable>, body: &str) -> (u16, serde_json::Value) {
    answer(app.handle(Req::post(body).build()).await)
}

fn assert_unavailable((status, json): &(u16, serde_json::Value)) {
    assert_eq!(*status, 503, "{json}");
    assert_eq!(json["error"], "storage is unavailable; retry later");
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn throttled_past_every_retry_answers_503_and_the_redelivery_stores_each_event_once() {
    let (app, proxy) = app_behind_proxy().await;
    let client = dynamo::client().await;
    let campaign = nonce();
    // 75 events: three batches of 25. The first write goes through, every
    // later one (the SDK's retries and the store's) is throttled.
    let body = body(&members(75, &campaign));
    proxy.inject(Rule::on(WRITE, Fault::ProvisionedThroughputExceeded).calls(2..));
    let arrived = Instant::now();
    assert_unavailable(&send(&app, &body).await);
    assert!(
        arrived.elapsed() < Duration::from_millis(4500),
        "answered {:?} after arrival",
        arrived.elapsed()
    );
    let throttled = proxy.calls_of(WRITE);
    assert!(
        throttled.iter().filter(|c| c.fault.is_some()).count() >= 3,
        "{throttled:?}"
    );
    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 25);

    proxy.heal();
    let (status, json) = send(&app, &body).await;
    assert_eq!((status, counts(&json)), (200, (75, 50, 25)), "{json}");
    let (status, json) = send(&app, &body).await;
    assert_eq!((status, counts(&json)), (200, (75, 0, 75)), "{json}");
    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 75);
}

/// `operation` answers `fault` three times: the SDK's own three attempts
/// give up, the store sees DynamoDB's error as throttling and tries again,
/// and the fourth call goes through within the storage deadline.
async fn throttled_three_times_then_stored(operation: &str, fault: Fault) {
    let (app, proxy) = app_behind_proxy().await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let name = fault.name();
    proxy.inject(Rule::on(operation, fault).calls(1..=3));
    // One batch: one lookup, one write.
    let (status, json) = send(&app, &body(&members(20, &campaign))).await;
    assert_eq!((status, counts(&json)), (200, (20, 20, 0)), "{json}");
    assert_eq!(json["quarantined"], 0);
    let calls = proxy.calls_of(operation);
    let faults: Vec<_> = calls.iter().map(|c| c.fault).collect();
    assert_eq!(faults, [Some(name), Some(name), Some(name), None]);
    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 20);
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn lookups_throttled_past_the_sdk_retries_are_retried_by_the_store_to_200() {
    throttled_three_times_then_stored(GET, Fault::Throttling).await;
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn writes_throttled_past_the_sdk_retries_are_retried_by_the_store_to_200() {
    throttled_three_times_then_stored(WRITE, Fault::ProvisionedThroughputExceeded).await;
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn unprocessed_items_and_keys_are_retried_until_written() {
    let (app, proxy) = app_behind_proxy().await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let members = members(40, &campaign);
    proxy.inject(Rule::on(GET, Fault::Unprocessed).calls(1..=1));
    proxy.inject(Rule::on(WRITE, Fault::Unprocessed).calls(1..=4));
    let (status, json) = send(&app, &body(&members)).await;
    assert_eq!((status, counts(&json)), (200, (40, 40, 0)), "{json}");
    let writes = proxy.calls_of(WRITE);
    assert_eq!(
        writes.iter().filter(|c| c.fault.is_some()).count(),
        4,
        "{writes:?}"
    );
    assert_eq!(proxy.calls_of(GET).len(), 2, "the lookup is retried once");
    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 40);
    // Each event whole, as sent.
    let events = normalize::normalize(
        Provider::Sendpulse,
        body(&members).as_bytes(),
        Timestamp::now(),
    )
    .unwrap();
    for (event, member) in events.iter().zip(&members) {
        let item = stored_item(&client, &table_name(), &event.event_id)
            .await
            .expect("stored");
        assert_eq!(item["raw"].as_s().unwrap(), member);
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn items_unprocessed_past_the_deadline_answer_503_and_the_redelivery_completes_the_set() {
    let (app, proxy) = app_behind_proxy().await;
    let client = dynamo::client().await;
    let campaign = nonce();
    let body = body(&members(25, &campaign));
    // Every write stores half its items; the last one is never written.
    proxy.inject(Rule::on(WRITE, Fault::Unprocessed));
    assert_unavailable(&send(&app, &body).await);
    let written = count_campaign(&client, &table_name(), &campaign).await;
    assert!((1..25).contains(&written), "{written} written");

    proxy.heal();
    let (status, json) = send(&app, &body).await;
    let expected = (25, 25 - written as u64, written as u64);
    assert_eq!((status, counts(&json)), (200, expected), "{json}");
    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 25);
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn a_batch_refused_as_invalid_is_narrowed_to_the_item_which_is_kept_and_the_rest_stored() {
    let (app, proxy) = app_behind_proxy().await;
    let client = dynamo::client().await;
    let (campaign, poison) = (nonce(), nonce());
    let mut members = members(10, &campaign);
    members[6] = members[6].replace(&campaign, &poison);
    let message = "One or more parameter values were invalid: refused by the fault proxy";
    proxy.inject(
        Rule::on(WRITE, Fault::Validation(message.into())).carrying("campaign_id", &poison),
    );
    let (status, json) = send(&app, &body(&members)).await;
    assert_eq!((status, counts(&json)), (200, (10, 9, 0)), "{json}");
    assert_eq!(json["quarantined"], 1, "{json}");

    // Narrowed down: the last refused call carried that item alone.
    let writes = proxy.calls_of(WRITE);
    let refused: Vec<_> = writes.iter().filter(|c| c.fault.is_some()).collect();
    assert_eq!(refused.first().map(|c| c.items), Some(10), "{writes:?}");
    assert_eq!(refused.last().map(|c| c.items), Some(1), "{writes:?}");

    assert_eq!(count_campaign(&client, &table_name(), &campaign).await, 9);
    assert_eq!(count_campaign(&client, &table_name(), &poison).await, 0);
    let kept_id = quarantine(
        Provider::Sendpulse,
        members[6].as_bytes(),
        "",
        Timestamp::now(),
    )
    .event_id;
    let kept = stored_item(&client, &table_name(), &kept_id)
        .await
        .expect("the refused member is kept as an invalid item");
    assert_eq!(kept["event_type"].as_s().unwrap(), "invalid");
    assert_eq!(kept["raw"].as_s().unwrap(), &members[6]);
    let reason = kept["attributes"].as_m().unwrap()["reason"].as_s().unwrap();
    assert!(
        reason.contains("DynamoDB refused") && reason.contains(message),
        "{reason}"
    );
}
