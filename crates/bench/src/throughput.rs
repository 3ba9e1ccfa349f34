//! Figure 6: Deliveries per second through the local stack users run:
//! `cargo lambda watch` and the local DynamoDB, at a fixed concurrency.

use normalize::Provider;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::Watch;
use tokio::sync::Mutex;

const TOKEN: &str = "bench-token";
/// A body of one new event for a provider: its registry example, made new
/// by an id of its own.
fn body(provider: Provider) -> String {
    let name = provider.event_names().next().unwrap_or("open");
    let mut member: serde_json::Value =
        serde_json::from_str(&provider.example_member(name)).expect("the example is JSON");
    member["bench_id"] = format!("{:032x}", fastrand::u128(..)).into();
    provider.example_body(&[member.to_string()])
}

pub struct Throughput {
    pub deliveries: usize,
    pub per_second: f64,
    pub samples: Vec<Duration>,
}

pub async fn run(deliveries: usize, concurrency: usize) -> Throughput {
    let mut env = vec![("WEBHOOK_TOKENS", TOKEN.to_owned())];
    for name in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "TABLE_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(value) = std::env::var(name) {
            env.push((name, value));
        }
    }
    env.push(("RUST_LOG", "warn".to_owned()));
    // Stopped with the functions it started when dropped, also when the run
    // fails half-way.
    let watch = Watch::start(&env, &[], "bench-watch.log");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let port = watch.port;
    let url = |p: Provider| format!("http://127.0.0.1:{port}/lambda-url/{p}/?token={TOKEN}");
    // Each function's first request waits for its build; not timed.
    watch.ready(&http).await;

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
                let provider = Provider::ALL[i % Provider::ALL.len()];
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
