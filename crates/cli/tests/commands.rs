//! Every command of the `webhooks` binary against the local DynamoDB of
//! `make test` (infra/local/with-dynamodb.sh), with `--json` output parsed.
//! Tests share one table and run in parallel, so each one seeds its own
//! contacts, ids and days (random days in the 23rd century) and looks only
//! at those.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use events_table::intake::{BodyItems, Expiry, Holds, Intake};
use events_table::item::{fit, to_item, Item};
use events_table::store::store_all;
use events_table::DynamoTable;
use normalize::{normalize, quarantine, Event, Provider, Timestamp};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use test_support::table_name;
use time::macros::date;
use time::Date;

// ---------------------------------------------------------------- helpers

fn webhooks(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(args)
        .output()
        .expect("the webhooks binary runs")
}

/// Runs a command that must succeed and print JSON.
fn ok_json(args: &[&str]) -> Value {
    let out = webhooks(args);
    assert!(
        out.status.success(),
        "webhooks {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "webhooks {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn ok_text(args: &[&str]) -> String {
    let out = webhooks(args);
    assert!(
        out.status.success(),
        "webhooks {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs a command that must fail: exit status 1, one line on stderr.
fn fails(args: &[&str]) -> String {
    let out = webhooks(args);
    assert_eq!(out.status.code(), Some(1), "webhooks {args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("webhooks: "), "{stderr:?}");
    stderr.trim_end().to_owned()
}

fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// A UTC day no other test uses.
/// A day no other test of this run stores on, nor any within two weeks of
/// it (tests run at once, on one table, and `tail` reads 7 days back by
/// default): a random start for this run, then every sixteenth day.
fn unique_day() -> Date {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    static TAKEN: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let start = *START.get_or_init(|| fastrand::i64(0..36_000));
    let n = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    date!(2200 - 01 - 01) + time::Duration::days(start + 16 * n)
}

fn day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap_or_else(|| panic!("bad time {text}"))
}

fn events(provider: Provider, body: &str, received_at: Timestamp) -> Vec<Event> {
    normalize(provider, body.as_bytes(), received_at).expect("a valid body")
}

async fn client() -> Client {
    events_table::dynamo::client_at(None).await
}

async fn store(items: Vec<Item>) {
    let table = DynamoTable::new(client().await, table_name());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    store_all(&table, items, deadline)
        .await
        .expect("seeding the table");
}

async fn store_events(events: &[Event]) {
    store(events.iter().map(|e| to_item(e, None)).collect()).await;
}

async fn get(id: &str) -> Option<Item> {
    client()
        .await
        .get_item()
        .table_name(table_name())
        .key("event_id", AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn ids(listing: &Value) -> Vec<&String> {
    listing
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|e| match &e["event_id"] {
            Value::String(id) => id,
            other => panic!("no event_id: {other}"),
        })
        .collect()
}

// ------------------------------------------------------------------ stats

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn stats_counts_one_day_per_provider_and_type() {
    // GIVEN three flashy events and one sendpulse event on a day of their own
    let d = day(unique_day());
    let n = nonce();
    let flashy = format!(
        r#"[{{"event":"email_automation_opened","contact_id":"a{n}","timestamp":"{d} 09:00:00"}},
            {{"event":"email_automation_opened","contact_id":"b{n}","timestamp":"{d} 10:00:00"}},
            {{"event":"purchase","contact_id":"a{n}","order_id":"{n}","timestamp":"{d} 11:00:00"}}]"#
    );
    let sendpulse = format!(
        r#"[{{"event":"open","email":"{n}@example.com","task_id":"1","timestamp":"{d} 12:00:00"}}]"#
    );
    // Received that day: a provider time over a day after receipt is not
    // the event's.
    let received = at(&format!("{d}T23:59:59Z"));
    store_events(&events(Provider::Flashy, &flashy, received)).await;
    store_events(&events(Provider::Sendpulse, &sendpulse, received)).await;

    // WHEN the day's stats are asked for
    let report = ok_json(&["stats", "--day", &d, "--json"]);

    // THEN every provider and type is counted
    assert_eq!(report["day"], json!(d));
    assert_eq!(report["total"], json!(4));
    assert_eq!(report["providers"], json!({"flashy": 3, "sendpulse": 1}));
    let counts = report["counts"].as_array().unwrap();
    assert!(
        counts.contains(&json!({"provider": "flashy", "event_type": "email.opened", "count": 2}))
    );
    assert!(counts.contains(
        &json!({"provider": "flashy", "event_type": "commerce.order_placed", "count": 1})
    ));
    assert!(counts
        .contains(&json!({"provider": "sendpulse", "event_type": "email.opened", "count": 1})));

    // AND one provider can be asked for alone, and the table reads well
    let report = ok_json(&["stats", "--day", &d, "--provider", "sendpulse", "--json"]);
    assert_eq!(report["total"], json!(1));
    let text = ok_text(&["stats", "--day", &d]);
    assert!(
        text.starts_with(&format!("4 events on {d} (UTC): flashy 3, sendpulse 1")),
        "{text}"
    );
    assert!(
        text.contains("email.opened") && text.contains('█'),
        "{text}"
    );
}

// ------------------------------------------------------------------- tail

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn tail_lists_the_newest_first_across_providers() {
    // GIVEN events of two providers on one day, and one on the day before
    let first = unique_day();
    let (d0, d1) = (day(first), day(first + time::Duration::days(1)));
    let n = nonce();
    let flashy = format!(
        r#"[{{"event":"email_automation_opened","contact_id":"t{n}","timestamp":"{d1} 09:00:00"}},
            {{"event":"purchase","contact_id":"t{n}","order_id":"1","timestamp":"{d1} 11:00:00"}},
            {{"event":"contact_created","contact_id":"t{n}","timestamp":"{d0} 23:00:00"}}]"#
    );
    let sendpulse =
        format!(r#"[{{"event":"open","email":"t{n}@example.com","timestamp":"{d1} 10:00:00"}}]"#);
    let received = at(&format!("{d1}T23:59:59Z"));
    let f = events(Provider::Flashy, &flashy, received);
    let sp = events(Provider::Sendpulse, &sendpulse, received);
    store_events(&f).await;
    store_events(&sp).await;

    // WHEN the newest events from the later day back are listed
    let listing = ok_json(&["tail", "--day", &d1, "--days", "2", "--json"]);

    // THEN they come newest first, merged across providers and days
    let expected = [
        &f[1].event_id,
        &sp[0].event_id,
        &f[0].event_id,
        &f[2].event_id,
    ];
    assert_eq!(ids(&listing), expected);
    assert_eq!(listing[1]["provider"], json!("sendpulse"));
    assert_eq!(listing[1]["email"], json!(format!("t{n}@example.com")));

    // AND --limit, --provider, --type and --days narrow the list
    let two = ok_json(&["tail", "--day", &d1, "--limit", "2", "--json"]);
    assert_eq!(ids(&two), expected[..2]);
    let flashy_only = ok_json(&[
        "tail",
        "--day",
        &d1,
        "--days",
        "2",
        "--provider",
        "flashy",
        "--json",
    ]);
    assert_eq!(
        ids(&flashy_only),
        [&f[1].event_id, &f[0].event_id, &f[2].event_id]
    );
    let opened = ok_json(&["tail", "--day", &d1, "--type", "email.opened", "--json"]);
    assert_eq!(ids(&opened), [&sp[0].event_id, &f[0].event_id]);
    let one_day = ok_json(&["tail", "--day", &d1, "--days", "1", "--json"]);
    assert_eq!(ids(&one_day).len(), 3);

    // AND the table shows them aligned
    let text = ok_text(&["tail", "--day", &d1]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("OCCURRED_AT "), "{text}");
    assert!(lines[1].contains("commerce.order_placed") && lines[1].ends_with(&f[1].event_id));
    assert_eq!(lines[1].find("flashy"), lines[0].find("PROVIDER"));
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn tail_follow_prints_events_as_they_arrive() {
    // GIVEN `tail --follow` running
    let mut child = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args([
            "tail",
            "--follow",
            "--json",
            "--provider",
            "sendpulse",
            "--type",
            "email.clicked",
        ])
        .args(["--limit", "0", "--interval", "0.2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("webhooks runs");
    let (out_tx, out_rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("following:"), "{line:?}");

    // WHEN an event arrives
    let n = nonce();
    let now = Timestamp::now().unix_seconds();
    let body = format!(
        r#"[{{"event":"redirect","email":"f{n}@example.com","link_url":"https://example.com/{n}","timestamp":{now}}}]"#
    );
    let sent = events(Provider::Sendpulse, &body, Timestamp::now());
    store_events(&sent).await;

    // THEN it is printed as one JSON line
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let found = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match out_rx.recv_timeout(left) {
            Ok(line) => {
                let event: Value = serde_json::from_str(&line).expect("JSON Lines");
                assert_eq!(event["event_type"], json!("email.clicked"));
                if event["event_id"] == json!(sent[0].event_id) {
                    break event;
                }
            }
            Err(_) => break Value::Null,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found["email"], json!(format!("f{n}@example.com")));
}

// ---------------------------------------------------------------- contact

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn contact_shows_one_timeline_across_providers_oldest_first() {
    // GIVEN one person's events at two providers, and a contact known only
    // by a provider id, and one known only by a phone number
    let n = nonce();
    let phone = format!("+1555{}", fastrand::u32(1_000_000..10_000_000));
    let email = format!("Timeline.{n}@Example.com");
    let flashy = format!(
        r#"[{{"event":"email_automation_clicked","email":"{email}","link":"https://x.example/{n}","timestamp":"2024-05-02 10:00:00"}},
            {{"event":"purchase","email":"{email}","order_id":"{n}","timestamp":"2024-05-03 10:00:00"}},
            {{"event":"contact_created","contact_id":"only-{n}","timestamp":"2024-05-01 10:00:00"}}]"#
    );
    let sendpulse = format!(
        r#"[{{"event":"open","email":"{email}","task_id":"7","timestamp":"2024-05-01 09:00:00"}},
            {{"title":"Welcome","automation_id":"5","execution_date":"2024-05-01 08:00:00","phone":"{phone}"}}]"#
    );
    let f = events(Provider::Flashy, &flashy, Timestamp::now());
    let sp = events(Provider::Sendpulse, &sendpulse, Timestamp::now());
    store_events(&f).await;
    store_events(&sp).await;

    // WHEN the contact is looked up by e-mail (any case)
    let timeline = ok_json(&["contact", &email.to_uppercase(), "--json"]);

    // THEN its events come oldest first, from both providers
    assert_eq!(
        ids(&timeline),
        [&sp[0].event_id, &f[0].event_id, &f[1].event_id]
    );
    let types: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["email.opened", "email.clicked", "commerce.order_placed"]
    );

    // AND provider:contact_id, a phone number and --limit work too
    let by_id = ok_json(&["contact", &format!("flashy:only-{n}"), "--json"]);
    assert_eq!(ids(&by_id), [&f[2].event_id]);
    let by_phone = ok_json(&["contact", &phone[1..], "--json"]);
    assert_eq!(ids(&by_phone), [&sp[1].event_id]);
    let first = ok_json(&["contact", &email, "--limit", "1", "--json"]);
    assert_eq!(ids(&first), [&sp[0].event_id]);
    let text = ok_text(&["contact", &email]);
    assert!(text.starts_with(&format!(
        "email#{}: 3 events from 2 providers, oldest first",
        email.to_lowercase()
    )));
    let none = ok_text(&["contact", &format!("nobody-{n}@example.com")]);
    assert!(none.starts_with("No events for email#nobody-"));
}

// ------------------------------------------------------------------- show

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn show_prints_one_item_with_its_raw_payload() {
    // GIVEN a stored event, and one whose raw had to be compressed
    let n = nonce();
    let body = format!(
        r#"{{"event":"hard_bounces","email":"s{n}@example.com","task_id":"9","smtp_server_response":"mailbox unavailable"}}"#
    );
    let event = events(Provider::Sendpulse, &format!("[{body}]"), Timestamp::now()).remove(0);
    let big_note = "lorem ipsum ".repeat(40_000);
    let big_body = format!(r#"{{"event":"open","email":"s{n}@example.com","note":"{big_note}"}}"#);
    let big = events(
        Provider::Sendpulse,
        &format!("[{big_body}]"),
        Timestamp::now(),
    )
    .remove(0);
    let big_item = fit(to_item(&big, None)).expect("compressible");
    assert_eq!(
        big_item["attributes"].as_m().unwrap()["raw_encoding"]
            .as_s()
            .unwrap(),
        "gzip+base64"
    );
    store(vec![to_item(&event, None), big_item]).await;

    // WHEN it is shown
    let shown = ok_json(&["show", &event.event_id, "--json"]);

    // THEN the whole item is there, raw included and decoded
    assert_eq!(shown["item"]["event_type"], json!("email.bounced"));
    assert_eq!(shown["item"]["attributes"]["bounce_type"], json!("hard"));
    assert_eq!(shown["item"]["raw"], json!(body));
    assert_eq!(
        shown["raw"]["smtp_server_response"],
        json!("mailbox unavailable")
    );
    let text = ok_text(&["show", &event.event_id]);
    assert!(text.contains("attributes.reason"), "{text}");
    assert!(
        text.contains("raw:\n{\n  \"event\": \"hard_bounces\",\n"),
        "{text}"
    );

    // AND a compressed raw is decoded
    let shown = ok_json(&["show", &big.event_id, "--json"]);
    assert_eq!(shown["raw"]["note"], json!(big_note));
    let text = ok_text(&["show", &big.event_id]);
    assert!(
        text.contains("raw (stored gzip+base64,"),
        "{}",
        &text[..400.min(text.len())]
    );

    // AND an id that is not there is one clear line
    let err = fails(&["show", &"0".repeat(64)]);
    assert!(err.contains("no item with event_id 000"), "{err}");
}

// ------------------------------------------------------------- quarantine

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn quarantine_groups_invalid_bodies_and_unknown_events() {
    // GIVEN two refused bodies and two events of a type nobody maps yet, on
    // a day of their own
    let d = day(unique_day());
    let n = nonce();
    let received = at(&format!("{d}T08:00:00Z"));
    let mut items = Vec::new();
    let mut reasons = Vec::new();
    for body in [format!("{{not json {n}"), format!("[\"{n}\"]")] {
        let reason = normalize(Provider::Egoi, body.as_bytes(), received)
            .unwrap_err()
            .to_string();
        items.push(to_item(
            &quarantine(Provider::Egoi, body.as_bytes(), &reason, received),
            None,
        ));
        reasons.push(reason);
    }
    let unknown = format!(
        r#"[{{"event":"brand_new_{n}","contact_id":"1","timestamp":"{d} 09:00:00"}},
            {{"event":"brand_new_{n}","contact_id":"2","timestamp":"{d} 10:00:00"}}]"#
    );
    let unknown = events(Provider::Flashy, &unknown, received);
    items.extend(unknown.iter().map(|e| to_item(e, None)));
    store(items).await;

    // WHEN the day's quarantine is listed
    let report = ok_json(&["quarantine", "--day", &d, "--json"]);

    // THEN both kinds are counted and grouped, with reasons
    assert_eq!(
        (report["invalid"].clone(), report["unknown"].clone()),
        (json!(2), json!(2))
    );
    let groups = report["groups"].as_array().unwrap();
    for reason in &reasons {
        assert!(
            groups.iter().any(|g| g["event_type"] == json!("invalid")
                && g["detail"] == json!(reason)
                && g["provider"] == json!("egoi")),
            "no group for {reason}: {groups:?}"
        );
    }
    let unknown_group = groups
        .iter()
        .find(|g| g["event_type"] == json!("unknown"))
        .expect("an unknown group");
    assert_eq!(unknown_group["detail"], json!(format!("brand_new_{n}")));
    assert_eq!(unknown_group["count"], json!(2));
    assert_eq!(unknown_group["latest_event_id"], json!(unknown[1].event_id));
    assert_eq!(report["items"].as_array().unwrap().len(), 4);

    // AND the whole-table scan finds them too, and --provider narrows it
    let all = ok_json(&["quarantine", "--provider", "flashy", "--json"]);
    let all_ids = all["items"].as_array().unwrap();
    assert!(all_ids.iter().all(|i| i["provider"] == json!("flashy")));
    assert!(all_ids
        .iter()
        .any(|i| i["event_id"] == json!(unknown[0].event_id)));
    let text = ok_text(&["quarantine", "--day", &d, "--items"]);
    assert!(text.starts_with(&format!(
        "Quarantine on {d} (UTC): 2 invalid (quarantined with the reason), 2 unknown"
    )));
    assert!(text.contains(&format!("brand_new_{n}")), "{text}");
}

// -------------------------------------------------------------- reprocess

/// The `--since`/`--until` arguments selecting one received day.
fn received_on(d: Date) -> [String; 4] {
    [
        "--since".to_owned(),
        day(d),
        "--until".to_owned(),
        day(d + time::Duration::days(1)),
    ]
}

fn reprocess(extra: &[&str], window: &[String; 4]) -> Value {
    let mut args = vec!["reprocess", "--json"];
    args.extend(extra);
    args.extend(window.iter().map(String::as_str));
    ok_json(&args)
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn reprocess_retypes_unknown_events_in_place() {
    // GIVEN an event stored as an older normalizer, without this event's
    // mapping, stored it: type `unknown`, no channel; and a typed event
    let d = unique_day();
    let window = received_on(d);
    let received = at(&format!("{}T08:00:00Z", day(d)));
    let n = nonce();
    let email = format!("r{n}@example.com");
    let body = format!(
        r#"[{{"event":"email_automation_opened","email":"{email}","automation_id":"3","timestamp":1714557600}},
            {{"event":"purchase","email":"{email}","order_id":"{n}","timestamp":1714561200}}]"#
    );
    let current = events(Provider::Flashy, &body, received);
    let mut old = to_item(&current[0], None);
    old.insert("event_type".into(), AttributeValue::S("unknown".into()));
    old.remove("channel");
    store(vec![old.clone(), to_item(&current[1], None)]).await;
    let id = &current[0].event_id;

    // WHEN a dry run looks at that day's arrivals
    let dry = reprocess(&["--dry-run"], &window);

    // THEN it shows the change and writes nothing
    assert_eq!(dry["dry_run"], json!(true));
    assert_eq!(
        dry["summary"]["candidates"],
        json!(1),
        "only the unknown one"
    );
    assert_eq!(dry["summary"]["retyped"], json!(1));
    assert_eq!(
        dry["changes"],
        json!([{"event_id": id, "provider": "flashy", "action": "retype", "from": "unknown",
                "to": "email.opened", "detail": "+channel ~event_type"}])
    );
    assert_eq!(get(id).await.unwrap(), old);

    // WHEN it runs for real
    let applied = reprocess(&[], &window);

    // THEN the item is typed, in place: same id, exactly what a delivery
    // stores today, and no second item for the event
    assert_eq!(applied["summary"]["retyped"], json!(1));
    let now = get(id).await.expect("still there");
    assert_eq!(now, to_item(&current[0], None));
    assert_eq!(s(&now, "event_type"), Some("email.opened"));
    let timeline = ok_json(&["contact", &email, "--json"]);
    assert_eq!(ids(&timeline), [&current[0].event_id, &current[1].event_id]);

    // AND running again changes nothing
    let again = reprocess(&[], &window);
    assert_eq!(again["summary"]["candidates"], json!(0));
    let everything = reprocess(&["--all", "--yes"], &window);
    assert_eq!(everything["summary"]["candidates"], json!(2));
    assert_eq!(everything["summary"]["unchanged"], json!(2));
    assert_eq!(everything["changes"], json!([]));
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn reprocess_turns_a_quarantined_body_into_its_events_once() {
    // GIVEN a body an older normalizer refused, though it is valid now, one
    // of its events already stored (a redelivery got through), and a body
    // that is still not JSON
    let d = unique_day();
    let window = received_on(d);
    let received = at(&format!("{}T08:00:00Z", day(d)));
    let n = nonce();
    let body = format!(
        r#"{{"events":[{{"action":"email_open","action_date":1714557600,"list_id":"7","contact":{{"base":["u{n}"],"fields":[{{"uid":"u{n}","email":"q{n}@example.com"}}]}}}},
                      {{"action":"email_click","action_date":1714561200,"list_id":"7","contact":{{"base":["u{n}"],"fields":[{{"uid":"u{n}","email":"q{n}@example.com"}}]}}}}]}}"#
    );
    let kept = quarantine(
        Provider::Egoi,
        body.as_bytes(),
        "body is not a egoi webhook: (older parser)",
        received,
    );
    let expected = events(Provider::Egoi, &body, received);
    let broken = format!("{{broken {n}");
    let reason = normalize(Provider::Egoi, broken.as_bytes(), received)
        .unwrap_err()
        .to_string();
    let still_bad = quarantine(Provider::Egoi, broken.as_bytes(), &reason, received);
    store(vec![
        to_item(&kept, None),
        to_item(&still_bad, None),
        to_item(&expected[1], None),
    ])
    .await;

    // WHEN a dry run looks
    let dry = reprocess(&["--dry-run", "--provider", "egoi"], &window);

    // THEN it would split the one body and keep the other, writing nothing
    assert_eq!(dry["summary"]["split"], json!(1));
    assert_eq!(dry["summary"]["split_events"], json!(2));
    assert_eq!(dry["summary"]["unchanged"], json!(1));
    assert!(get(&kept.event_id).await.is_some());
    assert!(get(&expected[0].event_id).await.is_none());

    // WHEN it runs for real
    let applied = reprocess(&["--provider", "egoi"], &window);

    // THEN the events are stored once each, the quarantine item is gone,
    // and the body that is still bad stays with its raw payload
    let summary = &applied["summary"];
    assert_eq!(
        (
            summary["events_stored"].clone(),
            summary["events_already_stored"].clone()
        ),
        (json!(1), json!(1))
    );
    let change = &applied["changes"][0];
    assert_eq!(change["action"], json!("split"));
    assert_eq!(
        change["events"],
        json!([expected[0].event_id, expected[1].event_id])
    );
    assert!(
        get(&kept.event_id).await.is_none(),
        "quarantine item removed"
    );
    for event in &expected {
        assert_eq!(get(&event.event_id).await.unwrap(), to_item(event, None));
    }
    let timeline = ok_json(&["contact", &format!("q{n}@example.com"), "--json"]);
    assert_eq!(timeline.as_array().unwrap().len(), 2, "no duplicate");
    let bad = get(&still_bad.event_id).await.expect("still kept");
    assert_eq!(s(&bad, "raw"), Some(broken.as_str()));

    // AND a second run has nothing left to do
    let again = reprocess(&["--provider", "egoi"], &window);
    assert_eq!(again["summary"]["candidates"], json!(1));
    assert_eq!(again["summary"]["unchanged"], json!(1));
}

/// A fault-injecting proxy in front of the local DynamoDB: every request
/// is passed on, except a PutItem whose body contains `refuse`, which is
/// answered with a ValidationException. Returns the proxy's URL.
fn refusing_proxy(refuse: String) -> String {
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("the local DynamoDB");
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for down in listener.incoming().flatten() {
            let (upstream, refuse) = (upstream.clone(), refuse.clone());
            std::thread::spawn(move || proxy_one(down, &upstream, &refuse));
        }
    });
    url
}

/// One request on a connection closed after it (`connection: close`).
fn proxy_one(down: std::net::TcpStream, upstream: &str, refuse: &str) -> Option<()> {
    let mut reader = BufReader::new(down.try_clone().ok()?);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut down = down;
    let put = head
        .to_ascii_lowercase()
        .contains("x-amz-target: dynamodb_20120810.putitem");
    if put && String::from_utf8_lossy(&body).contains(refuse) {
        let answer = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"refused by the test's proxy"}"#;
        write!(
            down,
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .ok()?;
        return Some(());
    }
    let mut up = std::net::TcpStream::connect(upstream).ok()?;
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(b"connection: close\r\n\r\n").ok()?;
    up.write_all(&body).ok()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).ok()?;
    // Whatever the server said, this connection ends here.
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let (head, rest) = response.split_at(split);
    let head: Vec<&str> = std::str::from_utf8(head)
        .ok()?
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    down.write_all(head.join("\r\n").as_bytes()).ok()?;
    down.write_all(b"\r\nconnection: close").ok()?;
    down.write_all(rest).ok()?;
    Some(())
}

