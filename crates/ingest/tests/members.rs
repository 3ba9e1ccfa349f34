//! Each member of a batch stands alone. GIVEN a batch with one bad member
//! (not an object, too large for an item, an over-long address, refused by
//! DynamoDB) WHEN it is delivered THEN the good members are stored as
//! events, the bad one is kept as its own `invalid` item with its own text
//! and reason, and the answer is 200 with the counts; a redelivery changes
//! nothing. Also: every answer within 4.5 s, even from a frozen table.
//! In-process, against the in-memory table of common/mod.rs.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{answer, raw_bytes, MemoryTable, Req};
use events_table::item::{item_size, Item, MAX_ITEM_BYTES};
use ingest::{App, Provider};
use serde_json::Value;
use std::time::{Duration, Instant};

fn app() -> App<MemoryTable> {
    common::app_with(Provider::Sendpulse, &[])
}

fn open(i: usize, email: &str) -> String {
    format!(
        r#"{{"event":"open","timestamp":{},"task_id":"t","email":"{email}"}}"#,
        1_732_528_800 + i
    )
}

fn batch(members: &[String]) -> String {
    format!("[{}]", members.join(","))
}

fn opens(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| open(i, &format!("r{i}@example.com")))
        .collect()
}

struct Seen {
    status: u16,
    json: Value,
    items: Vec<Item>,
}

impl Seen {
    fn counts(&self) -> [u64; 4] {
        ["received", "stored", "duplicates", "quarantined"].map(|k| {
            self.json[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{k}: {}", self.json))
        })
    }

    fn of_type(&self, event_type: &str) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i["event_type"].as_s().unwrap() == event_type)
            .collect()
    }

    /// The one `invalid` item, holding `member` whole, with a reason that
    /// starts as expected.
    fn kept(&self, member: &str, reason: &str) -> &Item {
        let kept = self.of_type("invalid");
        assert_eq!(kept.len(), 1, "{}", self.json);
        let got = kept[0]["attributes"].as_m().unwrap()["reason"]
            .as_s()
            .unwrap();
        assert!(
            got.starts_with(reason),
            "{got:?} should start with {reason:?}"
        );
        assert_eq!(raw_bytes(kept[0]), member.as_bytes());
        // It records that it holds a member, and which.
        let attributes = kept[0]["attributes"].as_m().unwrap();
        assert_eq!(attributes["holds"].as_s().unwrap(), "member");
        assert!(attributes["member"].as_s().unwrap().starts_with("body["));
        kept[0]
    }
}

async fn send(app: &App<MemoryTable>, body: &str) -> Seen {
    let (status, json) = answer(app.handle(Req::post(body).build()).await);
    let items = app.table.items.lock().unwrap().values().cloned().collect();
    Seen {
        status,
        json,
        items,
    }
}

#[tokio::test]
async fn a_member_that_is_not_an_object_is_kept_and_the_nine_others_stored() {
    let mut members = opens(10);
    members[6] = r#"["an","array"]"#.to_owned();
    let body = batch(&members);
    let app = app();
    let seen = send(&app, &body).await;
    assert_eq!((seen.status, seen.counts()), (200, [10, 9, 0, 1]));
    assert_eq!(seen.of_type("email.opened").len(), 9);
    seen.kept(&members[6], "body[6] is an array, expected an event object");

    // A redelivery leaves the table as it was.
    let again = send(&app, &body).await;
    assert_eq!((again.status, again.counts()), (200, [10, 0, 9, 1]));
    assert_eq!(again.items.len(), 10);
}

