//! Figure 1: Normalizing a provider's fixtures and building their DynamoDB items,
//! against merely parsing the same bytes into a `serde_json::Value`.

use ingest::item::into_item;
use normalize::{normalize, Provider, Timestamp};
use std::hint::black_box;
use std::time::{Duration, Instant};

pub fn fixtures(provider: Provider) -> Vec<Vec<u8>> {
    let dir = crate::root()
        .join("crates/normalize/tests/fixtures")
        .join(provider.as_str());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let at = Timestamp::now();
    files
        .into_iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|body| normalize(provider, body, at).is_ok_and(|e| !e.is_empty()))
        .collect()
}

/// Nanoseconds per pass over `bodies`, the best of several timed rounds.
fn time_per_pass(bodies: &[Vec<u8>], mut work: impl FnMut(&[u8])) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let started = Instant::now();
        let mut passes = 0u32;
        while started.elapsed() < Duration::from_millis(150) {
            for body in bodies {
                work(body);
            }
            passes += 1;
        }
        best = best.min(started.elapsed().as_nanos() as f64 / f64::from(passes));
    }
    best
}

pub struct Ratio {
    pub provider: Provider,
    pub normalize_ns: f64,
    pub parse_ns: f64,
    pub bodies: usize,
}

pub fn run() -> Vec<Ratio> {
    let at = Timestamp::now();
    Provider::ALL
        .into_iter()
        .map(|provider| {
            let bodies = fixtures(provider);
            let parse_ns = time_per_pass(&bodies, |body| {
                black_box(serde_json::from_slice::<serde_json::Value>(body).ok());
            });
            let normalize_ns = time_per_pass(&bodies, |body| {
                if let Ok(events) = normalize(provider, body, at) {
                    for event in events {
                        black_box(into_item(event, Some(30)));
                    }
                }
            });
            Ratio {
                provider,
                normalize_ns,
                parse_ns,
                bodies: bodies.len(),
            }
        })
        .collect()
}
