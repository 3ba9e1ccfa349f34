//! GIVEN a body of one provider WHEN it is posted to another provider's URL
//! THEN it is refused with a reason naming the provider it belongs to, so
//! the user sees which URL is wrong, instead of being stored as the
//! receiver's events.

mod common;

use common::{fixture, fixtures, provider_of, received_at};
use normalize::{normalize, NormalizeError, Provider};
use std::path::Path;

/// Fixtures that carry none of any provider's distinctive keys, so nothing
/// says whose they are, and what each other provider does with them: read
/// as its own when the envelope fits, refused as not its shape otherwise
/// (a provider not listed may do either, naming no provider). Every other
/// fixture must be refused by every other provider, naming its own.
const NOTHING_DISTINCTIVE: &[(&str, &[(Provider, Outcome)])] = &[
    (
        // `[]`: an empty batch fits every array envelope.
        "flashy/empty_array.json",
        &[
            (Provider::Egoi, Outcome::NotItsShape),
            (Provider::Enkod, Outcome::NotItsShape),
            (Provider::Supersend, Outcome::NotItsShape),
            (Provider::Sendpulse, Outcome::Events(0)),
        ],
    ),
    (
        // `{"event": ..., "phone": ...}`: SuperSend's API webhooks also name
        // the event in `event`.
        "enkod/event_name_needs_nfc.json",
        &[
            (Provider::Flashy, Outcome::NotItsShape),
            (Provider::Egoi, Outcome::NotItsShape),
            (Provider::Supersend, Outcome::Events(1)),
            (Provider::Sendpulse, Outcome::NotItsShape),
        ],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Refused, naming the provider whose webhook it looks like.
    Misrouted(Provider),
    /// Refused as not the receiver's shape, no provider named.
    NotItsShape,
    /// Read as this many events of the receiver.
    Events(usize),
    Other,
}

fn outcome(receiver: Provider, body: &[u8]) -> Outcome {
    match normalize(receiver, body, received_at()) {
        Err(NormalizeError::Misrouted { sender }) => Outcome::Misrouted(sender),
        Err(NormalizeError::UnexpectedShape { provider, .. }) if provider == receiver.as_str() => {
            Outcome::NotItsShape
        }
        Ok(events) => Outcome::Events(events.len()),
        Err(_) => Outcome::Other,
    }
}

fn name(path: &Path) -> String {
    let provider = provider_of(path);
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    format!("{provider}/{file}")
}

#[test]
fn every_fixture_sent_to_another_provider_is_refused_naming_its_own() {
    let mut pairs = 0;
    for path in fixtures() {
        let sender = provider_of(&path);
        let name = name(&path);
        let body = std::fs::read(&path).expect("fixture readable");
        let exception = NOTHING_DISTINCTIVE.iter().find(|(n, _)| *n == name);
        for receiver in Provider::ALL.into_iter().filter(|&p| p != sender) {
            let got = outcome(receiver, &body);
            match exception {
                Some((_, outcomes)) => match outcomes.iter().find(|(p, _)| *p == receiver) {
                    Some((_, expected)) => assert_eq!(got, *expected, "{name} sent to {receiver}"),
                    // A provider not listed: whichever, as long as it names
                    // no provider.
                    None => assert!(
                        matches!(got, Outcome::NotItsShape | Outcome::Events(_)),
                        "{name} sent to {receiver}: {got:?}"
                    ),
                },
                None => assert_eq!(got, Outcome::Misrouted(sender), "{name} sent to {receiver}"),
            }
            pairs += 1;
        }
    }
    // Four other providers for each of the fixtures.
    assert!(pairs >= 4 * 120, "only {pairs} pairs");
}

#[test]
fn the_exceptions_are_fixtures_that_exist() {
    let names: Vec<String> = fixtures().iter().map(|p| name(p)).collect();
    for (exception, _) in NOTHING_DISTINCTIVE {
        assert!(names.iter().any(|n| n == exception), "{exception}");
    }
}

#[test]
fn the_reason_names_the_provider_and_where_to_fix_it() {
    let cases = [
        (
            Provider::Supersend,
            "sendpulse",
            "open",
            "looks like a SendPulse webhook; check the URL configured in SendPulse",
        ),
        (
            Provider::Egoi,
            "flashy",
            "page_view",
            "looks like a Flashy webhook; check the URL configured in Flashy",
        ),
        (
            Provider::Enkod,
            "flashy",
            "purchase",
            "looks like a Flashy webhook; check the URL configured in Flashy",
        ),
        (
            Provider::Sendpulse,
            "enkod",
            "message_open",
            "looks like an enKod webhook; check the URL configured in enKod",
        ),
        (
            Provider::Flashy,
            "egoi",
            "email_open",
            "looks like an E-goi webhook; check the URL configured in E-goi",
        ),
        (
            Provider::Enkod,
            "supersend",
            "reply",
            "looks like a SuperSend webhook; check the URL configured in SuperSend",
        ),
    ];
    for (receiver, sender, file, reason) in cases {
        let body = fixture(sender, file);
        let error = normalize(receiver, &body, received_at()).expect_err("refused");
        assert_eq!(
            error.to_string(),
            reason,
            "{sender}/{file} sent to {receiver}"
        );
    }
}

#[test]
fn one_foreign_event_in_a_batch_refuses_the_batch() {
    // A SendPulse item among Flashy events is no Flashy event.
    let body = br#"[
        {"event": "contact_created", "account_id": 246, "created_at": 1717000000},
        {"event": "open", "task_id": "4102901", "timestamp": "1717000000"}
    ]"#;
    assert_eq!(
        outcome(Provider::Flashy, body),
        Outcome::Misrouted(Provider::Sendpulse)
    );
}

