//! Exactly once under load and faults, through `cargo lambda watch` (every
//! provider's function, 4 instances each) and a dynoxide server of this test's
//! own, keeping its data in a file.
//! Run by `make stress` (and `make test`): `cargo test -p ingest --test
//! stress -- --ignored --nocapture`. Sizes: STRESS_DELIVERIES (default
//! 2,100) and STRESS_CONCURRENCY (default 16).
//!
//! 1. Load: mixed providers and batch sizes, 30% of the deliveries
//!    redelivered (a third of those at the same moment as the original, a
//!    third later, a third re-serialized with other key order and spacing).
//!    Every answer is 200 or 503; every 200's counts add up; 503s are sent
//!    again; the table then holds exactly one item per distinct event.
//! 2. Faults: a second load during which the server is paused (SIGSTOP, 4 s)
//!    and later killed (SIGKILL) and restarted on the same database file, so
//!    it keeps what it acknowledged, as DynamoDB does. Every delivery it
//!    could not store must be answered 5xx, never 200; every 200-answered
//!    event must be in the table; re-sending the failed deliveries completes
//!    the set with no extra item.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use common::{repo_root, Dynoxide, Watch};
use events_table::dynamo;
use normalize::{normalize, Provider, Timestamp};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "stress-token";
const TABLE: &str = "stress-events";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The test's DynamoDB, in a database file, with the full table (as
/// infra/template.yaml defines it).
async fn dynamodb() -> Dynoxide {
    let server = Dynoxide::with_file("stress").await;
    let created = Command::new("python3")
        .arg(repo_root().join("infra/local/create_table.py"))
        .args([&server.endpoint(), TABLE])
        .stdout(Stdio::null())
        .status()
        .expect("python3 (make puts .venv/bin on PATH)");
    assert!(created.success(), "create_table.py");
    server
}

// ------------------------------------------------------------ deliveries

#[derive(Clone)]
struct Delivery {
    provider: Provider,
    body: String,
    /// The event ids the body carries, in body order.
    ids: Vec<String>,
}

/// The members of `provider`'s fixtures (crates/normalize/tests/fixtures)
/// that are one event each on their own: what the generated events are made
/// of, so every provider of the registry is sent its own shapes.
fn material(provider: Provider) -> Vec<Value> {
    let mut members = Vec::new();
    for path in common::normalizer_fixtures(provider) {
        let body = std::fs::read(&path).unwrap();
        let Ok(all) = normalize::members(provider, &body, Timestamp::now(), usize::MAX) else {
            continue;
        };
        for member in all {
            if let normalize::Member::Event { raw, .. } = member {
                let alone = provider.example_body(&[raw]);
                let one = normalize(provider, alone.as_bytes(), Timestamp::now())
                    .is_ok_and(|events| events.len() == 1);
                if one && raw.len() < 4096 {
                    members.push(serde_json::from_str(raw).unwrap());
                }
            }
        }
    }
    assert!(
        !members.is_empty(),
        "{provider}: no fixture member is an event on its own"
    );
    members
}

/// One event of `provider`, unique by `run` and `n`: a fixture member with
/// a field of its own (the event id hashes every field).
fn event(material: &[Value], run: &str, n: usize) -> Value {
    let mut event = material[n % material.len()].clone();
    event["stress"] = json!({"run": run, "n": n, "email": format!("u{n}.{run}@stress.example")});
    event
}

fn body_of(provider: Provider, events: &[Value]) -> String {
    let members: Vec<String> = events.iter().map(Value::to_string).collect();
    provider.example_body(&members)
}

fn delivery(provider: Provider, body: String) -> Delivery {
    let ids = normalize(provider, body.as_bytes(), Timestamp::now())
        .expect("generated bodies are valid")
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    Delivery {
        provider,
        body,
        ids,
    }
}

