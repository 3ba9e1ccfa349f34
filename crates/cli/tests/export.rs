//! `webhooks export` and the named queries of analytics/: every fixture's
//! events stored in a table of this test's own (in the local DynamoDB of
//! `make test`), exported, and each query run with DuckDB
//! (`analytics/report.py --json`, from .venv); every count checked against
//! what the stored items hold, worked out here without SQL.

use aws_sdk_dynamodb::types::AttributeValue;
use events_table::intake::{BodyItems, Expiry, Intake};
use events_table::store::store_all;
use events_table::{DynamoTable, Item};
use normalize::{Provider, Timestamp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use test_support::repo_root;

/// Every event of every fixture body, as the functions store them (one
/// path from a body to its items: a member that is not an event, or a body
/// that is not the envelope, becomes its `invalid` item), once per event_id.
fn fixture_items() -> Vec<Item> {
    let received_at = Timestamp::parse("2024-06-03T12:00:00.000Z").unwrap();
    let mut items = Vec::new();
    for provider in Provider::ALL {
        let intake = Intake {
            provider,
            received_at,
            expiry: Expiry::days(Some(30)),
        };
        for path in test_support::fixture_files(provider) {
            let body = std::fs::read(&path).unwrap();
            match intake.body(&body, 5_000) {
                BodyItems::Members(members) => {
                    items.extend(members.into_iter().map(|(_, item)| item))
                }
                BodyItems::Refused { item, .. } => items.push(item),
            }
        }
    }
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(s(item, "event_id").unwrap().to_owned()));
    items
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn day(item: &Item) -> String {
    s(item, "occurred_at").unwrap()[..10].to_owned()
}

/// The message stage of a lifecycle event (`email.sent` -> `sent`): its
/// type starts with its channel.
fn stage(item: &Item) -> Option<&str> {
    let (prefix, stage) = s(item, "event_type")?.split_once('.')?;
    (Some(prefix) == s(item, "channel")).then_some(stage)
}

fn hard_bounce(item: &Item) -> bool {
    stage(item) == Some("bounced")
        && item
            .get("attributes")
            .and_then(|a| a.as_m().ok())
            .and_then(|a| a.get("bounce_type"))
            == Some(&AttributeValue::S("hard".into()))
}

fn export(table: &str, out: &Path, extra: &[&str]) -> Value {
    let done = Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(["--table", table, "export", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("the webhooks binary runs");
    assert!(
        done.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    let manifest = std::fs::read_to_string(out.join("export.json")).expect("export.json");
    serde_json::from_str(&manifest).unwrap()
}

/// Every named query's rows, from DuckDB.
fn run_queries(export_dir: &Path) -> Value {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make tools` (installs duckdb)",
        python.display()
    );
    let done = Command::new(python)
        .arg(repo_root().join("analytics/report.py"))
        .arg(export_dir)
        .arg("--json")
        .output()
        .expect("python runs");
    assert!(
        done.status.success(),
        "report.py failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    serde_json::from_slice(&done.stdout).expect("JSON from report.py")
}

/// `part / whole` as the queries give it: rounded to 4 places, null on 0.
fn rate(part: u64, whole: u64) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    json!((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

fn rows(answer: &Value, query: &str) -> Vec<Value> {
    answer[query]
        .as_array()
        .unwrap_or_else(|| panic!("no rows for {query}: {answer}"))
        .clone()
}

fn assert_rates_close(got: &[Value], want: &[Value], rates: &[&str]) {
    assert_eq!(got.len(), want.len(), "{got:#?}\n{want:#?}");
    for (g, w) in got.iter().zip(want) {
        for (key, value) in w.as_object().unwrap() {
            if rates.contains(&key.as_str()) && value.is_f64() {
                let (a, b) = (g[key].as_f64().unwrap(), value.as_f64().unwrap());
                assert!((a - b).abs() < 1e-9, "{key}: {g} vs {w}");
            } else {
                assert_eq!(&g[key], value, "{key}: {g} vs {w}");
            }
        }
        assert_eq!(g.as_object().unwrap().len(), w.as_object().unwrap().len());
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of make test and .venv (duckdb)"]
async fn every_fixture_event_is_exported_and_counted_by_each_named_query() {
    // GIVEN every fixture's events in a table of their own
    let items = fixture_items();
    let client = events_table::dynamo::client_at(None).await;
    let table = format!("analytics-{:016x}", fastrand::u64(..));
    test_support::create_events_table(&client, &table).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    store_all(
        &DynamoTable::new(client, table.clone()),
        items.clone(),
        deadline,
    )
    .await
    .expect("storing the fixtures");

    // WHEN the table is exported and every named query runs over the export
    let dir = repo_root().join(format!("target/analytics-test/{table}"));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("all");
    let manifest = export(&table, &out, &[]);
    let answer = run_queries(&out);

    // THEN the export holds every event, in its partition, without raw
    assert_eq!(manifest["events"], json!(items.len()));
    assert_eq!(manifest["skipped"], json!(0));
    let one = std::fs::read_dir(out.join("provider=egoi"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("events.jsonl");
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(one)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!(line.get("raw").is_none() && line.get("provider").is_none());
    assert!(line["expires_at"].is_u64() && line["event_id"].is_string());

    // AND daily_counts counts every event once, per day, provider and type
    let mut daily: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for item in &items {
        let key = (
            day(item),
            s(item, "provider").unwrap().to_owned(),
            s(item, "event_type").unwrap().to_owned(),
        );
        *daily.entry(key).or_default() += 1;
    }
    let want: Vec<Value> = daily
        .iter()
        .map(|((d, p, t), n)| json!({"day": d, "provider": p, "event_type": t, "events": n}))
        .collect();
    assert_eq!(rows(&answer, "daily_counts"), want);

    // AND campaign_funnel counts each campaign's stages per provider and channel
    let stages = [
        "sent",
        "delivered",
        "opened",
        "clicked",
        "bounced",
        "complained",
    ];
    let mut funnel: BTreeMap<(String, String, String), BTreeMap<&str, u64>> = BTreeMap::new();
    for item in &items {
        let (Some(stage), Some(campaign)) = (stage(item), s(item, "campaign_id")) else {
            continue;
        };
        if !stages.contains(&stage) {
            continue;
        }
        let key = (
            s(item, "provider").unwrap().to_owned(),
            campaign.to_owned(),
            s(item, "channel").unwrap().to_owned(),
        );
        *funnel
            .entry(key)
            .or_insert_with(|| stages.iter().map(|s| (*s, 0)).collect())
            .entry(stage)
            .or_default() += 1;
    }
    let want: Vec<Value> = funnel
        .iter()
        .map(|((p, c, ch), n)| {
            let mut row = json!({"provider": p, "campaign_id": c, "channel": ch});
            for stage in stages {
                row[stage] = json!(n[stage]);
            }
            row["bounce_rate"] = rate(n["bounced"], n["sent"]);
            row["complaint_rate"] = rate(n["complained"], n["delivered"]);
            row
        })
        .collect();
    assert!(want.len() >= 3, "the fixtures hold campaigns: {want:?}");
    assert_rates_close(
        &rows(&answer, "campaign_funnel"),
        &want,
        &["bounce_rate", "complaint_rate"],
    );

    // AND complaints_and_hard_bounces gives each provider's day
    let mut per_day: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for item in &items {
        let Some(stage) = stage(item) else { continue };
        let key = (day(item), s(item, "provider").unwrap().to_owned());
        let n = per_day.entry(key).or_default();
        match stage {
            "sent" => n[0] += 1,
            "delivered" => n[1] += 1,
            "complained" => n[2] += 1,
            _ => {}
        }
        if hard_bounce(item) {
            n[3] += 1;
        }
    }
    let want: Vec<Value> = per_day
        .iter()
        .filter(|(_, n)| n.iter().any(|&c| c > 0))
        .map(|((d, p), n)| {
            json!({"day": d, "provider": p, "sent": n[0], "delivered": n[1],
                   "complained": n[2], "hard_bounced": n[3],
                   "complaint_rate": rate(n[2], n[1]), "hard_bounce_rate": rate(n[3], n[0])})
        })
        .collect();
    assert!(
        want.iter().any(|r| r["hard_bounced"].as_u64() > Some(0))
            && want.iter().any(|r| r["complained"].as_u64() > Some(0)),
        "the fixtures hold hard bounces and complaints: {want:?}"
    );
    assert_rates_close(
        &rows(&answer, "complaints_and_hard_bounces"),
        &want,
        &["complaint_rate", "hard_bounce_rate"],
    );

    // AND unmapped_events lists every unknown event name with its count
    let mut unmapped: BTreeMap<(String, String), (u64, String, String)> = BTreeMap::new();
    for item in items
        .iter()
        .filter(|i| s(i, "event_type") == Some("unknown"))
    {
        let key = (
            s(item, "provider").unwrap().to_owned(),
            s(item, "provider_event").unwrap_or_default().to_owned(),
        );
        let at = s(item, "received_at").unwrap().to_owned();
        let seen = unmapped.entry(key).or_insert((0, at.clone(), at.clone()));
        seen.0 += 1;
        seen.1 = seen.1.clone().min(at.clone());
        seen.2 = seen.2.clone().max(at);
    }
    assert!(unmapped.len() >= 3, "the fixtures hold unknown names");
    let mut got: Vec<Value> = rows(&answer, "unmapped_events");
    let mut want: Vec<Value> = unmapped
        .iter()
        .map(|((p, e), (n, first, last))| {
            json!({"provider": p, "provider_event": e, "events": n, "first_seen": first, "last_seen": last})
        })
        .collect();
    // One receive time for all: the order is by provider and name then.
    got.sort_by_key(|r| r.to_string());
    want.sort_by_key(|r| r.to_string());
    assert_eq!(got, want);

    // AND --provider and --since narrow the export
    let egoi = export(&table, &dir.join("egoi"), &["--provider", "egoi"]);
    let egoi_items = items
        .iter()
        .filter(|i| s(i, "provider") == Some("egoi"))
        .count();
    assert_eq!(egoi["events"], json!(egoi_items));
    let mut days: Vec<String> = items.iter().map(day).collect();
    days.sort();
    let since = days[days.len() / 2].as_str();
    let recent = export(&table, &dir.join("recent"), &["--since", since]);
    let recent_items = items.iter().filter(|i| day(i).as_str() >= since).count();
    assert!(recent_items > 0 && recent_items < items.len());
    assert_eq!(recent["events"], json!(recent_items));

    // AND a second export into the same directory replaces the first
    let again = export(&table, &dir.join("egoi"), &[]);
    assert_eq!(again["events"], json!(items.len()));
    assert!(!dir.join("egoi.partial").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
