//! GIVEN the registry (`src/provider.rs`) THEN every place a provider needs
//! outside it has the provider, and nothing names a provider it lacks.
//! Each failure names the file to add or edit (docs/adding-a-provider.md).

use normalize::Provider;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn names() -> BTreeSet<String> {
    Provider::ALL.iter().map(|p| p.to_string()).collect()
}

/// The directories directly under `path`.
fn dirs(path: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A provider's fixtures: its directory under `tests/fixtures/`, and its
/// sample body in `events/bodies/` (for `make invoke`, the ingest tests and
/// the docs), snapshotted like the others.
#[test]
fn every_provider_has_fixtures_and_every_fixture_a_provider() {
    let fixtures = "crates/normalize/tests/fixtures";
    for p in Provider::ALL {
        let dir = repo().join(fixtures).join(p.as_str());
        let count = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert!(
            count > 0,
            "{fixtures}/{p}/: no fixtures (one body per event type; then INSTA_UPDATE=always cargo test -p normalize)"
        );
        let sample = format!("events/bodies/{p}.json");
        assert!(
            repo().join(&sample).is_file(),
            "{sample} is missing: the provider's sample body, one of its fixtures (a realistic delivery, for `make invoke P={p}`, the ingest tests and the docs; then INSTA_UPDATE=always cargo test -p normalize)"
        );
    }
    for dir in dirs(fixtures) {
        assert!(
            names().contains(&dir),
            "{fixtures}/{dir}/ is not a provider of src/provider.rs"
        );
    }
    let samples = std::fs::read_dir(repo().join("events/bodies")).expect("events/bodies/");
    for sample in samples.filter_map(Result::ok) {
        let name = sample.file_name().to_string_lossy().into_owned();
        assert!(
            name.strip_suffix(".json")
                .is_some_and(|p| names().contains(p)),
            "events/bodies/{name} is not the sample body of a provider of src/provider.rs"
        );
    }
}

/// Every `crates/<name>/` whose `main` serves a provider (`ingest::run`).
fn provider_binaries() -> BTreeSet<String> {
    dirs("crates")
        .into_iter()
        .filter(|c| {
            std::fs::read_to_string(repo().join("crates").join(c).join("src/main.rs"))
                .is_ok_and(|main| main.contains("ingest::run("))
        })
        .collect()
}

#[test]
fn every_provider_has_its_binary_crate_and_every_binary_a_provider() {
    for p in Provider::ALL {
        let main = format!("crates/{p}/src/main.rs");
        let text = std::fs::read_to_string(repo().join(&main)).unwrap_or_else(|_| {
            panic!("{main} is missing: crates/{p}/ is the provider's binary (copy crates/flashy/, name and variant changed)")
        });
        assert!(
            text.contains(&format!("ingest::run(ingest::Provider::{p:?})")),
            "{main} does not call ingest::run(ingest::Provider::{p:?})"
        );
        let manifest = read(&format!("crates/{p}/Cargo.toml"));
        assert!(
            manifest.contains(&format!("name = \"{p}\"")),
            "crates/{p}/Cargo.toml: the package and binary are named {p}"
        );
    }
    assert_eq!(
        provider_binaries(),
        names(),
        "crates/*/src/main.rs calling ingest::run: one per provider of src/provider.rs"
    );
}

/// The rows of the template's `Providers` mapping: (key, `Name: value`, the row).
fn template_rows() -> Vec<(String, String, String)> {
    let template = read("infra/template.yaml");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in template.lines() {
        if line == "  Providers:" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        let Some((key, row)) = line.strip_prefix("    ").and_then(|l| l.split_once(": {")) else {
            break;
        };
        let field = |name: &str| {
            row.split(&format!("{name}: "))
                .nth(1)
                .and_then(|rest| rest.split([',', '}']).next())
                .unwrap_or_default()
                .to_owned()
        };
        rows.push((key.to_owned(), field("Name"), field("AnswerBody")));
    }
    rows
}

#[test]
fn the_template_has_one_row_per_provider_in_the_registrys_order() {
    let rows = template_rows();
    let in_template: Vec<&str> = rows.iter().map(|(_, name, _)| name.as_str()).collect();
    let registry: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        in_template, registry,
        "infra/template.yaml, Mappings: Providers: one row per provider of src/provider.rs, in its order"
    );
    for ((key, _, answer_body), p) in rows.iter().zip(Provider::ALL) {
        assert_eq!(
            key,
            &format!("{p:?}"),
            "infra/template.yaml: the Providers row of {p} is keyed {p:?}"
        );
        let expected = if p.answer_body_var().is_some() {
            "1"
        } else {
            "0"
        };
        assert_eq!(
            answer_body, expected,
            "infra/template.yaml: the Providers row of {p} says AnswerBody: {expected} (the registry's answer_body)"
        );
    }
}

#[test]
fn the_workspace_takes_every_crate() {
    // `members = ["crates/*"]`: a provider's crate needs no line of its own.
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains("members = [\"crates/*\"]"),
        "Cargo.toml: workspace members are crates/*"
    );
}
