//! The metrics contract (docs/design.md, "Fan-out and metrics"): every
//! webhook request writes one CloudWatch Embedded Metric Format line with
//! namespace `MarketingWebhooks`, dimension `provider`, the counts and the
//! latency; reachability checks write none; no line holds a token, a body
//! or an address. In-process through the handler (lines captured on the
//! test's thread), and under `cargo lambda watch`, where the lines arrive on
//! watch's stdout as they would in the Lambda log.

mod common;

use common::{answer, app_with, local_dynamodb_env, Req, Watch, TOKEN};
use ingest::metrics::{self, METRICS, NAMESPACE};
use ingest::Provider;
use serde_json::{json, Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const EMAIL: &str = "Metric.Reader@Example.COM";
const MARKER: &str = "metrics-marker-7k2p";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Checks one line against what the EMF specification requires of it
/// (CloudWatch drops a line that breaks any of these) and against this
/// project's contract; returns the line as a JSON object.
fn check_emf(line: &str) -> Map<String, Value> {
    assert!(!line.contains('\n'), "one line: {line}");
    let root: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let root = root.as_object().expect("a JSON object").clone();
    let aws = root["_aws"].as_object().expect("_aws member");
    let ts = aws["Timestamp"]
        .as_u64()
        .expect("_aws.Timestamp: integer ms");
    assert!(
        ts.abs_diff(now_ms()) < 600_000,
        "Timestamp {ts} is not ms since the epoch, now"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics array");
    assert_eq!(directives.len(), 1, "{line}");
    let directive = directives[0].as_object().unwrap();
    assert_eq!(directive["Namespace"], NAMESPACE);
    let sets = directive["Dimensions"]
        .as_array()
        .expect("Dimensions array");
    assert_eq!(sets, &[serde_json::json!(["provider"])]);
    for dimension in sets.iter().flat_map(|s| s.as_array().unwrap()) {
        let name = dimension.as_str().unwrap();
        assert!(
            root[name].is_string(),
            "dimension {name} needs a string member"
        );
    }
    let defined = directive["Metrics"].as_array().expect("Metrics array");
    assert!(!defined.is_empty() && defined.len() <= 100);
    let mut names: Vec<&str> = Vec::new();
    for metric in defined {
        let name = metric["Name"].as_str().expect("Metrics[].Name");
        let unit = metric["Unit"].as_str().expect("Metrics[].Unit");
        assert!(
            METRICS.contains(&(name, unit)),
            "{name} ({unit}) is not in the contract"
        );
        let value = root
            .get(name)
            .unwrap_or_else(|| panic!("no member for {name}"));
        assert!(value.as_f64().is_some_and(|v| v >= 0.0), "{name} = {value}");
        names.push(name);
    }
    names.sort_unstable();
    let mut all: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
    all.sort_unstable();
    assert_eq!(names, all);
    let classes: f64 = ["Requests2xx", "Requests4xx", "Requests5xx"]
        .iter()
        .map(|n| root[*n].as_f64().unwrap())
        .sum();
    assert_eq!(classes, 1.0, "exactly one status class: {line}");
    let lower = line.to_lowercase();
    for secret in [TOKEN, "wrong-token", MARKER, "metric.reader", "example.com"] {
        assert!(!lower.contains(secret), "line holds {secret:?}: {line}");
    }
    root
}

fn n(line: &Map<String, Value>, name: &str) -> u64 {
    line[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {line:?}"))
}

fn body(seconds: u64) -> String {
    format!(
        r#"[{{"event":"open","timestamp":{seconds},"task_id":"{MARKER}","email":"{EMAIL}"}},{{"event":"redirect","timestamp":{seconds},"email":"{EMAIL}","link_url":"https://example.com/?{MARKER}"}}]"#
    )
}

#[tokio::test]
async fn every_webhook_request_writes_one_emf_line_with_its_counts() {
    let app = app_with(Provider::Sendpulse, &[]);
    let capture = metrics::capture();
    let mut statuses = Vec::new();
    let send = |req: Req| {
        let app = &app;
        async move { answer(app.handle(req.build()).await).0 }
    };
    statuses.push(send(Req::post(body(1732528800))).await);
    statuses.push(send(Req::post(body(1732528800))).await);
    statuses.push(send(Req::post(body(1732528800)).query("token", "wrong-token")).await);
    statuses.push(send(Req::post(format!(r#"[{{"event":"open","note":"{MARKER}""#))).await);
    statuses.push(send(Req::post(body(1)).method("PUT")).await);
    // A batch with a member that is not an event and an unmapped event.
    statuses.push(
        send(Req::post(
            r#"[7,{"event":"brand_new_thing","timestamp":1732528800},{"event":"open","timestamp":1732528801}]"#,
        ))
        .await,
    );
    // Reachability checks are not webhooks: answered, but no line.
    statuses.push(send(Req::post("").method("GET")).await);
    statuses.push(
        app.handle(Req::post("").method("HEAD").build())
            .await
            .status()
            .as_u16(),
    );
    *app.table.down.lock().unwrap() = true;
    statuses.push(send(Req::post(body(1732529999))).await);
    assert_eq!(statuses, [200, 200, 401, 400, 405, 200, 200, 200, 503]);

    let lines: Vec<_> = capture.lines().iter().map(|l| check_emf(l)).collect();
    assert_eq!(lines.len(), 7, "{:#?}", capture.lines());
    for line in &lines {
        assert_eq!(line["provider"], "sendpulse");
        assert!(line["Latency"].as_f64().is_some());
    }
    let row = |line: &Map<String, Value>| {
        (
            n(line, "status"),
            n(line, "Received"),
            n(line, "Stored"),
            n(line, "Duplicates"),
            n(line, "Quarantined"),
            n(line, "Unknown"),
            n(line, "Requests2xx"),
            n(line, "Requests4xx"),
            n(line, "Requests5xx"),
        )
    };
    let rows: Vec<_> = lines.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            (200, 2, 2, 0, 0, 0, 1, 0, 0),
            (200, 2, 0, 2, 0, 0, 1, 0, 0),
            (401, 0, 0, 0, 0, 0, 0, 1, 0),
            // Refused as a whole, kept as one `invalid` item.
            (400, 1, 0, 0, 1, 0, 0, 1, 0),
            (405, 0, 0, 0, 0, 0, 0, 1, 0),
            (200, 3, 2, 0, 1, 1, 1, 0, 0),
            (503, 0, 0, 0, 0, 0, 0, 0, 1),
        ]
    );
}

#[test]
fn the_check_catches_a_line_cloudwatch_would_not_read() {
    let good = {
        let capture = metrics::capture();
        metrics::RequestMetrics::new("flashy", "-", 200, 1.0).emit();
        capture.lines().remove(0)
    };
    check_emf(&good);
    let parsed: Value = serde_json::from_str(&good).unwrap();
    type Break = fn(&mut Value);
    let broken: [(&str, Break); 6] = [
        ("seconds", |v| v["_aws"]["Timestamp"] = json!(1_700_000_000)),
        ("namespace", |v| {
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("Other")
        }),
        ("dimension", |v| v["provider"] = json!(1)),
        ("value", |v| v["Stored"] = json!("0")),
        ("no member", |v| {
            v.as_object_mut().unwrap().remove("Unknown");
        }),
        ("secret", |v| v["request_id"] = json!(TOKEN)),
    ];
    for (what, breaks) in broken {
        let mut bad = parsed.clone();
        breaks(&mut bad);
        let line = bad.to_string();
        let caught = std::panic::catch_unwind(|| check_emf(&line));
        assert!(caught.is_err(), "{what} not caught: {line}");
    }
}

/// The metrics lines among the functions' output.
fn emf_lines(watch: &Watch) -> Vec<String> {
    watch
        .output_lines()
        .into_iter()
        .filter(|l| l.starts_with('{') && l.contains(r#""_aws""#))
        .collect()
}

#[tokio::test]
#[ignore = "needs the local DynamoDB and cargo-lambda of `make test`"]
async fn under_cargo_lambda_watch_each_request_logs_one_emf_line() {
    let mut env = vec![("WEBHOOK_TOKENS", TOKEN.to_owned())];
    env.extend(local_dynamodb_env());
    let watch = Watch::start_keeping_output(&env, &[], "metrics-watch.log", "metrics-watch.out");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    // The first request builds and starts the function.
    watch.ready_one(&http, Provider::Flashy).await;
    let url = watch.url(Provider::Flashy);

    let seconds = now_ms() / 1000;
    let flashy = format!(
        r#"[{{"account_id":312,"contact_id":"c-metrics","email":"{EMAIL}","created_at":{seconds},"event":"email_automation_opened","note":"{MARKER}"}}]"#
    );
    let post = |token: &'static str| {
        http.post(format!("{url}?token={token}"))
            .header("content-type", "application/json")
            .body(flashy.clone())
            .send()
    };
    let first = post(TOKEN).await.unwrap().status().as_u16();
    let refused = post("wrong-token").await.unwrap().status().as_u16();
    assert_eq!((first, refused), (200, 401));

    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = emf_lines(&watch);
        if lines.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let parsed: Vec<_> = lines.iter().map(|l| check_emf(l)).collect();
    assert_eq!(parsed[0]["provider"], "flashy");
    assert_eq!(n(&parsed[0], "status"), 200);
    assert_eq!(n(&parsed[0], "Requests2xx"), 1);
    assert_eq!(
        n(&parsed[0], "Stored") + n(&parsed[0], "Duplicates"),
        n(&parsed[0], "Received")
    );
    assert_eq!(n(&parsed[1], "status"), 401);
    assert_eq!(n(&parsed[1], "Requests4xx"), 1);
    // The function's whole stdout holds no token, body or address either.
    let all = watch.output_lines().join("\n").to_lowercase();
    for secret in [TOKEN, MARKER, "metric.reader"] {
        assert!(!all.contains(secret), "watch output holds {secret:?}");
    }
}
