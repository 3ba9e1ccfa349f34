//! The fuzz targets' checks (fuzz/fuzz_targets/check.rs) on every fixture
//! and on every input a fuzzer ever crashed on
//! (fuzz/regressions/<provider>/), so `cargo test` keeps them fixed
//! without the fuzzer.

#[path = "../fuzz/fuzz_targets/check.rs"]
mod check;

use normalize::Provider;
use std::path::Path;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
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
fn fixtures_and_past_fuzz_crashes_pass_the_fuzz_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for provider in Provider::ALL {
        for dir in ["tests/fixtures", "fuzz/regressions"] {
            for path in files(&root.join(dir).join(provider.as_str())) {
                let body = std::fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| check::check(provider, &body));
                assert!(result.is_ok(), "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} inputs");
}
