//! The fuzz targets themselves (fuzz/fuzz_targets/<provider>.rs), built
//! here without libFuzzer and run on their seed corpus (every fixture, as
//! crates/ingest/fuzz/run.sh seeds it) and on every input a fuzzer ever
//! crashed on (fuzz/regressions/<provider>/), so `cargo test` keeps the
//! targets compiling and those inputs fixed without cargo-fuzz or nightly.

// Each target includes check.rs as its own module, as the fuzz binaries do.
#![allow(clippy::duplicate_mod)]

use normalize::Provider;
use std::path::{Path, PathBuf};

/// Stands in for `libfuzzer_sys::fuzz_target!` (which the targets import
/// only outside `cfg(test)`): the target's body becomes `run`.
macro_rules! fuzz_target {
    (|$data:ident: $ty:ty| $body:expr) => {
        pub fn run($data: $ty) {
            $body
        }
    };
}

#[path = "../fuzz/fuzz_targets/egoi.rs"]
mod egoi;
#[path = "../fuzz/fuzz_targets/enkod.rs"]
mod enkod;
#[path = "../fuzz/fuzz_targets/flashy.rs"]
mod flashy;
#[path = "../fuzz/fuzz_targets/sendpulse.rs"]
mod sendpulse;
#[path = "../fuzz/fuzz_targets/supersend.rs"]
mod supersend;

/// A fuzz target's body.
type Target = fn(&[u8]);

/// Each fuzz target, by the name of its binary in fuzz/Cargo.toml.
const TARGETS: [(&str, Provider, Target); 5] = [
    ("flashy", Provider::Flashy, flashy::run),
    ("egoi", Provider::Egoi, egoi::run),
    ("enkod", Provider::Enkod, enkod::run),
    ("supersend", Provider::Supersend, supersend::run),
    ("sendpulse", Provider::Sendpulse, sendpulse::run),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.')
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_is_replayed_here_and_covers_every_provider() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let mut bins: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    bins.sort_unstable();
    let mut replayed: Vec<&str> = TARGETS.iter().map(|(name, _, _)| *name).collect();
    replayed.sort_unstable();
    assert_eq!(bins, replayed, "fuzz/Cargo.toml's targets");
    for provider in Provider::ALL {
        assert!(
            TARGETS.iter().any(|(_, p, _)| *p == provider),
            "no fuzz target for {provider}"
        );
    }
}

#[test]
fn fuzz_targets_pass_on_their_seed_corpus_and_past_crashes() {
    let mut checked = 0;
    let mut regressions = 0;
    for (name, provider, run) in TARGETS {
        for dir in ["tests/fixtures", "fuzz/regressions"] {
            for path in files(&root().join(dir).join(provider.as_str())) {
                let body = std::fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| run(&body));
                assert!(result.is_ok(), "target {name}: {}", path.display());
                checked += 1;
                regressions += usize::from(dir == "fuzz/regressions");
            }
        }
    }
    eprintln!("{checked} inputs replayed, {regressions} of them saved regressions");
    assert!(checked > 100, "only {checked} inputs");
}
