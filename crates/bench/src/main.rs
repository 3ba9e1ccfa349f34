//! `make bench`: the whole cost of a webhook, each figure beside its floor
//! or its alternative, measured in one run. Prints a table and writes
//! target/bench/summary.json. Run through `make bench`, which builds the
//! release binaries and starts the local DynamoDB.

mod cold_start;
mod consent_view;
mod cost;
mod latency;
mod parse_vs_normalize;
mod runtime_api;
mod throughput;
mod worst_case;

use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round()
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

struct Row(String, String, String);

fn row(name: &str, value: String, target: &str) -> Row {
    eprintln!("  {name:28} {value}  {target}");
    Row(name.to_owned(), value, target.to_owned())
}

/// `BENCH_ONLY=normalize,cost` runs only those sections (all by default).
fn wanted(section: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == section))
}

#[tokio::main]
async fn main() {
    let mut summary = Map::new();
    let mut rows = Vec::new();
    let binary = root().join("target/release/sendpulse");

    if wanted("normalize") {
        eprintln!("bench: normalize vs parse");
        let mut ratios = Map::new();
        for r in parse_vs_normalize::run() {
            let ratio = round(r.normalize_ns / r.parse_ns, 2);
            ratios.insert(r.provider.to_string(), json!(ratio));
            rows.push(row(
                &format!("normalize_vs_parse.{}", r.provider),
                format!(
                    "{ratio:.2}  ({:.1} µs = events {:.1} + items {:.1}, vs parse {:.1} µs; {} bodies)",
                    r.normalize_ns / 1e3,
                    r.events_ns / 1e3,
                    (r.normalize_ns - r.events_ns) / 1e3,
                    r.parse_ns / 1e3,
                    r.bodies
                ),
                "≤ 2.0",
            ));
        }
        summary.insert("normalize_vs_parse".into(), Value::Object(ratios));
    }

    if wanted("cost") {
        eprintln!("bench: cost per event");
        let cost = cost::run();
        let wru = round(
            (cost.table_wru + cost.index_wru) as f64 / cost.events as f64,
            2,
        );
        summary.insert("wru_per_event".into(), json!(wru));
        rows.push(row(
            "wru_per_event",
            format!(
                "{wru:.2}  (table {:.2} + GSIs {:.2}; {} events, {} raw compressed, mean item {:.0} B)",
                cost.table_wru as f64 / cost.events as f64,
                cost.index_wru as f64 / cost.events as f64,
                cost.events,
                cost.compressed,
                cost.mean_item_bytes
            ),
            "≤ 3.0",
        ));
    }

    if wanted("latency") {
        eprintln!("bench: request latency against local DynamoDB");
        let mut latency = Map::new();
        let mut calls = Map::new();
        for l in latency::run(&[1, 25, 100], 60).await {
            let (p50, p99) = (percentile(&l.samples, 0.5), percentile(&l.samples, 0.99));
            latency.insert(
                l.events.to_string(),
                json!({"p50": us(p50), "p99": us(p99)}),
            );
            calls.insert(l.events.to_string(), json!(l.calls_per_body));
            rows.push(row(
                &format!("latency_us.{}", l.events),
                format!("p50 {:.0}  p99 {:.0}", us(p50), us(p99)),
                "reference",
            ));
            let target = if l.events == 100 { "≤ 5" } else { "" };
            rows.push(row(
                &format!("write_calls.{}", l.events),
                format!("{}", l.calls_per_body),
                target,
            ));
        }
        summary.insert("latency_us".into(), Value::Object(latency));
        summary.insert("write_calls".into(), Value::Object(calls));
    }

    if wanted("cold_start") {
        eprintln!("bench: cold start, Rust vs Python");
        let python = root().join(".venv/bin/python");
        let handler = root().join("crates/bench/python/handler.py");
        let (mut ours, mut theirs, mut first_vs_warm) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5 {
            let start = cold_start::rust_function(&binary, 30).await;
            ours.push(start.cold);
            first_vs_warm
                .push(start.first.as_secs_f64() / percentile(&start.warm, 0.5).as_secs_f64());
            theirs.push(cold_start::python_function(&python, &handler).await);
        }
        first_vs_warm.sort_by(f64::total_cmp);
        let (ours, theirs) = (percentile(&ours, 0.5), percentile(&theirs, 0.5));
        let cold_ratio = round(ours.as_secs_f64() / theirs.as_secs_f64(), 3);
        let fvw = round(first_vs_warm[first_vs_warm.len() / 2], 2);
        summary.insert("cold_start_vs_python".into(), json!(cold_ratio));
        summary.insert("first_vs_warm".into(), json!(fvw));
        summary.insert("cold_start_ms".into(), json!({"rust": round(ours.as_secs_f64() * 1e3, 1), "python": round(theirs.as_secs_f64() * 1e3, 1)}));
        rows.push(row(
            "cold_start_vs_python",
            format!(
                "{cold_ratio:.3}  ({:.1} ms vs {:.1} ms, medians of 5)",
                ours.as_secs_f64() * 1e3,
                theirs.as_secs_f64() * 1e3
            ),
            "≤ 0.2",
        ));
        rows.push(row("first_vs_warm", format!("{fvw:.2}"), "≤ 2.0"));
    }

    if wanted("footprint") {
        eprintln!("bench: footprint");
        let bootstrap = normalize::Provider::ALL
            .iter()
            .filter_map(|b| {
                std::fs::metadata(root().join(format!("target/lambda/{b}/bootstrap"))).ok()
            })
            .map(|m| m.len())
            .max();
        match bootstrap {
            Some(bytes) => {
                summary.insert("bootstrap_bytes".into(), json!(bytes));
                rows.push(row(
                    "bootstrap_bytes",
                    format!("{bytes}  ({:.2} MB, arm64)", bytes as f64 / 1e6),
                    "≤ 8 MB",
                ));
            }
            None => eprintln!("bench: no target/lambda/*/bootstrap; run `make build` first"),
        }
        let long_run = cold_start::rust_function(&binary, 1000).await;
        if let Some(rss) = long_run.peak_rss_bytes {
            summary.insert("peak_rss_bytes".into(), json!(rss));
            rows.push(row(
                "peak_rss_bytes",
                format!("{rss}  ({:.1} MB over 1,000 requests)", rss as f64 / 1e6),
                "≤ 30 MB",
            ));
        }
    }

    if wanted("worst_case") {
        eprintln!("bench: worst-case bodies, one fresh function each");
        let (mut rss, mut answer_ms, mut status) = (Map::new(), Map::new(), Map::new());
        for case in worst_case::run(&binary).await {
            let ms = case.answer.map(|d| round(d.as_secs_f64() * 1e3, 1));
            rss.insert(case.name.into(), json!(case.peak_rss_bytes));
            answer_ms.insert(case.name.into(), json!(ms));
            status.insert(
                case.name.into(),
                match &case.status {
                    Ok(code) => json!(code),
                    Err(why) => json!(why),
                },
            );
            rows.push(row(
                &format!("worst_case.{}", case.name),
                format!(
                    "{} {}  {}  {}  ({}, {} B)",
                    if case.within_target() { "✓" } else { "✗" },
                    case.peak_rss_bytes.map_or("RSS ?".into(), |b| format!(
                        "{:.1} MiB",
                        b as f64 / 1048576.0
                    )),
                    ms.map_or("no answer".into(), |ms| format!("{ms:.0} ms")),
                    match &case.status {
                        Ok(code) => code.to_string(),
                        Err(why) => why.clone(),
                    },
                    case.shape,
                    case.body_bytes
                ),
                "≤ 128 MiB, answered",
            ));
        }
        summary.insert("worst_case_rss_bytes".into(), Value::Object(rss));
        summary.insert("worst_case_answer_ms".into(), Value::Object(answer_ms));
        summary.insert("worst_case_status".into(), Value::Object(status));
    }

    if wanted("throughput") {
        eprintln!("bench: throughput through cargo lambda watch");
        let t = throughput::run(1000, 16).await;
        summary.insert(
            "throughput".into(),
            json!({"deliveries": t.deliveries, "concurrency": 16, "per_second": round(t.per_second, 1), "p99_ms": round(percentile(&t.samples, 0.99).as_secs_f64() * 1e3, 1)}),
        );
        rows.push(row(
            "throughput (watch, c=16)",
            format!(
                "{:.0} deliveries/s  p99 {:.1} ms",
                t.per_second,
                percentile(&t.samples, 0.99).as_secs_f64() * 1e3
            ),
            "reference",
        ));
    }

    if wanted("consent") {
        consent_view::section(&mut summary, &mut rows).await;
    }

    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    println!("\n{:width$}  {:<60}  target", "figure", "value");
    for Row(name, value, target) in &rows {
        println!("{name:width$}  {value:<60}  {target}");
    }
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let text = serde_json::to_string_pretty(&Value::Object(summary)).expect("summary");
    std::fs::write(out.join("summary.json"), text + "\n").expect("summary.json");
    println!("\nwrote target/bench/summary.json");
}
