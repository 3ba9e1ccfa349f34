//! End to end, the way users run it: the five functions under
//! `cargo lambda watch`, every provider fixture POSTed over HTTP, the items
//! read back from the local DynamoDB. Run by `make test`, which starts the
//! server and puts `cargo-lambda` (from .venv) on PATH.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{fixture_files, local_dynamodb_env, raw_bytes, repo_root, Watch};
use events_table::dynamo;
use normalize::{normalize, Provider, Timestamp};
use std::process::Command;
use std::time::Duration;

// The development token, which the sample events of `make invoke` carry
// (events/apigw-v2-template.json).
const TOKEN: &str = "dev-token";

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    content_type: &str,
) -> (u16, serde_json::Value) {
    let response = http
        .post(format!("{url}?token={TOKEN}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST to cargo lambda watch");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

#[tokio::test]
#[ignore = "needs the local DynamoDB and cargo-lambda of `make test`"]
async fn every_fixture_posted_over_http_is_in_the_table() {
    let mut vars = vec![
        // Two tokens, as during a rotation: the functions must get the whole
        // comma-separated value (watch's `--env-var` would split it).
        ("WEBHOOK_TOKENS", format!("new-token,{TOKEN}")),
        // Only the runtime's line logging each invocation event as it
        // arrived, so the test can see how watch handed each body over
        // (below).
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        (
            "RUST_LOG",
            "lambda_runtime::layers::api_response=trace".to_owned(),
        ),
    ];
    vars.extend(local_dynamodb_env());
    let watch = Watch::start_keeping_output(&vars, &[], "e2e-watch.log", "e2e-functions.log");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let client = dynamo::client().await;
    let table = std::env::var("TABLE_NAME").unwrap();

    watch.ready(&http).await;

    let mut stored = 0;
    for provider in Provider::ALL {
        let files = fixture_files(provider);
        for (i, path) in files.iter().enumerate() {
            let body = std::fs::read(path).unwrap();
            // Alternate content types: the body is read as JSON whatever it
            // says, also when watch hands it over base64-encoded.
            let content_type = [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
            ][i % 3];
            let (status, json) =
                post(&http, &watch.url(provider), body.clone(), content_type).await;
            let name = path.display();
            let Ok(events) = normalize(provider, &body, Timestamp::now()) else {
                assert_eq!(status, 400, "{name}: {json}");
                continue;
            };
            assert_eq!(status, 200, "{name}: {json}");
            assert_eq!(
                json["received"].as_u64(),
                Some(events.len() as u64),
                "{name}"
            );
            for event in events {
                let item = client
                    .get_item()
                    .table_name(&table)
                    .key("event_id", AttributeValue::S(event.event_id.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap()
                    .item
                    .unwrap_or_else(|| panic!("{name}: {} is not in the table", event.event_id));
                assert_eq!(
                    item["event_type"].as_s().unwrap(),
                    event.event_type.as_str(),
                    "{name}"
                );
                assert_eq!(item["provider"].as_s().unwrap(), provider.as_str());
                assert_eq!(raw_bytes(&item), event.raw.as_bytes(), "{name}");
                stored += 1;
            }
        }
    }
    assert!(stored > 100, "only {stored} events checked");

    // A redelivery over HTTP is answered as duplicates.
    let body = std::fs::read(repo_root().join("events/bodies/sendpulse.json")).unwrap();
    let (status, json) = post(
        &http,
        &watch.url(Provider::Sendpulse),
        body,
        "application/json",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["stored"], 0, "{json}");

    // A binary content type: watch hands the body over base64-encoded (as
    // API Gateway does for binary media), and it is still read as JSON.
    let body = std::fs::read(repo_root().join("events/bodies/flashy.json")).unwrap();
    // Any path below the function's URL reaches it.
    let probe = format!("probe-{:016x}", fastrand::u64(..));
    let url = format!("{}/{probe}", watch.url(Provider::Flashy));
    let (status, json) = post(&http, &url, body.clone(), "application/octet-stream").await;
    assert_eq!(status, 200, "{json}");
    let events = normalize(Provider::Flashy, &body, Timestamp::now()).unwrap();
    assert_eq!(json["received"].as_u64(), Some(events.len() as u64));
    assert_eq!(json["quarantined"], 0, "{json}");
    let arrived = invocation_events(&watch)
        .into_iter()
        .find(|event| {
            event["rawPath"]
                .as_str()
                .is_some_and(|path| path.contains(&probe))
        })
        .expect("the runtime logged the probe's invocation event");
    assert_eq!(arrived["isBase64Encoded"], true, "{arrived}");
    assert_ne!(arrived["body"].as_str().map(str::as_bytes), Some(&body[..]));

    // Reachability checks answer exactly this, over HTTP too.
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let response = http
            .request(method.clone(), watch.url(Provider::Enkod))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method}");
        let text = response.text().await.unwrap();
        let expected = if method == reqwest::Method::HEAD {
            ""
        } else {
            r#"{"status":"ok","provider":"enkod"}"#
        };
        assert_eq!(text, expected, "{method}");
    }

    // And a sample body works with `make invoke`: its API Gateway event,
    // written by the same script, sent with `cargo lambda invoke`.
    let written = Command::new("python3")
        .current_dir(repo_root())
        .args(["infra/local/sample_event.py", "flashy"])
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "sample_event.py: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    let port = watch.port.to_string();
    let output = Command::new("cargo")
        .current_dir(repo_root())
        .args([
            "lambda",
            "invoke",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port,
            "flashy",
            "--data-file",
            "target/invoke/flashy.json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo lambda invoke: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("\"statusCode\":200") || stdout.contains("\"statusCode\": 200"),
        "{stdout}"
    );
}

/// The invocation events the functions received, as the runtime logged
/// them (at TRACE, one JSON line each).
fn invocation_events(watch: &Watch) -> Vec<serde_json::Value> {
    watch
        .output_lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "raw JSON event received from Lambda")
        .filter_map(|line| serde_json::from_str(line["fields"]["body"].as_str()?).ok())
        .collect()
}
