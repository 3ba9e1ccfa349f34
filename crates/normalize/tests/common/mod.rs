//! Helpers shared by the integration tests.
#![allow(dead_code)]

use normalize::{Provider, Timestamp};
use std::path::{Path, PathBuf};

/// The receive time every test normalizes with, so snapshots are stable.
pub fn received_at() -> Timestamp {
    Timestamp::parse("2024-07-01T12:00:00.000Z").expect("fixed time parses")
}

/// `tests/fixtures/<provider>/<name>.json`, or a sample body
/// `events/bodies/<provider>.json` → the provider.
pub fn provider_of(path: &Path) -> Provider {
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = if dir == "bodies" {
        path.file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    } else {
        dir
    };
    name.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `events/bodies/`: each provider's sample body, a fixture like the others.
fn sample_bodies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/bodies")
}

/// Every fixture file, the sample bodies included, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    let mut files = json_files(&sample_bodies_dir());
    for provider in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        files.extend(json_files(&provider.expect("dir entry").path()));
    }
    files.sort();
    files
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|file| file.expect("file entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect()
}

/// The bytes of `tests/fixtures/<provider>/<name>.json`.
pub fn fixture(provider: &str, name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(provider).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
