//! The request fuzz target (crates/ingest/fuzz/fuzz_targets/request.rs),
//! built here without libFuzzer and run on its seed corpus (every fixture,
//! sent to every provider, as crates/ingest/fuzz/run.sh seeds it and
//! beyond), on every value of its two head bytes, and on every input saved
//! in crates/ingest/fuzz/regressions/request/, so `cargo test` keeps the
//! target compiling and its oracle true without cargo-fuzz or nightly.

use std::path::{Path, PathBuf};
use test_support::{fixture_files, repo_root};

/// Stands in for `libfuzzer_sys::fuzz_target!` (which the target imports
/// only outside `cfg(test)`): the target's body becomes `run`.
macro_rules! fuzz_target {
    (|$data:ident: $ty:ty| $body:expr) => {
        pub fn run($data: $ty) {
            $body
        }
    };
}

#[path = "../fuzz/fuzz_targets/request.rs"]
mod request;

use ingest::Provider;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Runs the target on `input`; the name says which input failed.
fn replay(name: &str, input: &[u8]) {
    let result = std::panic::catch_unwind(|| request::run(input));
    assert!(result.is_ok(), "request target failed on {name}");
}

/// Head bytes: provider index, then 0x01 = POST with `?token=`.
fn with_head(provider: usize, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut input = vec![provider as u8, flags];
    input.extend_from_slice(body);
    input
}

#[test]
fn every_fixture_sent_to_every_provider_passes_the_request_oracle() {
    let mut replayed = 0;
    for (index, provider) in Provider::ALL.into_iter().enumerate() {
        for origin in Provider::ALL {
            for path in fixture_files(origin) {
                let body = std::fs::read(&path).unwrap();
                let name = format!("{} sent to {provider}", path.display());
                replay(&name, &with_head(index, 0x01, &body));
                replayed += 1;
            }
        }
    }
    assert!(replayed > 500, "only {replayed} inputs");
}

#[test]
fn every_method_token_placement_and_content_type_passes_the_request_oracle() {
    let bodies: Vec<Vec<u8>> = Provider::ALL
        .into_iter()
        .map(|p| std::fs::read(repo_root().join(format!("events/bodies/{p}.json"))).unwrap())
        .collect();
    // The first byte's meaning repeats after 25 (provider × method).
    for a in 0..25u8 {
        for b in 0..=u8::MAX {
            let body = &bodies[usize::from(a) % bodies.len()];
            let mut input = vec![a, b];
            input.extend_from_slice(body);
            replay(&format!("head {a:#04x} {b:#04x}"), &input);
        }
    }
}

#[test]
fn saved_regressions_pass_the_request_oracle() {
    let dir = repo_root().join("crates/ingest/fuzz/regressions/request");
    let saved = files(&dir);
    assert!(!saved.is_empty(), "{}: no regressions", dir.display());
    for path in saved {
        replay(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}

/// The member-per-member contract: a Flashy array whose member is not an
/// event gets the documented 200 with that member quarantined (the saved
/// regression is the first input), which the oracle must accept.
#[test]
fn a_scalar_member_is_quarantined_not_refused() {
    replay("[7] sent to flashy", &with_head(0, 0x01, b"[7]"));
    replay(
        "[7, event] sent to flashy",
        &with_head(0, 0x01, br#"[7,{"event":"page_view","contact_id":"c"}]"#),
    );
}