/// The item an older normalizer, without this event's mapping, stored.
fn as_unknown(event: &Event) -> Item {
    let mut item = to_item(event, None);
    item.insert("event_type".into(), AttributeValue::S("unknown".into()));
    item.remove("channel");
    item
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn reprocess_lists_a_failed_item_and_carries_on() {
    // GIVEN three unknown events, the write of one of which DynamoDB refuses
    let d = unique_day();
    let window = received_on(d);
    let received = at(&format!("{}T08:00:00Z", day(d)));
    let n = nonce();
    let body = format!(
        r#"[{{"event":"email_automation_opened","contact_id":"a{n}","timestamp":1714557600}},
            {{"event":"email_automation_clicked","contact_id":"b{n}","timestamp":1714557601}},
            {{"event":"email_automation_delivered","contact_id":"c{n}","timestamp":1714557602}}]"#
    );
    let current = events(Provider::Flashy, &body, received);
    store(current.iter().map(as_unknown).collect()).await;
    let refused = current[1].event_id.clone();
    let proxy = refusing_proxy(refused.clone());

    // WHEN reprocess runs through a DynamoDB that refuses that one write
    let mut args = vec!["reprocess", "--json"];
    args.extend(window.iter().map(String::as_str));
    let out = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(&args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &proxy)
        .output()
        .unwrap();

    // THEN the other two are retyped, the failure is listed with
    // DynamoDB's reason, and the exit status says something failed
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("webhooks: 1 item failed (listed as `fail`); the others were applied"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is printed");
    assert_eq!(report["summary"]["retyped"], json!(2));
    assert_eq!(report["summary"]["failed"], json!(1));
    let failed: Vec<&Value> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == json!("fail"))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["event_id"], json!(refused));
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(detail.contains("refused by the test's proxy"), "{detail}");
    for (i, event) in current.iter().enumerate() {
        let item = get(&event.event_id).await.unwrap();
        let expected = if i == 1 {
            "unknown"
        } else {
            event.event_type.as_str()
        };
        assert_eq!(s(&item, "event_type"), Some(expected), "event {i}");
    }

    // AND a second run, with nothing refused, finishes the job
    let again = reprocess(&[], &window);
    assert_eq!(again["summary"]["retyped"], json!(1));
    assert_eq!(get(&refused).await.unwrap(), to_item(&current[1], None));
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn reprocess_leaves_alone_what_it_must_not_rewrite() {
    let d = unique_day();
    let window = received_on(d);
    let received = at(&format!("{}T08:00:00Z", day(d)));
    let n = nonce();

    // GIVEN a typed event this normalizer reads as unknown (a mapping since
    // removed), an unknown event written by a newer normalizer, and a
    // quarantine item quarantined only in part
    let mapped_away =
        format!(r#"[{{"event":"gone_{n}","contact_id":"t{n}","timestamp":1714557600}}]"#);
    let mapped_away = events(Provider::Flashy, &mapped_away, received).remove(0);
    assert_eq!(mapped_away.event_type, "unknown");
    let mut typed = to_item(&mapped_away, None);
    typed.insert(
        "event_type".into(),
        AttributeValue::S("email.opened".into()),
    );
    typed.insert("channel".into(), AttributeValue::S("email".into()));

    let later = format!(
        r#"[{{"event":"email_automation_opened","contact_id":"v{n}","timestamp":1714557600}}]"#
    );
    let later = events(Provider::Flashy, &later, received).remove(0);
    let mut newer = as_unknown(&later);
    newer.insert("normalizer".into(), AttributeValue::S("0.10.0".into()));

    let whole = format!(
        r#"{{"events":[{{"action":"email_open","note":"{n}{}"}}]}}"#,
        "x".repeat(500)
    );
    let mut partial = to_item(
        &quarantine(
            Provider::Egoi,
            &whole.as_bytes()[..100],
            "member 0 too large to keep",
            received,
        ),
        None,
    );
    if let Some(AttributeValue::M(attributes)) = partial.get_mut("attributes") {
        attributes.insert("truncated".into(), AttributeValue::Bool(true));
        attributes.insert(
            "original_bytes".into(),
            AttributeValue::N(whole.len().to_string()),
        );
        attributes.insert("sha256".into(), AttributeValue::S(format!("{:064x}", 7)));
    }
    let partial_id = s(&partial, "event_id").unwrap().to_owned();
    store(vec![typed.clone(), newer.clone(), partial.clone()]).await;

    // WHEN reprocess goes over every item of that day
    let report = reprocess(&["--all", "--yes"], &window);

    // THEN each is skipped with its reason, and none is written
    let reason = |id: &str| {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["event_id"] == json!(id))
            .map(|c| {
                (
                    c["action"].as_str().unwrap().to_owned(),
                    c["detail"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("no change listed for {id}: {report}"))
    };
    let (action, detail) = reason(&mapped_away.event_id);
    assert_eq!(action, "skip");
    assert!(
        detail.contains("reads it as unknown, not email.opened"),
        "{detail}"
    );
    let (action, detail) = reason(&later.event_id);
    assert_eq!(action, "skip");
    assert!(
        detail.contains("written by normalizer 0.10.0, newer than this one"),
        "{detail}"
    );
    let (action, detail) = reason(&partial_id);
    assert_eq!(action, "skip");
    assert!(
        detail.starts_with("quarantined only in part (truncated: "),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("{} bytes in full", whole.len())),
        "{detail}"
    );
    assert_eq!(report["summary"]["skipped"], json!(3));
    assert_eq!(get(&mapped_away.event_id).await.unwrap(), typed);
    assert_eq!(get(&later.event_id).await.unwrap(), newer);
    assert_eq!(get(&partial_id).await.unwrap(), partial);

    // AND quarantine shows the partial item as truncated
    let listed = ok_json(&[
        "quarantine",
        "--day",
        &day(d),
        "--provider",
        "egoi",
        "--json",
    ]);
    let entry = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["event_id"] == json!(partial_id))
        .expect("the partial item is listed");
    assert_eq!(entry["truncated"], json!(true));
    assert_eq!(entry["original_bytes"], json!(whole.len()));
    assert_eq!(entry["sha256"], json!(format!("{:064x}", 7)));
    assert_eq!(listed["truncated"], json!(1));

    // AND asked to, it turns the typed event into what it reads now
    let downgraded = reprocess(&["--all", "--yes", "--allow-downgrade"], &window);
    let change = downgraded["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event_id"] == json!(mapped_away.event_id))
        .expect("the typed event is listed");
    assert_eq!(change["action"], json!("retype"));
    assert_eq!(change["to"], json!("unknown"));
    assert_eq!(
        get(&mapped_away.event_id).await.unwrap(),
        to_item(&mapped_away, None)
    );
    assert_eq!(
        get(&later.event_id).await.unwrap(),
        newer,
        "still not rewritten"
    );
}

