//! The normalizer fuzz targets' oracle (fuzz/fuzz_targets/check.rs, the
//! whole body of every target in fuzz/Cargo.toml), built here without
//! libFuzzer and run for every provider on its seed corpus (every fixture,
//! as crates/ingest/fuzz/run.sh seeds it) and on every input a fuzzer ever
//! crashed on (fuzz/regressions/<provider>/), so `cargo test` keeps the
//! oracle compiling and those inputs fixed without cargo-fuzz or nightly.

#[path = "../fuzz/fuzz_targets/check.rs"]
mod check;

use normalize::Provider;
use std::path::{Path, PathBuf};

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

/// Every target of fuzz/Cargo.toml exists and runs the oracle replayed
/// here, so this test replays what the fuzzer checks.
#[test]
fn every_fuzz_target_runs_the_oracle_replayed_here() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let paths: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .map(|bin| {
            let line = bin
                .lines()
                .find(|l| l.trim_start().starts_with("path"))
                .expect("a [[bin]] with a path");
            line.split('"').nth(1).expect("a quoted path")
        })
        .collect();
    assert!(!paths.is_empty(), "no fuzz targets in fuzz/Cargo.toml");
    for path in paths {
        let source = std::fs::read_to_string(root().join("fuzz").join(path))
            .unwrap_or_else(|e| panic!("fuzz/{path}: {e}"));
        assert!(source.contains("check::check("), "fuzz/{path}");
    }
}

#[test]
fn fixtures_and_past_fuzz_crashes_pass_the_fuzz_checks() {
    let mut checked = 0;
    for provider in Provider::ALL {
        for dir in ["tests/fixtures", "fuzz/regressions"] {
            for path in files(&root().join(dir).join(provider.as_str())) {
                let body = std::fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| check::check(provider, &body));
                assert!(result.is_ok(), "{provider}: {}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} inputs");
}
