//! Helpers shared by the integration tests.
#![allow(dead_code)]

use normalize::{Provider, Timestamp};
use std::path::{Path, PathBuf};

/// The receive time every test normalizes with, so snapshots are stable.
pub fn received_at() -> Timestamp {
    Timestamp::parse("2024-07-01T12:00:00.000Z").expect("fixed time parses")
}

/// `tests/fixtures/<provider>/<name>.json` → the provider.
pub fn provider_of(path: &Path) -> Provider {
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    dir.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every fixture file, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for provider in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let dir = provider.expect("dir entry").path();
        for file in std::fs::read_dir(&dir).expect("provider dir") {
            let path = file.expect("file entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The bytes of `tests/fixtures/<provider>/<name>.json`.
pub fn fixture(provider: &str, name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(provider).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
