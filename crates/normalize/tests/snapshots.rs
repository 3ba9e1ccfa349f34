//! GIVEN each fixture body WHEN it is normalized THEN its canonical events
//! match the reviewed snapshot, which shows the input beside them.

mod common;

use common::{provider_of, received_at};
use normalize::{normalize, Event, CANONICAL_TYPES};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

#[derive(Serialize)]
struct Case<'a> {
    input: Value,
    events: &'a [Event],
}

/// The sample bodies of `make invoke` and the docs (`events/bodies/`) are
/// fixtures too. (In one test: insta's `glob!` must not run in two threads
/// at once.)
#[test]
fn fixtures() {
    insta::glob!("fixtures/*/*.json", |path| snapshot("fixtures", path));
    insta::glob!("../../../events/bodies", "*.json", |path| {
        snapshot("sample_bodies", path)
    });
}

/// Snapshots `path`'s events as `<name>@<path>`.
fn snapshot(name: &str, path: &Path) {
    let body = std::fs::read(path).expect("fixture readable");
    let events = normalize(provider_of(path), &body, received_at())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let input: Value = serde_json::from_slice(&body).expect("fixture is JSON");
    // Same snapshot whether or not serde_json's `preserve_order` is on.
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings.bind(|| {
        insta::assert_json_snapshot!(
            name,
            Case {
                input,
                events: &events
            }
        );
    });
}

/// Rules of the canonical event (docs/design.md) checked on every fixture, so a
/// snapshot accepted by mistake still cannot break them.
#[test]
fn fixture_events_keep_the_contract() {
    let files = common::fixtures();
    assert!(files.len() >= 100, "only {} fixtures", files.len());
    for path in files {
        let name = path.display();
        let provider = provider_of(&path);
        let body = std::fs::read(&path).expect("fixture readable");
        let events =
            normalize(provider, &body, received_at()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for e in &events {
            assert!(
                CANONICAL_TYPES.contains(&e.event_type.as_str()),
                "{name}: {}",
                e.event_type
            );
            assert_eq!(e.provider, provider, "{name}");
            assert_eq!(e.event_id.len(), 64, "{name}: event_id is SHA-256 hex");
            let occurred = e.occurred_at.to_string();
            assert_eq!(occurred.len(), 24, "{name}: {occurred}");
            assert!(occurred.ends_with('Z'), "{name}: {occurred}");
            assert_eq!(
                e.day_key,
                format!("{provider}#{}", &occurred[..10]),
                "{name}"
            );
            assert_eq!(e.received_at, received_at(), "{name}");
            if let Some(email) = &e.email {
                assert_eq!(email, &email.trim().to_lowercase(), "{name}");
            }
            for value in [
                &e.provider_event,
                &e.email,
                &e.phone,
                &e.contact_id,
                &e.account_id,
                &e.campaign_id,
                &e.message_id,
                &e.automation_id,
                &e.list_id,
                &e.contact_key,
            ]
            .into_iter()
            .flatten()
            {
                assert!(!value.trim().is_empty(), "{name}: empty attribute");
            }
            for (key, value) in &e.attributes {
                assert!(
                    !value.is_null() && value.as_str().is_none_or(|s| !s.trim().is_empty()),
                    "{name}: attribute {key} is empty"
                );
            }
            let raw: Value = serde_json::from_str(&e.raw)
                .unwrap_or_else(|err| panic!("{name}: raw is not JSON: {err}"));
            assert!(raw.is_object(), "{name}: raw is one event object");
        }
        // A body that is one event object is kept byte for byte.
        if let [only] = events.as_slice() {
            let text = std::str::from_utf8(&body).expect("fixture is UTF-8");
            if text.trim_start().starts_with('{') && !text.contains("\"events\"") {
                assert_eq!(only.raw, text, "{name}");
            }
        }
    }
}