/// Batch sizes as providers send them: one event where the body is one
/// object (enKod, SuperSend), else mostly small batches and now and then a
/// large one.
fn batch_size(provider: Provider) -> usize {
    if provider.one_member_per_body() {
        1
    } else {
        [1, 1, 2, 3, 5, 10, 40][fastrand::usize(..7)]
    }
}

/// `total` deliveries, 30% of them redeliveries of the others.
fn plan(total: usize, run: &str) -> (Vec<Delivery>, HashSet<String>) {
    let redeliveries = total * 3 / 10;
    let originals = total - redeliveries;
    let mut n = 0;
    let mut plan: Vec<Delivery> = Vec::with_capacity(total);
    let mut values: Vec<Vec<Value>> = Vec::with_capacity(originals);
    let materials: HashMap<Provider, Vec<Value>> = Provider::ALL
        .into_iter()
        .map(|p| (p, material(p)))
        .collect();
    for k in 0..originals {
        let provider = Provider::ALL[k % Provider::ALL.len()];
        let events: Vec<Value> = (0..batch_size(provider))
            .map(|_| {
                n += 1;
                event(&materials[&provider], run, n)
            })
            .collect();
        plan.push(delivery(provider, body_of(provider, &events)));
        values.push(events);
    }
    let expected: HashSet<String> = plan.iter().flat_map(|d| d.ids.clone()).collect();
    // Redeliveries: a third right behind their original (in flight at the
    // same moment), a third anywhere later, a third re-serialized (keys
    // sorted, events reversed, other spacing) anywhere later.
    let mut order: Vec<Delivery> = plan.clone();
    let mut later: Vec<Delivery> = Vec::new();
    for r in 0..redeliveries {
        let i = fastrand::usize(..originals);
        match r % 3 {
            0 => {
                let position = order.iter().position(|d| d.body == plan[i].body).unwrap();
                order.insert(position + 1, plan[i].clone());
            }
            1 => later.push(plan[i].clone()),
            _ => {
                let provider = plan[i].provider;
                let mut events = values[i].clone();
                events.reverse();
                let body = serde_json::to_string_pretty(
                    &serde_json::from_str::<Value>(&body_of(provider, &events)).unwrap(),
                )
                .unwrap();
                let redelivery = delivery(provider, body);
                let mut a = redelivery.ids.clone();
                let mut b = plan[i].ids.clone();
                a.sort();
                b.sort();
                assert_eq!(a, b, "a re-serialized body has the same event ids");
                later.push(redelivery);
            }
        }
    }
    for d in later {
        let at = fastrand::usize(order.len() / 3..=order.len());
        order.insert(at, d);
    }
    (order, expected)
}

// ------------------------------------------------------------------ load

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    json: Value,
}

