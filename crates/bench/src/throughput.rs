//! Figure 6: Deliveries per second through the local stack users run:
//! `cargo lambda watch` and the local DynamoDB, at a fixed concurrency.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const TOKEN: &str = "bench-token";
const PROVIDERS: [&str; 5] = ["flashy", "egoi", "enkod", "supersend", "sendpulse"];

/// A body of new events for a provider.
fn body(provider: &str) -> String {
    let id = format!("{:032x}", fastrand::u128(..));
    let t = 1_732_528_800 + fastrand::u32(..1_000_000);
    match provider {
        "flashy" => format!(
            r#"[{{"account_id":1,"contact_id":"{id}","feed_id":2,"timestamp":{t},"event":"contact_subscribed"}}]"#
        ),
        "egoi" => format!(
            r#"{{"events":[{{"action":"email_open","action_date":{t},"action_data":{{"messageHash":"{id}"}},"list_id":"1","contact":{{"base":["{id}"],"fields":[]}}}}]}}"#
        ),
        "enkod" => format!(
            r#"{{"event":"message open","message_id":1,"message_uid":"{id}","to":"reader@example.com"}}"#
        ),
        "supersend" => format!(
            r#"{{"type":"open","CampaignId":"c1","contact":{{"id":"{id}","email":"lead@example.com"}}}}"#
        ),
        _ => {
            let items: Vec<String> = (0..5)
                .map(|i| format!(r#"{{"timestamp":"{t}","event":"open","task_id":"{id}","email":"r{i}@example.com"}}"#))
                .collect();
            format!("[{}]", items.join(","))
        }
    }
}

/// Stops `cargo lambda watch` and the functions it started, also when the
/// run fails half-way.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub struct Throughput {
    pub deliveries: usize,
    pub per_second: f64,
    pub samples: Vec<Duration>,
}

pub async fn run(deliveries: usize, concurrency: usize) -> Throughput {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new("cargo");
    command
        .current_dir(crate::root())
        .args([
            "lambda",
            "watch",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .args(["--env-var", &format!("WEBHOOK_TOKENS={TOKEN}")]);
    for name in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "TABLE_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(value) = std::env::var(name) {
            command.args(["--env-var", &format!("{name}={value}")]);
        }
    }
    command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let _watch = Stopped(command.spawn().expect("cargo lambda watch"));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let url = |p: &str| format!("http://127.0.0.1:{port}/lambda-url/{p}/?token={TOKEN}");
    // Each function's first request waits for its build; not timed.
    for provider in PROVIDERS {
        for _ in 0..600 {
            if http
                .post(url(provider))
                .body(body(provider))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let next = Arc::new(Mutex::new(0usize));
    let samples = Arc::new(Mutex::new(Vec::with_capacity(deliveries)));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (next, samples, http) = (next.clone(), samples.clone(), http.clone());
        async move {
            loop {
                let i = {
                    let mut n = next.lock().await;
                    if *n >= deliveries {
                        return;
                    }
                    *n += 1;
                    *n
                };
                let provider = PROVIDERS[i % PROVIDERS.len()];
                let sent = Instant::now();
                let response = http
                    .post(url(provider))
                    .body(body(provider))
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(
                    response.status(),
                    200,
                    "{provider}: {:?}",
                    response.text().await
                );
                samples.lock().await.push(sent.elapsed());
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let samples = std::mem::take(&mut *samples.lock().await);
    Throughput {
        deliveries,
        per_second: deliveries as f64 / elapsed.as_secs_f64(),
        samples,
    }
}