#[test]
fn reprocess_all_without_a_terminal_needs_yes() {
    let out = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(["--endpoint-url", "http://127.0.0.1:9", "reprocess", "--all"])
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("webhooks: reprocess --all re-normalizes every item of table"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no terminal to confirm on: add --yes"),
        "{stderr}"
    );
}

// ----------------------------------------------------------------- errors

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn errors_are_one_clear_line() {
    let missing = format!("no-such-table-{}", nonce());
    let err = fails(&["--table", &missing, "stats"]);
    assert!(
        err.contains(&format!(
            "table \"{missing}\" (or its index) does not exist"
        )),
        "{err}"
    );
    let err = fails(&["stats", "--day", "2024-13-01"]);
    assert!(err.contains("bad date \"2024-13-01\""), "{err}");
    let err = fails(&["reprocess", "--since", "last tuesday", "--dry-run"]);
    assert!(err.contains("bad date or time"), "{err}");
    let err = fails(&["tail", "--type", "email.open"]);
    assert!(err.contains("unknown event type \"email.open\""), "{err}");
    let err = fails(&["contact", "somebody"]);
    assert!(err.contains("cannot tell what contact"), "{err}");
}

#[test]
fn an_unreachable_table_is_one_clear_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(["--endpoint-url", "http://127.0.0.1:9", "stats"])
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("webhooks: cannot reach DynamoDB at http://127.0.0.1:9 ("),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