#[tokio::test]
async fn an_event_too_large_even_for_a_quarantine_item_is_kept_in_part() {
    let noise: String = (0..450_000).map(|_| fastrand::alphanumeric()).collect();
    let mut members = opens(100);
    members[42] = format!(r#"{{"event":"open","email":"big@example.com","note":"{noise}"}}"#);
    let app = app();
    let seen = send(&app, &batch(&members)).await;
    assert_eq!((seen.status, seen.counts()), (200, [100, 99, 0, 1]));
    let kept = seen.of_type("invalid");
    assert_eq!(kept.len(), 1);
    let attributes = kept[0]["attributes"].as_m().unwrap();
    assert_eq!(attributes["truncated"], AttributeValue::Bool(true));
    assert_eq!(
        attributes["original_bytes"],
        AttributeValue::N(members[42].len().to_string())
    );
    let reason = attributes["reason"].as_s().unwrap();
    assert!(reason.contains("over DynamoDB's item limit"), "{reason}");
    assert_eq!(raw_bytes(kept[0]), &members[42].as_bytes()[..256 * 1024]);
    assert!(item_size(kept[0]) <= MAX_ITEM_BYTES);
}

#[tokio::test]
async fn an_over_long_address_is_stored_under_a_bounded_key() {
    let long = format!("{}@example.com", "a".repeat(3_000));
    let mut members = opens(5);
    members[2] = open(2, &long);
    let app = app();
    // The table refuses what DynamoDB refuses: an index key over 2,048 bytes.
    *app.table.refuse_item.lock().unwrap() = Some(|item| {
        item.get("contact_key")
            .and_then(|k| k.as_s().ok())
            .is_some_and(|k| k.len() > 2048)
    });
    let seen = send(&app, &batch(&members)).await;
    assert_eq!((seen.status, seen.counts()), (200, [5, 5, 0, 0]));
    let item = seen
        .items
        .iter()
        .find(|i| i["email"].as_s().unwrap() == &long)
        .expect("stored with its whole address");
    let key = item["contact_key"].as_s().unwrap();
    assert!(
        key.len() <= 2048 && key.starts_with("email#aaa"),
        "{}",
        key.len()
    );
    assert_eq!(key, &normalize::bounded_key(format!("email#{long}")));
}

#[tokio::test]
async fn a_batch_dynamodb_refuses_is_narrowed_to_the_member_that_causes_it() {
    let mut members = opens(25);
    members[17] = open(17, "poison@example.com");
    let app = app();
    *app.table.refuse_item.lock().unwrap() = Some(|item| {
        item.get("email")
            .and_then(|e| e.as_s().ok())
            .is_some_and(|e| e == "poison@example.com")
    });
    let seen = send(&app, &batch(&members)).await;
    assert_eq!((seen.status, seen.counts()), (200, [25, 24, 0, 1]));
    seen.kept(
        &members[17],
        "DynamoDB refused the item: ValidationException",
    );
    // Halving 25 down to one item: a handful of calls, not 25.
    let writes = app
        .table
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| **c == "BatchWriteItem")
        .count();
    assert!(writes <= 12, "{writes} writes");
}

#[tokio::test]
async fn members_repeated_in_one_body_count_once_each_way() {
    let mut members = opens(3);
    members.push(members[0].clone());
    members.push("7".to_owned());
    members.push("7".to_owned());
    let app = app();
    let seen = send(&app, &batch(&members)).await;
    assert_eq!((seen.status, seen.counts()), (200, [6, 3, 1, 2]));
    assert_eq!(seen.items.len(), 4);
}

#[tokio::test]
async fn a_body_of_over_a_million_empty_objects_is_refused_before_events_are_built() {
    let body = format!("[{}]", vec!["{}"; 1_390_000].join(","));
    assert!(body.len() < 4 * 1024 * 1024);
    let app = app();
    let started = Instant::now();
    let seen = send(&app, &body).await;
    assert_eq!(seen.status, 413, "{}", seen.json);
    assert_eq!(
        seen.json["error"],
        "body carries 1390000 events, over the limit of 5000 per request"
    );
    // Kept whole (it compresses well), as one item.
    assert_eq!(seen.items.len(), 1);
    assert_eq!(raw_bytes(&seen.items[0]), body.as_bytes());
    eprintln!("1.39 M empty objects: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_frozen_table_gets_a_503_within_the_providers_patience() {
    let app = app();
    *app.table.stall.lock().unwrap() = true;
    for body in [batch(&opens(3)), "not json".to_owned()] {
        let started = Instant::now();
        let seen = send(&app, &body).await;
        let took = started.elapsed();
        assert_eq!(seen.status, 503, "{}", seen.json);
        assert!(took < Duration::from_millis(4500), "{took:?}");
    }
}
