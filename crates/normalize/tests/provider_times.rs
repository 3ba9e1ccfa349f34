//! GIVEN an event whose provider time is impossible (before 2000, more than
//! a day after receipt, or unreadable) WHEN it is normalized THEN it is
//! timed on receipt, `occurred_at_source = received`, and the provider's
//! value is kept as sent in `attributes.provider_time`; a believable time
//! is the event's, `occurred_at_source = provider`.

mod common;

use common::received_at;
use normalize::{normalize, Event, Provider, TimeSource};
use serde_json::{json, Value};

/// A SendPulse open whose `timestamp` is `time` (JSON text).
fn sendpulse_open(time: &str) -> Event {
    let body = format!(r#"[{{"event": "open", "task_id": "1", "timestamp": {time}}}]"#);
    only(Provider::Sendpulse, body.as_bytes())
}

fn only(provider: Provider, body: &[u8]) -> Event {
    let mut events = normalize(provider, body, received_at())
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)));
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn trusted(time: &str, occurred: &str) {
    let event = sendpulse_open(time);
    assert_eq!(event.occurred_at_source, TimeSource::Provider, "{time}");
    assert_eq!(event.occurred_at.to_string(), occurred, "{time}");
    assert!(!event.attributes.contains_key("provider_time"), "{time}");
}

fn untrusted(time: &str, kept: Value) {
    let event = sendpulse_open(time);
    assert_eq!(event.occurred_at_source, TimeSource::Received, "{time}");
    assert_eq!(event.occurred_at, received_at(), "{time}");
    assert_eq!(event.day_key, "sendpulse#2024-07-01", "{time}");
    assert_eq!(event.attributes.get("provider_time"), Some(&kept), "{time}");
}

#[test]
fn the_receive_time_of_the_tests_is_2024_07_01_noon() {
    assert_eq!(received_at().unix_millis(), 1_719_835_200_000);
}

#[test]
fn times_from_2000_on_are_trusted_and_earlier_ones_are_not() {
    trusted("946684800", "2000-01-01T00:00:00.000Z");
    trusted("946684800000", "2000-01-01T00:00:00.000Z");
    untrusted("946684799", json!(946684799));
    untrusted("946684799999", json!(946684799999u64));
    untrusted("\"946684799\"", json!("946684799"));
    untrusted("0", json!(0));
    untrusted("631152000", json!(631152000)); // E-goi's documented sample
}

#[test]
fn times_up_to_a_day_after_receipt_are_trusted_and_later_ones_are_not() {
    // Receipt + 1 day, in seconds and in milliseconds.
    trusted("1719921600", "2024-07-02T12:00:00.000Z");
    trusted("1719921600000", "2024-07-02T12:00:00.000Z");
    trusted("\"2024-07-02 12:00:00\"", "2024-07-02T12:00:00.000Z");
    // One millisecond, or one second, more.
    untrusted("1719921600001", json!(1719921600001u64));
    untrusted("1719921600.001", json!(1719921600.001));
    untrusted("1719921601", json!(1719921601));
    untrusted(
        "\"2024-07-02 12:00:00.001\"",
        json!("2024-07-02 12:00:00.001"),
    );
}

#[test]
fn seconds_and_milliseconds_are_told_by_size() {
    trusted("1717000000", "2024-05-29T16:26:40.000Z");
    trusted("1717000000123", "2024-05-29T16:26:40.123Z");
    trusted("\"1717000000\"", "2024-05-29T16:26:40.000Z");
    // Below 1e11 a number is seconds (99999999999 s is the year 5138),
    // from 1e11 on milliseconds (1e11 ms is 1973): neither is believable.
    untrusted("99999999999", json!(99999999999u64));
    untrusted("100000000000", json!(100000000000u64));
}

#[test]
fn the_year_9999_is_not_read_as_1978() {
    // 9999-12-31T23:59:59Z in seconds: read as milliseconds it is 1978.
    untrusted("253402300799", json!(253402300799u64));
    untrusted("\"253402300799\"", json!("253402300799"));
    untrusted("253402300799999", json!(253402300799999u64));
    untrusted("\"9999-12-31 23:59:59\"", json!("9999-12-31 23:59:59"));
}

#[test]
fn huge_negative_and_unreadable_times_are_kept_as_sent() {
    // Kept whatever text the number is written in (DynamoDB takes no
    // number beyond 1e125, so that one is kept as text).
    for (time, value) in [("1e300", 1e300), ("99999999999999999999", 1e20)] {
        let event = sendpulse_open(time);
        assert_eq!(event.occurred_at_source, TimeSource::Received, "{time}");
        let kept = &event.attributes["provider_time"];
        let kept = kept.as_f64().or_else(|| kept.as_str()?.parse().ok());
        assert_eq!(kept, Some(value), "{time}");
    }
    untrusted("-1", json!(-1));
    untrusted("-1719835200", json!(-1719835200));
    untrusted("\"-5\"", json!("-5"));
    untrusted("\"yesterday\"", json!("yesterday"));
    untrusted("true", json!(true));
    untrusted(
        "{\"date\": \"0001-01-01 00:00:00\"}",
        json!({"date": "0001-01-01 00:00:00"}),
    );
}

#[test]
fn no_time_sent_is_no_provider_time() {
    for time in ["null", "\"\"", "\"  \""] {
        let event = sendpulse_open(time);
        assert_eq!(event.occurred_at_source, TimeSource::Received, "{time}");
        assert!(!event.attributes.contains_key("provider_time"), "{time}");
    }
}

#[test]
fn a_believable_time_in_a_later_key_is_used() {
    let body = br#"[{"event": "contact_created", "account_id": 1, "timestamp": 253402300799, "created_at": 1717000000}]"#;
    let event = only(Provider::Flashy, body);
    assert_eq!(event.occurred_at_source, TimeSource::Provider);
    assert_eq!(event.occurred_at.to_string(), "2024-05-29T16:26:40.000Z");
    assert!(!event.attributes.contains_key("provider_time"));
}

#[test]
fn every_provider_distrusts_the_same_way() {
    let bodies: [(Provider, &[u8]); 5] = [
        (
            Provider::Flashy,
            br#"[{"event": "contact_created", "account_id": 1, "created_at": 253402300799}]"#,
        ),
        (
            Provider::Egoi,
            br#"{"events": [{"action": "email_open", "action_date": 253402300799}]}"#,
        ),
        (
            Provider::Enkod,
            br#"{"event": "message open", "timestamp": 253402300799}"#,
        ),
        (
            Provider::Supersend,
            br#"{"event": "open", "ContactId": "c1", "timestamp": 253402300799}"#,
        ),
        (
            Provider::Sendpulse,
            br#"[{"automation_id": "1", "title": "T", "execution_date": 253402300799}]"#,
        ),
    ];
    for (provider, body) in bodies {
        let event = only(provider, body);
        assert_eq!(event.occurred_at_source, TimeSource::Received, "{provider}");
        assert_eq!(event.occurred_at, received_at(), "{provider}");
        assert_eq!(
            event.attributes.get("provider_time"),
            Some(&json!(253402300799u64)),
            "{provider}"
        );
    }
}