#[test]
fn an_event_with_the_receivers_own_keys_is_the_receivers() {
    // `account_id` is Flashy's even when a SendPulse key is there too.
    let body = br#"[{"event": "page_view", "account_id": 246, "task_id": 1}]"#;
    assert_eq!(outcome(Provider::Flashy, body), Outcome::Events(1));
}

#[test]
fn a_body_that_is_nobodys_is_not_its_shape() {
    for (receiver, body) in [
        (Provider::Egoi, &br#"[{"event": "open"}]"#[..]),
        (Provider::Flashy, br#"{"event": "open"}"#),
        (Provider::Sendpulse, br#"{"hello": "world"}"#),
        (Provider::Enkod, br#"[{"hello": "world"}]"#),
        (Provider::Supersend, br#"[]"#),
    ] {
        assert_eq!(outcome(receiver, body), Outcome::NotItsShape, "{receiver}");
    }
}

/// The body `receiver` expects (its envelope in the registry), holding
/// `event` as its only event object.
fn in_envelope_of(receiver: Provider, event: &serde_json::Value) -> Vec<u8> {
    receiver.example_body(&[event.to_string()]).into_bytes()
}

/// docs/mapping.md's table of distinctive keys: each set, alone in an event
/// object, makes every other provider refuse the body naming that one.
#[test]
fn the_documented_distinctive_keys_name_their_provider() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mapping.md");
    let text = std::fs::read_to_string(path).expect("docs/mapping.md");
    let section = text
        .split("## Bodies sent to another provider's URL")
        .nth(1)
        .expect("section in docs/mapping.md");
    let table = section
        .split("| provider | distinctive keys |")
        .nth(1)
        .expect("table of distinctive keys");
    let mut providers = Vec::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [_, provider, sets, ..] = cells.as_slice() else {
            panic!("row {row:?}");
        };
        let sender: Provider = provider
            .to_lowercase()
            .replace('-', "")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        providers.push(sender);
        for set in sets.split(';') {
            let keys: Vec<&str> = set.split('`').skip(1).step_by(2).collect();
            assert!(!keys.is_empty(), "{provider}: {set:?}");
            let event: serde_json::Map<String, serde_json::Value> =
                keys.iter().map(|k| (k.to_string(), 1.into())).collect();
            let event = serde_json::Value::Object(event);
            for receiver in Provider::ALL.into_iter().filter(|&p| p != sender) {
                assert_eq!(
                    outcome(receiver, &in_envelope_of(receiver, &event)),
                    Outcome::Misrouted(sender),
                    "{keys:?} sent to {receiver}"
                );
            }
        }
    }
    for provider in Provider::ALL {
        assert!(providers.contains(&provider), "no row for {provider}");
    }
}
