//! Figure 3: Request latency in-process against the real local DynamoDB, and the
//! DynamoDB calls each body costs.

use crate::cold_start::event;
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use std::time::{Duration, Instant};

pub struct Latency {
    pub events: usize,
    pub samples: Vec<Duration>,
    pub calls_per_body: f64,
}

pub async fn run(sizes: &[usize], rounds: usize) -> Vec<Latency> {
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "webhook-events".into());
    let config = Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some("bench-token".into()),
            "TABLE_NAME" => Some(table.clone()),
            _ => None,
        },
        None,
    )
    .expect("config");
    let dynamo = DynamoTable::new(dynamo::client().await, &config.table_name);
    dynamo.warm_up().await;
    let app = App::new(Provider::Sendpulse, config, dynamo);
    let mut results = Vec::new();
    for &events in sizes {
        let calls_before = app.table.calls();
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let request = lambda_http::request::from_str(&event(events)).expect("event");
            let started = Instant::now();
            let response = app.handle(request).await;
            samples.push(started.elapsed());
            assert_eq!(response.status(), 200, "{:?}", response.body());
        }
        let calls_per_body = (app.table.calls() - calls_before) as f64 / rounds as f64;
        results.push(Latency {
            events,
            samples,
            calls_per_body,
        });
    }
    results
}
