//! Figure 1: Normalizing a provider's fixtures and building their DynamoDB items,
//! against merely parsing the same bytes into a `serde_json::Value`.

use events_table::item::{fit, into_item};
use normalize::{normalize, Provider, Timestamp};
use std::hint::black_box;
use std::time::{Duration, Instant};

pub fn fixtures(provider: Provider) -> Vec<Vec<u8>> {
    let at = Timestamp::now();
    test_support::normalizer_fixtures(provider)
        .into_iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|body| normalize(provider, body, at).is_ok_and(|e| !e.is_empty()))
        .collect()
}

/// One body's worth of work.
type Work<'a> = dyn Fn(&[u8]) + 'a;

/// Nanoseconds per pass over `bodies` for each of `works`, timed in
/// alternating rounds so that a busy neighbour slows them alike; the best
/// round of each counts.
fn time_per_pass<const N: usize>(bodies: &[Vec<u8>], works: [&Work<'_>; N]) -> [f64; N] {
    let mut best = [f64::MAX; N];
    for _ in 0..9 {
        for (work, best) in works.iter().zip(&mut best) {
            let started = Instant::now();
            let mut passes = 0u32;
            while started.elapsed() < Duration::from_millis(60) {
                for body in bodies {
                    work(body);
                }
                passes += 1;
            }
            *best = best.min(started.elapsed().as_nanos() as f64 / f64::from(passes));
        }
    }
    best
}

pub struct Ratio {
    pub provider: Provider,
    /// Normalizing and building the items as the handler stores them.
    pub normalize_ns: f64,
    /// Of which: normalizing alone, without building the items.
    pub events_ns: f64,
    pub parse_ns: f64,
    pub bodies: usize,
}

pub fn run() -> Vec<Ratio> {
    let at = Timestamp::now();
    Provider::ALL
        .into_iter()
        .map(|provider| {
            let bodies = fixtures(provider);
            let parse = |body: &[u8]| {
                black_box(serde_json::from_slice::<serde_json::Value>(body).ok());
            };
            let events = |body: &[u8]| {
                black_box(normalize(provider, body, at).ok());
            };
            let items = |body: &[u8]| {
                if let Ok(events) = normalize(provider, body, at) {
                    for event in events {
                        black_box(fit(into_item(event, Some(30))).ok());
                    }
                }
            };
            let [parse_ns, events_ns, normalize_ns] =
                time_per_pass(&bodies, [&parse, &events, &items]);
            Ratio {
                provider,
                normalize_ns,
                events_ns,
                parse_ns,
                bodies: bodies.len(),
            }
        })
        .collect()
}
