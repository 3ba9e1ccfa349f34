//! Figures 2 and 5: A function binary started the way Lambda starts it, against our
//! Runtime API: time from exec to the end of its first invocation, first vs
//! warm request latency, and peak memory over many requests; and the same
//! cold start for the Python equivalent.

use crate::runtime_api::RuntimeApi;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn lambda_env(command: &mut Command, api: &RuntimeApi) {
    command
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    // With WEBHOOK_TOKENS_SECRET_ID in the bench's environment (and a secret
    // holding bench-token), the function reads its token as on AWS.
    if std::env::var_os("WEBHOOK_TOKENS_SECRET_ID").is_none() {
        command.env("WEBHOOK_TOKENS", "bench-token");
    } else {
        command.env_remove("WEBHOOK_TOKENS");
    }
}

/// An API Gateway v2 event for a SendPulse body of `n` new events.
pub fn event(n: usize) -> String {
    let tag = format!("{:x}", fastrand::u64(..));
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"timestamp":"{}","event":"open","task_id":"{tag}","email":"reader{i}@example.com","open_device":"mobile"}}"#,
                1732528800 + i
            )
        })
        .collect();
    api_gateway_event(&format!("[{}]", items.join(",")), &tag)
}

/// `body` POSTed to the SendPulse route with the bench token, as API Gateway
/// (HTTP API, payload 2.0) hands it to the function.
pub fn api_gateway_event(body: &str, tag: &str) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/webhooks/sendpulse",
        "rawQueryString": "token=bench-token", "queryStringParameters": {"token": "bench-token"},
        "headers": {"content-type": "application/json"},
        "requestContext": {"accountId": "1", "apiId": "b", "domainName": "b", "domainPrefix": "b",
            "http": {"method": "POST", "path": "/webhooks/sendpulse", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": tag, "routeKey": "$default", "stage": "$default", "time": "01/Jan/2024:00:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    })
    .to_string()
}

pub struct Start {
    /// Exec to the end of the first invocation.
    pub cold: Duration,
    /// The first invocation alone (event handed out to answer received).
    pub first: Duration,
    pub warm: Vec<Duration>,
    pub peak_rss_bytes: Option<u64>,
}

async fn first_invocation(
    mut command: Command,
    api: &RuntimeApi,
) -> (Child, Instant, crate::runtime_api::Completed) {
    let started = Instant::now();
    let child = command.spawn().expect("start the function");
    let done = tokio::time::timeout(TIMEOUT, api.invoke(event(1)))
        .await
        .expect("first invocation in time");
    assert!(
        done.response.contains("200"),
        "first invocation failed: {}",
        done.response
    );
    (child, started, done)
}

/// Starts `binary`, serves it one invocation, then `warm` more.
pub async fn rust_function(binary: &Path, warm: usize) -> Start {
    let api = RuntimeApi::start().await;
    let mut command = Command::new(binary);
    lambda_env(&mut command, &api);
    let (child, started, first) = first_invocation(command, &api).await;
    let mut warm_times = Vec::with_capacity(warm);
    for _ in 0..warm {
        let done = tokio::time::timeout(TIMEOUT, api.invoke(event(1)))
            .await
            .expect("invocation in time");
        warm_times.push(done.answered - done.handed_out);
    }
    let peak_rss_bytes = child.id().and_then(peak_rss);
    Start {
        cold: first.answered - started,
        first: first.answered - first.handed_out,
        warm: warm_times,
        peak_rss_bytes,
    }
}

/// The Python handler's exec to the end of its first invocation.
pub async fn python_function(python: &Path, handler: &Path) -> Duration {
    let api = RuntimeApi::start().await;
    let mut command = Command::new(python);
    command.arg(handler);
    lambda_env(&mut command, &api);
    let (_child, started, first) = first_invocation(command, &api).await;
    first.answered - started
}

/// Peak resident set (VmHWM) of a running process.
pub(crate) fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
