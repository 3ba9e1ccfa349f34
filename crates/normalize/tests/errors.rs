//! GIVEN a body that is not a provider's shape WHEN it is normalized THEN a
//! typed `NormalizeError` comes back (never a panic), and `quarantine` keeps
//! the body losslessly.

mod common;

use common::{fixture, received_at};
use normalize::{normalize, quarantine, NormalizeError, Provider, TimeSource, INVALID};
use serde_json::Value;

/// The providers whose envelope is a JSON array of events.
const ARRAY_PROVIDERS: [Provider; 2] = [Provider::Flashy, Provider::Sendpulse];

fn each_provider(body: &[u8]) -> Vec<(Provider, Result<usize, NormalizeError>)> {
    Provider::ALL
        .into_iter()
        .map(|p| (p, normalize(p, body, received_at()).map(|e| e.len())))
        .collect()
}

fn is_shape(result: &Result<usize, NormalizeError>, provider: Provider) -> bool {
    matches!(result, Err(NormalizeError::UnexpectedShape { provider: p, .. }) if *p == provider.as_str())
}

#[test]
fn invalid_json_is_invalid_json() {
    for body in [
        &b"{\"event\": "[..],
        b"[{\"event\":\"open\"},]",
        b"{'event': 'open'}",
        b"[{\"event\":\"open\"}] trailing",
        b"event=open&email=a%40b.c",
        b"<xml/>",
        b"{\"a\":1e400}",
    ] {
        for (p, r) in each_provider(body) {
            assert!(
                matches!(r, Err(NormalizeError::InvalidJson(_))),
                "{p} {:?}: {r:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

#[test]
fn empty_body_is_empty() {
    for body in [&b""[..], b"   ", b"\r\n\t "] {
        for (p, r) in each_provider(body) {
            assert_eq!(r, Err(NormalizeError::Empty), "{p}");
        }
    }
}

#[test]
fn json_scalar_is_not_any_providers_shape() {
    for body in [&b"42"[..], b"\"open\"", b"null", b"true", b" -1.5 "] {
        for (p, r) in each_provider(body) {
            assert!(
                is_shape(&r, p),
                "{p} {:?}: {r:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

#[test]
fn egoi_body_without_events_is_rejected() {
    for body in [
        &br#"{"data": []}"#[..],
        br#"{"events": null}"#,
        br#"{"events": {"action": "email_open"}}"#,
        br#"{"events": "email_open"}"#,
        br#"{}"#,
    ] {
        let r = normalize(Provider::Egoi, body, received_at()).map(|e| e.len());
        assert!(
            is_shape(&r, Provider::Egoi),
            "{:?}: {r:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn flashy_object_without_event_is_rejected() {
    let r = normalize(
        Provider::Flashy,
        br#"{"body": {"email": "a@b.c"}}"#,
        received_at(),
    );
    assert!(
        is_shape(&r.map(|e| e.len()), Provider::Flashy),
        "legacy shape needs `event`"
    );
}

#[test]
fn egoi_events_outside_their_envelope_are_refused() {
    // E-goi always wraps its events in `{"events": [...]}`.
    for body in [
        &br#"[{"action": "email_open", "action_date": 1717000000, "contact": {"base": ["x1"]}}]"#[..],
        br#"{"action": "email_send", "action_date": 1717000000}"#,
        br#"[[{"action": "email_open"}]]"#,
    ] {
        let r = normalize(Provider::Egoi, body, received_at()).map(|e| e.len());
        assert!(
            is_shape(&r, Provider::Egoi),
            "{:?}: {r:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn single_event_providers_refuse_an_array_and_array_providers_an_object() {
    let array = br#"[{"event": "open", "email": "a@b.c"}]"#;
    for p in [Provider::Enkod, Provider::Supersend] {
        let r = normalize(p, array, received_at()).map(|e| e.len());
        assert!(is_shape(&r, p), "{p}: {r:?}");
    }
    let object = br#"{"event": "open", "email": "a@b.c"}"#;
    for p in [Provider::Flashy, Provider::Sendpulse] {
        let r = normalize(p, object, received_at()).map(|e| e.len());
        assert!(is_shape(&r, p), "{p}: {r:?}");
    }
}

#[test]
fn array_element_not_an_object_names_its_index() {
    let body = br#"[{"event": "open", "email": "a@b.c"}, 7, {"event": "spam"}]"#;
    for p in ARRAY_PROVIDERS {
        match normalize(p, body, received_at()).map(|e| e.len()) {
            Err(NormalizeError::NotAnEvent(reason)) => {
                assert!(reason.contains("[1]"), "{p}: {reason}");
                assert!(reason.contains("a number"), "{p}: {reason}");
            }
            other => panic!("{p}: {other:?}"),
        }
    }
    let egoi = br#"{"events": [{"action": "email_open"}, "email_send"]}"#;
    match normalize(Provider::Egoi, egoi, received_at()) {
        Err(NormalizeError::NotAnEvent(reason)) => {
            assert_eq!(reason, "events[1] is a string, expected an event object")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_utf8_reports_the_offset() {
    let body = b"[{\"event\":\"open\",\"email\":\"caf\xe9@example.com\"}]";
    for (p, r) in each_provider(body) {
        assert_eq!(r, Err(NormalizeError::NotUtf8 { offset: 29 }), "{p}");
    }
    // A lone surrogate escape is valid JSON text but not a valid string:
    // that member cannot be read.
    for p in ARRAY_PROVIDERS {
        let r = normalize(
            p,
            br#"[{"event":"open","email":"\ud800@x.y"}]"#,
            received_at(),
        );
        assert!(
            matches!(&r, Err(NormalizeError::NotAnEvent(m)) if m.starts_with("body[0] cannot be read")),
            "{p}: {r:?}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(fixture("sendpulse", "spam"));
    let events = normalize(Provider::Sendpulse, &body, received_at()).expect("BOM tolerated");
    assert_eq!(events[0].event_type, "email.complained");
}

#[test]
fn nesting_thousands_deep_is_an_error_not_a_crash() {
    const DEPTH: usize = 20_000;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH));
    let unclosed = "[{\"a\":".repeat(DEPTH);
    let bodies = [
        arrays.clone(),
        objects.clone(),
        unclosed,
        format!("[{objects}]"),
        format!("[{{\"event\":\"open\",\"x\":{arrays}}}]"),
        format!("{{\"events\":[{objects}]}}"),
        format!("{{\"events\":{arrays}}}"),
        format!("{{\"events\":[{{\"action\":\"email_open\",\"action_data\":{arrays}}}]}}"),
        format!("{{\"event\":\"contact_updated\",\"body\":{objects}}}"),
    ];
    for body in &bodies {
        for (p, r) in each_provider(body.as_bytes()) {
            assert!(r.is_err(), "{p}: {r:?}");
        }
    }
    // An event object nested too deep is a member that cannot be read, not
    // a wrong kind of value.
    let r = normalize(
        Provider::Sendpulse,
        format!("[{objects}]").as_bytes(),
        received_at(),
    );
    assert!(
        matches!(&r, Err(NormalizeError::NotAnEvent(m)) if m.starts_with("body[0] cannot be read: nested deeper than 128 levels at ")),
        "{r:?}"
    );
}

/// A fixture body that is one event object, with `"x"` added: `levels`
/// deep from the body's top (the body is level 1), by arrays or objects.
fn object_body(provider: &str, name: &str, levels: usize, arrays: bool) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&fixture(provider, name)).unwrap();
    let inner = levels - 1;
    let (open, close) = if arrays {
        ("[", "]")
    } else {
        (r#"{"a":"#, "}")
    };
    let nest = format!("{}1{}", open.repeat(inner), close.repeat(inner));
    event["x"] = Value::String("NEST".into());
    event.to_string().replace(r#""NEST""#, &nest).into_bytes()
}

/// GIVEN an object body nested 128 levels deep WHEN normalized THEN it is
/// its event; 129 levels THEN it is refused with that reason (`400`, kept).
#[test]
fn an_object_body_128_levels_deep_is_read_and_129_refused() {
    for (provider, p, name, event_type) in [
        ("enkod", Provider::Enkod, "message_open", "email.opened"),
        ("supersend", Provider::Supersend, "bounce", "email.bounced"),
    ] {
        for arrays in [true, false] {
            let body = object_body(provider, name, 128, arrays);
            let events = normalize(p, &body, received_at()).unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].event_type, event_type);

            let body = object_body(provider, name, 129, arrays);
            match normalize(p, &body, received_at()) {
                Err(NormalizeError::Unreadable(m)) => assert!(
                    m.starts_with("nested deeper than 128 levels at line 1 column "),
                    "{m}"
                ),
                other => panic!("{provider}: {other:?}"),
            }
        }
    }
}

/// GIVEN an object body with a key twice, at its top or deeper WHEN
/// normalized THEN it is refused naming the key (`400`, kept), never read
/// as one of the two values.
#[test]
fn an_object_body_with_a_key_twice_is_refused_naming_the_key() {
    let top = br#"{"event":"page_view","email":"a@example.com","event":"purchase"}"#;
    let nested = br#"{"event":"open","email":"a@example.com","x":[{"id":1,"id":2}]}"#;
    for p in [Provider::Enkod, Provider::Supersend] {
        for (body, key) in [(&top[..], "event"), (&nested[..], "id")] {
            let r = normalize(p, body, received_at());
            let expected =
                format!("body cannot be read: duplicate key \"{key}\" at line 1 column ");
            assert!(
                matches!(&r, Err(e @ NormalizeError::Unreadable(_)) if e.to_string().starts_with(&expected)),
                "{p}: {r:?}"
            );
        }
    }
}

#[test]
fn error_messages_are_one_line_and_never_quote_the_body() {
    let secret = "s3cr3t-Token-Value";
    let bodies = [
        format!("{{\"event\": \"{secret}\""),
        format!("\"{secret}\""),
        format!("{{\"events\": \"{secret}\"}}"),
        format!("[\"{secret}\"]"),
        format!("{{\"events\": [\"{secret}\"]}}"),
        format!("{{\"{secret}\": 1}}"),
        secret.to_string(),
    ];
    for body in &bodies {
        for (p, r) in each_provider(body.as_bytes()) {
            if let Err(e) = r {
                let message = e.to_string();
                assert!(!message.contains('\n'), "{p}: {message}");
                assert!(!message.contains(secret), "{p}: {message}");
            }
        }
    }
}

#[test]
fn quarantine_keeps_the_body_and_the_reason() {
    let body = br#"{"events": "not a list"}"#;
    let reason = match normalize(Provider::Egoi, body, received_at()) {
        Err(e) => e.to_string(),
        Ok(events) => panic!("accepted: {events:?}"),
    };
    let item = quarantine(Provider::Egoi, body, &reason, received_at());
    assert_eq!(item.event_type, INVALID);
    assert_eq!(item.provider, Provider::Egoi);
    assert_eq!(item.raw.as_bytes(), body);
    assert_eq!(item.attributes["reason"], reason.as_str());
    assert!(!item.attributes.contains_key("raw_encoding"));
    assert_eq!(item.occurred_at, received_at());
    assert_eq!(item.occurred_at_source, TimeSource::Received);
    assert_eq!(item.day_key, "egoi#2024-07-01");
    assert_eq!(item.provider_event, None);
    assert_eq!(item.contact_key, None);
    assert_eq!(item.event_id.len(), 64);
}

#[test]
fn quarantine_ids_are_deterministic_per_provider_and_body() {
    let at = received_at();
    let a = quarantine(Provider::Enkod, b"{oops", "r", at);
    let later = normalize::Timestamp::from_unix_seconds(1_800_000_000).expect("time");
    assert_eq!(
        a.event_id,
        quarantine(Provider::Enkod, b"{oops", "other reason", later).event_id,
        "a redelivery maps to the same id"
    );
    assert_ne!(
        a.event_id,
        quarantine(Provider::Enkod, b"{oops!", "r", at).event_id
    );
    assert_ne!(
        a.event_id,
        quarantine(Provider::Supersend, b"{oops", "r", at).event_id
    );
}

#[test]
fn quarantine_of_invalid_utf8_is_base64() {
    let body = b"\xff\xfe{\"event\":1}";
    let item = quarantine(Provider::Flashy, body, "not UTF-8", received_at());
    assert_eq!(item.raw, "//57ImV2ZW50IjoxfQ==");
    assert_eq!(item.attributes["raw_encoding"], "base64");
}

#[test]
fn quarantine_id_never_equals_an_event_id() {
    let body = fixture("enkod", "message_open");
    let events = normalize(Provider::Enkod, &body, received_at()).expect("valid");
    let item = quarantine(Provider::Enkod, &body, "r", received_at());
    assert_ne!(events[0].event_id, item.event_id);
}
