//! A fixed amount of the normalize section's work, for instruction counts
//! (`valgrind --tool=callgrind`), which stay repeatable on a busy machine
//! where the bench's timings do not:
//! `normalize_profile <provider> <parse|events|items> [passes]`.

use events_table::item::{fit, into_item};
use normalize::{normalize, Provider, Timestamp};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "normalize_profile <provider> <parse|events|items> [passes]";
    let provider = args
        .get(1)
        .and_then(|p| Provider::ALL.into_iter().find(|x| x.as_str() == p))
        .expect(usage);
    let mode = args.get(2).expect(usage).clone();
    let passes: u32 = args.get(3).map_or(100, |n| n.parse().expect(usage));
    let at = Timestamp::now();
    let bodies: Vec<Vec<u8>> = test_support::normalizer_fixtures(provider)
        .into_iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|body| normalize(provider, body, at).is_ok_and(|e| !e.is_empty()))
        .collect();
    for _ in 0..passes {
        for body in &bodies {
            match mode.as_str() {
                "parse" => {
                    black_box(serde_json::from_slice::<serde_json::Value>(body).ok());
                }
                "events" => {
                    black_box(normalize(provider, body, at).ok());
                }
                "items" => {
                    if let Ok(events) = normalize(provider, body, at) {
                        for event in events {
                            black_box(fit(into_item(event, Some(30))).ok());
                        }
                    }
                }
                _ => panic!("{usage}"),
            }
        }
    }
}