// ------------------------------------------------------------------- send

/// A one-request HTTP server: answers `status` with `answer`, hands back
/// the request it got (head, body).
fn one_request_server(
    status: &'static str,
    answer: &'static str,
) -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/lambda-url/flashy/",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        let _ = tx.send((head, body));
    });
    (url, rx)
}

#[test]
fn send_posts_the_file_with_the_token() {
    // GIVEN an endpoint and a body file
    let (url, request) =
        one_request_server("200 OK", r#"{"received":2,"stored":2,"duplicates":0}"#);
    let file = std::env::temp_dir().join(format!("webhooks-send-{}.json", nonce()));
    std::fs::write(&file, b"[{\"event\":\"contact_created\"}]").unwrap();

    // WHEN it is sent with tokens from the environment
    let out = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args([
            "send",
            "flashy",
            file.to_str().unwrap(),
            "--url",
            &url,
            "--json",
        ])
        .env("WEBHOOK_TOKENS", "new-token,old-token")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);

    // THEN the endpoint got a POST of the exact bytes with the first token
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, body) = request.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        head.starts_with("POST /lambda-url/flashy/ HTTP/1.1\r\n"),
        "{head}"
    );
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("authorization: bearer new-token\r\n"),
        "{head}"
    );
    assert!(
        head.contains("content-type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(body, b"[{\"event\":\"contact_created\"}]");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer,
        json!({"status": 200, "body": {"received": 2, "stored": 2, "duplicates": 0}})
    );
}

#[test]
fn send_fails_on_a_refusal_and_says_why() {
    let (url, _request) =
        one_request_server("401 Unauthorized", r#"{"error":"missing or wrong token"}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(["send", "flashy", "-", "--url", &url, "--token", "wrong"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"{}")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "401 Unauthorized {\"error\":\"missing or wrong token\"}\n"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("webhooks: {url} answered 401 Unauthorized\n")
    );

    let out = webhooks(&["send", "egoi", "/no/such/file.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("webhooks: cannot read /no/such/file.json"));
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test"]
async fn reprocess_reads_a_quarantined_member_as_a_member() {
    // GIVEN a Flashy batch whose second member is `42`, stored as the
    // functions store it (the event, and the member quarantined on its own),
    // and a member an older normalizer quarantined though it reads now
    let d = unique_day();
    let window = received_on(d);
    let intake = Intake {
        provider: Provider::Flashy,
        received_at: at(&format!("{}T08:00:00Z", day(d))),
        expiry: Expiry::Never,
    };
    let n = nonce();
    let good = format!(r#"{{"event":"purchase","order_id":"{n}","created_at":1674573849}}"#);
    let later = format!(r#"{{"event":"purchase","order_id":"{n}-2","created_at":1674573849}}"#);
    let body = format!("[{good},42]");
    let BodyItems::Members(members) = intake.body(body.as_bytes(), 100) else {
        panic!("an envelope");
    };
    let (_, number) = intake.quarantine(
        b"42",
        "body[1] is a number, expected an event object",
        Holds::Member("body[1]".into()),
    );
    let reason = |item: &Item| {
        item["attributes"].as_m().unwrap()["reason"]
            .as_s()
            .unwrap()
            .clone()
    };
    assert_eq!(reason(&members[1].1), reason(&number));
    let (_, old) = intake.quarantine(
        later.as_bytes(),
        "body[1] cannot be read: (older parser)",
        Holds::Member("body[1]".into()),
    );
    let old_id = s(&old, "event_id").unwrap().to_owned();
    let mut items: Vec<Item> = members.into_iter().map(|(_, item)| item).collect();
    items.push(old);
    store(items).await;

    // WHEN reprocess runs over them
    let applied = reprocess(&["--provider", "flashy"], &window);

    // THEN the `42` keeps its reason (it is not read as a body of its own),
    // and the member that reads now becomes its event
    let summary = &applied["summary"];
    assert_eq!(summary["unchanged"], json!(1), "{applied}");
    assert_eq!(summary["split"], json!(1), "{applied}");
    let kept = get(s(&number, "event_id").unwrap())
        .await
        .expect("still quarantined");
    assert_eq!(
        reason(&kept),
        "body[1] is a number, expected an event object"
    );
    assert!(
        get(&old_id).await.is_none(),
        "the old quarantine item is gone"
    );
    let event = &events(Provider::Flashy, &format!("[{later}]"), intake.received_at)[0];
    let stored = get(&event.event_id).await.expect("its event");
    assert_eq!(s(&stored, "event_type"), Some("commerce.order_placed"));
}
