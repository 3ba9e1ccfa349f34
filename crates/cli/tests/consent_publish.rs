//! `webhooks consent publish` against real servers: the consent table in
//! the local DynamoDB of `make test` (infra/local/with-dynamodb.sh), the
//! event bus in moto's server (an SQS queue behind a rule shows what
//! arrived). The changes left unpublished are made the real way: the
//! consent function's code fed by the local stream, publishing to a bus
//! that does not exist, as when the bus or its permissions are down for
//! longer than Lambda's retries last.

use consent_fn::changes::Changes;
use consent_fn::follow::Follower;
use consent_fn::{pending, table, ConsentTable};
use events_table::dynamo::{sdk_config, Settings};
use normalize::Provider;
use serde_json::Value;
use std::process::{Command, Output};
use test_support::Moto;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;
const BUS: &str = "consent-bus";
const SOURCE: &str = consent_fn::changes::SOURCE;

struct Setup {
    events: String,
    consent: ConsentTable,
    moto: Moto,
    /// What reached the bus `BUS`.
    queue: String,
}

async fn client() -> aws_sdk_dynamodb::Client {
    events_table::dynamo::client_at(None).await
}

fn dynamodb() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("run under infra/local/with-dynamodb.sh")
}

async fn setup(name: &str) -> Setup {
    let client = client().await;
    let suffix = format!("{name}-{}-{}", std::process::id(), fastrand::u32(..));
    let events = format!("events-{suffix}");
    test_support::create_events_table(&client, &events).await;
    let consent = format!("consent-{suffix}");
    table::create_table(&client, &consent)
        .await
        .expect("create the consent table");
    let moto = Moto::start().await;
    let queue = moto.bus_to_queue(BUS, SOURCE).await;
    Setup {
        events,
        consent: ConsentTable::new(client, consent),
        moto,
        queue,
    }
}

/// The function's publisher, pointed at moto's EventBridge and `bus`.
async fn bus(moto: &Moto, bus: &str) -> Changes {
    let config = sdk_config(&Settings {
        endpoint: Some(&moto.endpoint()),
        ..Settings::default()
    })
    .await;
    Changes::to_bus_with(&config, bus.to_owned(), Default::default())
}

/// Three opt-outs stored, in the reverse of the order they occurred.
async fn store_opt_outs(s: &Setup) {
    let client = client().await;
    let enkod = r#"{"event":"complaint","email":"cy@example.com","message_id":"m1"}"#;
    let egoi = format!(
        r#"{{"events":[{{"action":"unsubscribe","action_date":{},"list_id":"7","contact":{{"base":["u1"],"fields":[{{"uid":"u1","email":"bob@example.com","cellphone":"+351912345678"}}]}}}}]}}"#,
        T0 + DAY
    );
    let sendpulse = format!(
        r#"[{{"event":"unsubscribe","email":"ann@example.com","timestamp":"{T0}","from_all":1,"book_id":490686,"task_id":"1"}}]"#
    );
    test_support::store_body(&client, &s.events, Provider::Enkod, enkod, T0 + 2 * DAY).await;
    test_support::store_body(&client, &s.events, Provider::Egoi, &egoi, T0 + 3 * DAY).await;
    test_support::store_body(
        &client,
        &s.events,
        Provider::Sendpulse,
        &sendpulse,
        T0 + 3 * DAY,
    )
    .await;
}

/// The stream applied by the consent function's code with fan-out on, the
/// changes going to `changes`; answers how many records failed.
async fn apply(s: &Setup, consent: &ConsentTable, changes: &Changes) -> usize {
    let pass = Follower::new(&dynamodb(), &s.events)
        .pass_with(consent, changes)
        .await
        .expect("the stream read");
    assert_eq!(pass.records, 3);
    pass.failed
}

/// The changes the marks hold, oldest first as the command publishes them.
async fn marks(consent: &ConsentTable) -> Vec<Value> {
    pending::find(consent)
        .await
        .expect("the marks")
        .unpublished
        .into_iter()
        .flat_map(|u| u.details)
        .collect()
}

fn webhooks(s: &Setup, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(args)
        .env("TABLE_NAME", &s.events)
        .env("CONSENT_TABLE_NAME", &s.consent.name)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", s.moto.endpoint())
        .env_remove("EVENT_BUS_NAME")
        .output()
        .expect("the webhooks binary runs")
}

