//! The consent view's cost: the stream function's work per 1,000 records
//! without I/O (decode the record, read the image, build the items; then the
//! fold of each person), and `webhooks consent rebuild`'s throughput
//! against the scan alone, on the local DynamoDB.

use super::{round, row, Row};
use consent_fn::table::{create_table, items_of, ConsentTable};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

const TYPES: [&str; 6] = [
    "contact.unsubscribed",
    "contact.resubscribed",
    "email.complained",
    "email.bounced",
    "email.delivered",
    "contact.confirmed",
];

/// 1,000 stream records about 200 people (5 events each), as Lambda hands
/// them over.
fn records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let seconds = 1_767_225_600 + (i as i64) * 3_600;
            let at = normalize::Timestamp::from_unix_seconds(seconds).expect("a time").text();
            json!({
                "eventID": format!("ev{i}"), "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {"SequenceNumber": i.to_string(), "SizeBytes": 600, "StreamViewType": "NEW_IMAGE",
                    "Keys": {"event_id": {"S": format!("e{i:08}")}},
                    "NewImage": {
                        "event_id": {"S": format!("e{i:08}")}, "provider": {"S": "egoi"},
                        "event_type": {"S": TYPES[i % TYPES.len()]}, "occurred_at": {"S": at},
                        "email": {"S": format!("person{}@example.com", i % (n / 5).max(1))},
                        "contact_id": {"S": format!("c{}", i % (n / 5).max(1))}, "list_id": {"S": "7"},
                        "raw": {"S": "{\"action\":\"unsubscribe\"}"}, "schema_version": {"N": "1"},
                        "attributes": {"M": {"bounce_type": {"S": "soft"}}}}}
            })
        })
        .collect()
}

fn per_thousand(elapsed: Duration, n: usize) -> f64 {
    round(elapsed.as_secs_f64() * 1e6 * 1000.0 / n as f64, 1)
}

/// Adds the section's rows and its part of summary.json.
pub async fn section(summary: &mut Map<String, Value>, rows: &mut Vec<Row>) {
    eprintln!("bench: consent view");
    let n = 1000;
    let batch = records(n);
    let rounds = 20;
    let mut facts = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds {
        facts.clear();
        for record in &batch {
            let record: aws_lambda_events::dynamodb::EventRecord =
                serde_json::from_value(record.clone()).expect("a record");
            let fact =
                consent_fn::image::fact_from_image(&record.change.new_image).expect("a fact");
            std::hint::black_box(items_of(&fact).expect("items"));
            facts.push(fact);
        }
    }
    let apply = per_thousand(started.elapsed() / rounds, n);

    let mut people: std::collections::BTreeMap<String, Vec<consent::Fact>> = Default::default();
    for fact in &facts {
        for subject in consent::subjects(fact) {
            people.entry(subject).or_default().push(fact.clone());
        }
    }
    let settings = consent::Settings::default();
    let started = Instant::now();
    for _ in 0..rounds {
        for person in people.values() {
            std::hint::black_box(consent::fold(person.iter().cloned(), &settings));
        }
    }
    let fold = per_thousand(started.elapsed() / rounds, n);
    rows.push(row(
        "consent.per_1000_records_us",
        format!(
            "apply {apply:.0}  fold {fold:.0}  (decode + image + items; fold of {} people of 5)",
            people.len()
        ),
        "reference",
    ));

    let mut figures = json!({"apply_us_per_1000": apply, "fold_us_per_1000": fold});
    match rebuild_vs_scan(2000).await {
        Ok((scan, rebuild)) => {
            rows.push(row(
                "consent.rebuild_items_per_s",
                format!("{rebuild:.0}  (scan alone {scan:.0}; 2,000 events, local DynamoDB)"),
                "reference",
            ));
            figures["rebuild_per_s"] = json!(round(rebuild, 0));
            figures["scan_per_s"] = json!(round(scan, 0));
        }
        Err(why) => eprintln!("bench: consent rebuild skipped: {why}"),
    }
    summary.insert("consent".into(), figures);
}

/// Events stored in a table of their own, then read by a plain scan and by
/// a rebuild into a fresh consent table: items per second of each.
async fn rebuild_vs_scan(n: usize) -> Result<(f64, f64), String> {
    let client = events_table::dynamo::client_at(None).await;
    let suffix = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let events = format!("bench-events-{suffix}");
    test_support::create_events_table(&client, &events).await;
    let consent_table = format!("bench-consent-{suffix}");
    create_table(&client, &consent_table)
        .await
        .map_err(|e| e.to_string())?;
    let table = ConsentTable::new(client.clone(), &consent_table);

    let mut requests = Vec::new();
    for record in records(n) {
        let image: serde_dynamo::Item =
            serde_json::from_value(record["dynamodb"]["NewImage"].clone())
                .map_err(|e| e.to_string())?;
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            image.into();
        requests.push(consent_fn::table::put_request(item).map_err(|e| e.to_string())?);
    }
    let events_as_consent = ConsentTable::new(client.clone(), &events);
    events_as_consent
        .write_batch(requests)
        .await
        .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut scanned = 0usize;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&events)
            .projection_expression(
                "event_id, provider, event_type, occurred_at, channel, email, phone, contact_id, list_id, attributes",
            )
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        scanned += page.items().len();
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let scan = scanned as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let rebuilt = consent_fn::rebuild::rebuild(&table, &events, |_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    let rebuild = rebuilt.scanned as f64 / started.elapsed().as_secs_f64();
    Ok((scan, rebuild))
}
