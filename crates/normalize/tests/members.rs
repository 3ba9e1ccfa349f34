//! GIVEN a body whose envelope is valid WHEN one of its members is not an
//! event THEN that member stands alone (kept with its own text and reason)
//! and every other member is still an event; and the limits that keep a
//! body's cost bounded.

mod common;

use common::{fixture, received_at};
use normalize::{
    bounded_key, members, normalize, quarantine, quarantine_part, Member, NormalizeError, Provider,
    MAX_PARTITION_KEY_BYTES,
};
use serde_json::Value;

fn sendpulse_open(i: usize) -> String {
    format!(r#"{{"event":"open","timestamp":1732528800,"email":"r{i}@example.com"}}"#)
}

#[test]
fn a_member_that_is_not_an_object_stands_alone() {
    let mut parts: Vec<String> = (0..10).map(sendpulse_open).collect();
    parts[4] = r#"[ "not", "an event" ]"#.to_owned();
    let body = format!("[{}]", parts.join(","));
    let members = members(Provider::Sendpulse, body.as_bytes(), received_at(), 100).unwrap();
    assert_eq!(members.len(), 10);
    for (i, member) in members.iter().enumerate() {
        match member {
            Member::Invalid { raw, reason } => {
                assert_eq!(i, 4);
                assert_eq!(*raw, parts[4]);
                assert_eq!(
                    reason.to_string(),
                    "body[4] is an array, expected an event object"
                );
            }
            Member::Event { event, raw } => {
                assert_eq!(*raw, parts[i]);
                assert_eq!(
                    event.email.as_deref(),
                    Some(format!("r{i}@example.com").as_str())
                );
            }
        }
    }
}

#[test]
fn an_egoi_member_nested_too_deep_stands_alone() {
    let deep = format!("{}1{}", r#"{"a":"#.repeat(300), "}".repeat(300));
    let body = format!(
        r#"{{"events":[{{"action":"email_open","action_date":1717000000}},{{"action":"email_send","x":{deep}}}]}}"#
    );
    let members = members(Provider::Egoi, body.as_bytes(), received_at(), 100).unwrap();
    assert!(
        matches!(&members[0], Member::Event { event, .. } if event.event_type == "email.opened")
    );
    assert!(
        matches!(&members[1], Member::Invalid { reason, .. } if reason.to_string().starts_with("events[1] cannot be read"))
    );
}

#[test]
fn too_many_members_are_counted_before_any_event_is_built() {
    let body = format!("[{}]", vec!["{}"; 1_000].join(","));
    for limit in [0, 1, 999] {
        let err = members(Provider::Flashy, body.as_bytes(), received_at(), limit).unwrap_err();
        assert_eq!(
            err,
            NormalizeError::TooManyEvents {
                count: 1_000,
                limit
            }
        );
    }
    assert_eq!(
        members(Provider::Flashy, body.as_bytes(), received_at(), 1_000)
            .unwrap()
            .len(),
        1_000
    );
    let egoi = format!(r#"{{"events":[{}]}}"#, ["{}"; 11].join(","));
    assert_eq!(
        members(Provider::Egoi, egoi.as_bytes(), received_at(), 10).unwrap_err(),
        NormalizeError::TooManyEvents {
            count: 11,
            limit: 10
        }
    );
}

#[test]
fn the_strict_form_refuses_a_body_with_a_bad_member() {
    let body = format!("[{},7]", sendpulse_open(0));
    assert_eq!(
        normalize(Provider::Sendpulse, body.as_bytes(), received_at()),
        Err(NormalizeError::NotAnEvent(
            "body[1] is a number, expected an event object".into()
        ))
    );
}

#[test]
fn an_over_long_contact_key_is_bounded_and_stable() {
    let local = "a".repeat(3_000);
    let body = format!(r#"[{{"event":"open","email":"{local}@example.com"}}]"#);
    let events = normalize(Provider::Sendpulse, body.as_bytes(), received_at()).unwrap();
    let key = events[0].contact_key.clone().unwrap();
    assert!(key.len() <= MAX_PARTITION_KEY_BYTES, "{}", key.len());
    assert!(key.starts_with("email#aaaa"));
    // The e-mail itself is stored whole; only the index key is bounded.
    assert_eq!(events[0].email.as_deref().map(str::len), Some(3_012));
    let full = format!("email#{local}@example.com");
    assert_eq!(bounded_key(full.clone()), key);
    assert_ne!(bounded_key(format!("{full}x")), key);
    // A key within the limit is itself.
    let short = "email#a@b.example".to_owned();
    assert_eq!(bounded_key(short.clone()), short);
    // Cut back to a whole character.
    let wide = format!("email#{}", "é".repeat(1_500));
    assert!(bounded_key(wide).len() <= MAX_PARTITION_KEY_BYTES);
}

#[test]
fn a_member_kept_in_part_has_the_same_id_and_says_what_is_missing() {
    let text = format!("[\"{}\"]", "é".repeat(100));
    let whole = quarantine(Provider::Enkod, text.as_bytes(), "r", received_at());
    let part = quarantine_part(Provider::Enkod, text.as_bytes(), "r", received_at(), 10);
    assert_eq!(
        part.event_id, whole.event_id,
        "a redelivery maps to the same item"
    );
    // 10 bytes cut back to a whole character: `["` and four é.
    assert_eq!(part.raw, "[\"éééé");
    assert_eq!(part.attributes["truncated"], true);
    assert_eq!(part.attributes["original_bytes"], text.len());
    assert_eq!(part.attributes["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(part.attributes["reason"], "r");

    // Not text: the first bytes, base64.
    let binary = [0xffu8; 32];
    let part = quarantine_part(Provider::Enkod, &binary, "r", received_at(), 3);
    assert_eq!(part.raw, "////");
    assert_eq!(part.attributes["raw_encoding"], "base64");
}

#[test]
fn a_part_too_large_for_any_item_is_not_copied_into_attributes() {
    // SendPulse A360 `variables` and SuperSend `details` are copied into
    // attributes; over 300,000 bytes they could never be stored, so they
    // are not copied. The event itself, its type and its raw are whole.
    let wide: Vec<String> = (0..40_000)
        .map(|i| format!(r#""key{i}":"value""#))
        .collect();
    let body = format!(
        r#"[{{"title":"Welcome","automation_id":1,"variables":{{{}}}}}]"#,
        wide.join(",")
    );
    let events = normalize(Provider::Sendpulse, body.as_bytes(), received_at()).unwrap();
    assert_eq!(events[0].event_type, "automation.triggered");
    let note = events[0].attributes["variables"].as_str().unwrap();
    assert!(note.starts_with("(not copied"), "{note}");
    assert_eq!(events[0].raw, &body[1..body.len() - 1]);

    // Under the bound, copied as before.
    let small = r#"[{"title":"Welcome","automation_id":1,"variables":{"plan":"pro"}}]"#;
    let events = normalize(Provider::Sendpulse, small.as_bytes(), received_at()).unwrap();
    assert_eq!(events[0].attributes["variables"]["plan"], "pro");

    let details = format!(
        r#"{{"event":"reply","timestamp":1700000000,"ContactId":"c1","details":{{"text":"{}"}}}}"#,
        "x".repeat(400_000)
    );
    let events = normalize(Provider::Supersend, details.as_bytes(), received_at()).unwrap();
    assert!(events[0].attributes["details"]
        .as_str()
        .unwrap()
        .starts_with("(not copied"));
}

/// A fixture body whose first member gets `"x"`, nested so that the
/// deepest level is `levels` from the body's top (the body is level 1).
fn with_nested_member(provider: &str, name: &str, levels: usize) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture(provider, name)).unwrap();
    let (first, around) = match body.get_mut("events") {
        Some(events) => (&mut events[0], 2),
        None => (&mut body[0], 1),
    };
    // The member itself is one level.
    let inner = levels - around - 1;
    first["x"] = Value::String("NEST".into());
    let nest = format!("{}1{}", "[".repeat(inner), "]".repeat(inner));
    body.to_string().replace(r#""NEST""#, &nest).into_bytes()
}

/// GIVEN a member nested 128 levels deep from the body's top WHEN the body
/// is read THEN it is an event; 129 levels THEN it alone is quarantined
/// with that reason, and the other members are still events.
#[test]
fn a_member_128_levels_deep_is_read_and_129_quarantined() {
    for (provider, p, name, path) in [
        ("flashy", Provider::Flashy, "batch_three_events", "body"),
        ("sendpulse", Provider::Sendpulse, "mixed_batch", "body"),
        ("egoi", Provider::Egoi, "batch_several_actions", "events"),
    ] {
        let body = with_nested_member(provider, name, 128);
        let read = members(p, &body, received_at(), 100).unwrap();
        assert!(read.len() > 1, "{provider}");
        assert!(
            read.iter().all(|m| matches!(m, Member::Event { .. })),
            "{provider}: {read:?}"
        );

        let body = with_nested_member(provider, name, 129);
        let read = members(p, &body, received_at(), 100).unwrap();
        match &read[0] {
            Member::Invalid { reason, .. } => {
                let expected = format!(
                    "{path}[0] cannot be read: nested deeper than 128 levels at line 1 column "
                );
                assert!(
                    reason.to_string().starts_with(&expected),
                    "{provider}: {reason}"
                );
            }
            other => panic!("{provider}: {other:?}"),
        }
        assert!(
            read[1..].iter().all(|m| matches!(m, Member::Event { .. })),
            "{provider}"
        );
    }
}

/// GIVEN a member with a key twice (at its top, or in a nested object)
/// WHEN the body is read THEN that member alone is quarantined, the key
/// named, and neither value is taken for the event.
#[test]
fn a_member_with_a_key_twice_is_quarantined_naming_the_key() {
    let twice = r#"{"event":"page_view","email":"a@example.com","timestamp":1736846100,"event":"purchase"}"#;
    let deep =
        r#"{"event":"purchase","email":"a@example.com","context":{"items":[{"id":1,"id":2}]}}"#;
    let body = format!("[{},{twice},{deep}]", sendpulse_open(0));
    let read = members(Provider::Flashy, body.as_bytes(), received_at(), 100).unwrap();
    assert_eq!(read.len(), 3);
    assert!(matches!(&read[0], Member::Event { .. }));
    for (member, i, key, raw) in [(&read[1], 1, "event", twice), (&read[2], 2, "id", deep)] {
        match member {
            Member::Invalid { raw: kept, reason } => {
                assert_eq!(*kept, raw);
                let expected =
                    format!("body[{i}] cannot be read: duplicate key \"{key}\" at line 1 column ");
                assert!(reason.to_string().starts_with(&expected), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    let egoi = r#"{"events":[{"action":"email_open","action_date":1717000000},{"action":"email_open","action":"email_click"}]}"#;
    let read = members(Provider::Egoi, egoi.as_bytes(), received_at(), 100).unwrap();
    assert!(matches!(&read[0], Member::Event { .. }));
    assert!(
        matches!(&read[1], Member::Invalid { reason, .. } if reason.to_string().starts_with("events[1] cannot be read: duplicate key \"action\"")),
        "{read:?}"
    );
}