fn ok(s: &Setup, args: &[&str]) -> String {
    let out = webhooks(s, args);
    assert!(
        out.status.success(),
        "webhooks {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The `consent.changed` details that reached the bus.
async fn published(s: &Setup) -> Vec<Value> {
    s.moto
        .received(&s.queue)
        .await
        .into_iter()
        .map(|event| {
            assert_eq!(event["source"], SOURCE);
            assert_eq!(event["detail-type"], consent_fn::changes::DETAIL_TYPE);
            event["detail"].clone()
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs a local DynamoDB (infra/local/with-dynamodb.sh) and moto (make tools)"]
async fn changes_left_unpublished_after_the_retries_are_published_once_oldest_first() {
    let s = setup("publish").await;
    store_opt_outs(&s).await;
    let missing = bus(&s.moto, "no-such-bus").await;
    assert_eq!(
        apply(&s, &s.consent, &missing).await,
        3,
        "each publish failed"
    );
    let marked = marks(&s.consent).await;
    // What a working bus would have had from the function, from the same
    // stream: the marks hold exactly that.
    let working = ConsentTable::new(client().await, format!("{}-working", s.consent.name));
    table::create_table(&working.client, &working.name)
        .await
        .expect("create the consent table");
    let recorded = Changes::recorded(Default::default());
    assert_eq!(apply(&s, &working, &recorded).await, 0);
    let mut expected = recorded.published();
    expected.sort_by_key(|d| (d["channels"].to_string(), d["subject"].to_string()));
    let subjects: Vec<&str> = marked
        .iter()
        .filter_map(|d| d["subject"].as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "email#ann@example.com",
            "email#bob@example.com",
            "phone#+351912345678",
            "email#cy@example.com"
        ],
        "one mark per fact, under each of its subjects; oldest first"
    );
    let mut sorted = marked.clone();
    sorted.sort_by_key(|d| (d["channels"].to_string(), d["subject"].to_string()));
    assert_eq!(
        sorted, expected,
        "the marks hold what the function would have published"
    );

    // The bus still missing: nothing goes out, every mark stays.
    let failed = webhooks(&s, &["consent", "publish", "--bus", "no-such-bus"]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("stay marked"), "{stderr}");
    assert_eq!(marks(&s.consent).await, marked);

    // A dry run lists the three events and publishes nothing.
    let dry = ok(&s, &["consent", "publish", "--dry-run"]);
    assert_eq!(dry.matches("would publish ").count(), 3, "{dry}");
    assert!(
        dry.contains("dry run: 4 changes of 3 events to publish; nothing published"),
        "{dry}"
    );
    assert!(published(&s).await.is_empty());
    assert_eq!(marks(&s.consent).await, marked);

    let run = ok(&s, &["consent", "publish", "--bus", BUS]);
    assert!(
        run.contains("published 4 changes of 3 events on consent-bus"),
        "{run}"
    );
    assert!(
        run.contains(": 2 changes: email#bob@example.com, phone#+351912345678"),
        "{run}"
    );
    assert_eq!(
        published(&s).await,
        marked,
        "each change as the function would have sent it, oldest first"
    );
    assert!(marks(&s.consent).await.is_empty(), "the marks are off");
    let raw = s.consent.raw_items("email#bob@example.com").await.unwrap();
    assert!(raw
        .iter()
        .all(|item| !item.contains_key(table::UNPUBLISHED)));

    let again = ok(&s, &["consent", "publish", "--bus", BUS]);
    assert!(again.contains("published 0 changes of 0 events"), "{again}");
    assert!(published(&s).await.is_empty(), "nothing is published twice");
}

#[tokio::test]
#[ignore = "needs a local DynamoDB (infra/local/with-dynamodb.sh) and moto (make tools)"]
async fn a_fact_replaced_after_its_changes_were_found_keeps_its_own_mark() {
    let s = setup("replaced").await;
    store_opt_outs(&s).await;
    apply(&s, &s.consent, &bus(&s.moto, "no-such-bus").await).await;
    let found = pending::find(&s.consent).await.unwrap().unpublished;
    let ann = found[0].clone();
    assert_eq!(ann.subjects(), ["email#ann@example.com"]);

    // Meanwhile the stream writes another copy of the event (a reprocessed
    // one: same id and time, other content) with changes of its own.
    let mut replaced = ann.fact.clone();
    replaced.list_id = Some("8".into());
    let mut own = ann.details.clone();
    own[0]["provider"] = "replaced".into();
    s.consent
        .apply_marked(&replaced, Some(&Value::from(own.clone()).to_string()))
        .await
        .unwrap();

    // The command's path, for what it found before the replacement.
    let to_bus = bus(&s.moto, BUS).await;
    to_bus
        .publish_marked(&s.consent, &ann.fact, ann.details.clone())
        .await
        .unwrap();
    assert_eq!(published(&s).await, ann.details);
    let left = pending::find(&s.consent).await.unwrap().unpublished;
    let still = left
        .iter()
        .find(|u| u.fact.event_id == ann.fact.event_id)
        .expect("the replacement keeps its mark");
    assert_eq!(still.details, own);
    assert_eq!(still.fact, replaced);

    ok(&s, &["consent", "publish", "--bus", BUS]);
    let sent = published(&s).await;
    assert_eq!(
        sent.len(),
        4,
        "the replacement's change and the other three"
    );
    assert_eq!(sent[0], own[0]);
    assert!(marks(&s.consent).await.is_empty());
}