/// Sends every delivery with `concurrency` workers; `on_done` is called
/// with the number of answers so far.
async fn run(
    http: &reqwest::Client,
    watch: &Watch,
    deliveries: &[Delivery],
    concurrency: usize,
    done: Arc<AtomicUsize>,
) -> Vec<Answer> {
    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..deliveries.len()).collect()));
    let answers: Arc<Mutex<Vec<Option<Answer>>>> =
        Arc::new(Mutex::new(vec![None; deliveries.len()]));
    let deliveries: Arc<Vec<Delivery>> = Arc::new(deliveries.to_vec());
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (queue, answers, deliveries, done) = (
                queue.clone(),
                answers.clone(),
                deliveries.clone(),
                done.clone(),
            );
            let http = http.clone();
            let urls: HashMap<Provider, String> = Provider::ALL
                .iter()
                .map(|p| (*p, format!("{}?token={TOKEN}", watch.url(*p))))
                .collect();
            tokio::spawn(async move {
                loop {
                    let Some(i) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let d = &deliveries[i];
                    let answer = match http
                        .post(&urls[&d.provider])
                        .header("content-type", "application/json")
                        .body(d.body.clone())
                        .send()
                        .await
                    {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let text = response.text().await.unwrap_or_default();
                            let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
                            Answer { status, json }
                        }
                        Err(e) => Answer {
                            status: 0,
                            json: Value::String(e.to_string()),
                        },
                    };
                    answers.lock().unwrap()[i] = Some(answer);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();
    answers.into_iter().map(Option::unwrap).collect()
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    unavailable: usize,
    stored: u64,
    duplicates: u64,
}

/// Checks every answer: 200 with counts that add up, or 5xx; never
/// anything else. Returns the tally and the indexes to send again.
fn check(deliveries: &[Delivery], answers: &[Answer]) -> (Tally, Vec<usize>) {
    let mut tally = Tally::default();
    let mut again = Vec::new();
    for (i, (d, a)) in deliveries.iter().zip(answers).enumerate() {
        match a.status {
            200 => {
                let n = |k: &str| a.json[k].as_u64().unwrap_or_else(|| panic!("{}", a.json));
                let (received, stored, duplicates) = (n("received"), n("stored"), n("duplicates"));
                assert_eq!(received, d.ids.len() as u64, "{} {}", d.provider, a.json);
                assert_eq!(received, stored + duplicates, "{}", a.json);
                tally.ok += 1;
                tally.stored += stored;
                tally.duplicates += duplicates;
            }
            // 5xx, or no answer in time: the provider retries.
            0 | 500..=599 => {
                tally.unavailable += 1;
                again.push(i);
            }
            other => panic!("delivery {i} ({}) answered {other}: {}", d.provider, a.json),
        }
    }
    (tally, again)
}

/// Every event id in the table, and how many items it holds.
async fn table_ids(client: &Client) -> (HashSet<String>, usize) {
    let mut ids = HashSet::new();
    let mut items = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(TABLE)
            .projection_expression("event_id")
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("Scan");
        for item in page.items() {
            items += 1;
            if let Some(AttributeValue::S(id)) = item.get("event_id") {
                ids.insert(id.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return (ids, items);
        }
    }
}

/// Sends the failed deliveries again until each is answered 200.
async fn resend(
    http: &reqwest::Client,
    watch: &Watch,
    deliveries: &[Delivery],
    mut failed: Vec<usize>,
    concurrency: usize,
) -> usize {
    let mut sent = 0;
    for round in 0..10 {
        if failed.is_empty() {
            return sent;
        }
        let batch: Vec<Delivery> = failed.iter().map(|i| deliveries[*i].clone()).collect();
        sent += batch.len();
        let answers = run(http, watch, &batch, concurrency, Arc::default()).await;
        let (_, again) = check(&batch, &answers);
        failed = again.into_iter().map(|j| failed[j]).collect();
        eprintln!("  resend round {round}: {} still failing", failed.len());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{} deliveries still failing after 10 rounds", failed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test through cargo lambda watch: make stress (and make test)"]
async fn exactly_once_under_load_and_faults() {
    let total = env_usize("STRESS_DELIVERIES", 2100);
    let fault_total = env_usize("STRESS_FAULT_DELIVERIES", 700);
    let concurrency = env_usize("STRESS_CONCURRENCY", 16);
    let mut dynamodb = dynamodb().await;
    // 4 instances per function; no reloading (others may be editing the tree).
    let env = [
        ("WEBHOOK_TOKENS", TOKEN.to_owned()),
        ("TABLE_NAME", TABLE.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.endpoint()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let watch = Watch::start(
        &env,
        &["--concurrency", "4", "--ignore-changes"],
        "stress-watch.log",
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let client = dynamo::client_at(Some(&dynamodb.endpoint())).await;
    let started = Instant::now();
    watch.ready(&http).await;
    eprintln!("functions ready after {:.1?}", started.elapsed());

    // ---- 1. faults
    let run1 = format!("f{:06x}", fastrand::u32(..0xffffff));
    let (deliveries, expected1) = plan(fault_total, &run1);
    let done = Arc::new(AtomicUsize::new(0));
    let n = deliveries.len();
    let load = run(&http, &watch, &deliveries, concurrency, done.clone());
    let chaos = async {
        let at = |fraction: f64| (n as f64 * fraction) as usize;
        let answered = || done.load(Ordering::Relaxed);
        while answered() < at(0.2) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "faults: pausing DynamoDB (SIGSTOP) for 4 s at {} answers",
            answered()
        );
        dynamodb.signal("-STOP");
        tokio::time::sleep(Duration::from_secs(4)).await;
        dynamodb.signal("-CONT");
        while answered() < at(0.5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "faults: killing DynamoDB (SIGKILL) for 3 s at {} answers",
            answered()
        );
        dynamodb.kill();
        tokio::time::sleep(Duration::from_secs(3)).await;
        dynamodb.restart().await;
        eprintln!(
            "faults: restarted on the same database file at {} answers",
            answered()
        );
    };
    let started = Instant::now();
    let (answers, ()) = tokio::join!(load, chaos);
    let took = started.elapsed();
    let (tally, failed) = check(&deliveries, &answers);
    eprintln!(
        "faults: {n} deliveries ({} distinct events) at concurrency {concurrency} in {took:.1?}: {} answered 200, {} 5xx or no answer",
        expected1.len(),
        tally.ok,
        tally.unavailable
    );
    assert!(
        tally.unavailable > 0,
        "the faults caused no 5xx: too short a load?"
    );

    // Every event a 200 acknowledged is in the table, before any resend.
    let (ids, _) = table_ids(&client).await;
    let acknowledged: HashSet<&String> = deliveries
        .iter()
        .zip(&answers)
        .filter(|(_, a)| a.status == 200)
        .flat_map(|(d, _)| &d.ids)
        .collect();
    let missing = acknowledged.iter().filter(|id| !ids.contains(**id)).count();
    eprintln!(
        "faults: {} events acknowledged with 200, {missing} of them missing from the table",
        acknowledged.len()
    );
    assert_eq!(missing, 0, "an event answered 200 is not in the table");
    let resent = resend(&http, &watch, &deliveries, failed, concurrency).await;
    let (ids, items) = table_ids(&client).await;
    eprintln!(
        "faults: after re-sending the {resent} failed deliveries the table holds {items} items, {} expected",
        expected1.len()
    );
    assert_eq!(ids, expected1, "exactly the distinct events");
    assert_eq!(items, expected1.len(), "one item per distinct event");

    // ---- 2. load
    let run2 = format!("l{:06x}", fastrand::u32(..0xffffff));
    let (deliveries, expected2) = plan(total, &run2);
    let bodies: HashSet<&String> = deliveries.iter().map(|d| &d.body).collect();
    let started = Instant::now();
    let answers = run(&http, &watch, &deliveries, concurrency, Arc::default()).await;
    let took = started.elapsed();
    let (tally, failed) = check(&deliveries, &answers);
    let events: usize = deliveries.iter().map(|d| d.ids.len()).sum();
    eprintln!(
        "load: {} deliveries ({} redeliveries, {} of them byte-identical), {events} events, {} distinct, at concurrency {concurrency} in {took:.1?} ({:.0}/s): {} answered 200, {} 5xx or no answer; stored {} + duplicates {}",
        deliveries.len(),
        total * 3 / 10,
        deliveries.len() - bodies.len(),
        expected2.len(),
        deliveries.len() as f64 / took.as_secs_f64(),
        tally.ok,
        tally.unavailable,
        tally.stored,
        tally.duplicates
    );
    let resent = resend(&http, &watch, &deliveries, failed, concurrency).await;
    let (ids, items) = table_ids(&client).await;
    let all: HashSet<String> = expected1.union(&expected2).cloned().collect();
    eprintln!(
        "load: table holds {items} items, {} expected ({resent} deliveries re-sent after 5xx); {} events counted stored twice by racing deliveries",
        all.len(),
        (tally.stored as usize).saturating_sub(expected2.len())
    );
    assert_eq!(ids, all, "exactly the distinct events of both runs");
    assert_eq!(items, all.len(), "one item per distinct event");
}
