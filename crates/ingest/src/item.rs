//! The stored item of DESIGN.md ("The canonical event"), built from a
//! canonical event. Attributes with no value are omitted.

use aws_sdk_dynamodb::types::AttributeValue;
use normalize::Event;
use serde_json::Value;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub const SCHEMA_VERSION: &str = "1";
const SECONDS_PER_DAY: i64 = 86_400;

pub fn to_item(event: &Event, retention_days: Option<u32>) -> Item {
    let mut item = Item::with_capacity(24);
    let mut s = |name: &str, value: &str| {
        item.insert(name.to_owned(), AttributeValue::S(value.to_owned()));
    };
    s("event_id", &event.event_id);
    s("provider", event.provider.as_str());
    s("event_type", event.event_type);
    s("occurred_at", &event.occurred_at.to_string());
    s("occurred_at_source", event.occurred_at_source.as_str());
    s("received_at", &event.received_at.to_string());
    s("day_key", &event.day_key);
    s("raw", &event.raw);
    let optional = [
        ("provider_event", &event.provider_event),
        ("email", &event.email),
        ("phone", &event.phone),
        ("contact_id", &event.contact_id),
        ("account_id", &event.account_id),
        ("campaign_id", &event.campaign_id),
        ("message_id", &event.message_id),
        ("automation_id", &event.automation_id),
        ("list_id", &event.list_id),
        ("contact_key", &event.contact_key),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            s(name, value);
        }
    }
    if let Some(channel) = event.channel {
        s("channel", channel.as_str());
    }
    if !event.attributes.is_empty() {
        let map = event
            .attributes
            .iter()
            .filter_map(|(k, v)| attribute_value(v).map(|v| (k.clone(), v)))
            .collect();
        item.insert("attributes".to_owned(), AttributeValue::M(map));
    }
    if let Some(days) = retention_days {
        let expires = event.received_at.unix_seconds() + i64::from(days) * SECONDS_PER_DAY;
        item.insert(
            "expires_at".to_owned(),
            AttributeValue::N(expires.to_string()),
        );
    }
    item.insert(
        "schema_version".to_owned(),
        AttributeValue::N(SCHEMA_VERSION.to_owned()),
    );
    item
}

/// JSON to DynamoDB: strings S, numbers N, booleans BOOL, arrays L, objects
/// M; nulls and empty strings are left out.
fn attribute_value(value: &Value) -> Option<AttributeValue> {
    Some(match value {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Array(items) => {
            AttributeValue::L(items.iter().filter_map(attribute_value).collect())
        }
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .filter_map(|(k, v)| attribute_value(v).map(|v| (k.clone(), v)))
                .collect(),
        ),
    })
}

/// DynamoDB's item size: the UTF-8 length of every attribute name plus its
/// value (strings by length, numbers ~ 1 byte per 2 digits + 1, sets and
/// containers 3 bytes of overhead plus 1 per element).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use normalize::{normalize, Provider, Timestamp};

    fn event(body: &str) -> Event {
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        normalize(Provider::Flashy, body.as_bytes(), at)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn omits_what_has_no_value_and_keeps_raw() {
        let body = r#"[{"account_id":246,"contact_id":"c3b0","feed_id":219,"timestamp":1674573849,"event":"contact_subscribed"}]"#;
        let item = to_item(&event(body), None);
        assert_eq!(
            item["event_type"],
            AttributeValue::S("contact.subscribed".into())
        );
        assert_eq!(item["list_id"], AttributeValue::S("219".into()));
        assert_eq!(item["account_id"], AttributeValue::S("246".into()));
        assert_eq!(
            item["contact_key"],
            AttributeValue::S("contact#flashy#c3b0".into())
        );
        assert_eq!(
            item["day_key"],
            AttributeValue::S("flashy#2023-01-24".into())
        );
        assert_eq!(item["schema_version"], AttributeValue::N("1".into()));
        assert!(!item.contains_key("email"));
        assert!(!item.contains_key("expires_at"));
        assert!(!item.contains_key("attributes"));
        assert_eq!(
            item["raw"],
            AttributeValue::S(body[1..body.len() - 1].into())
        );
        assert!(item
            .values()
            .all(|v| v != &AttributeValue::S(String::new())));
    }

    #[test]
    fn retention_sets_ttl_from_receive_time() {
        let item = to_item(
            &event(r#"[{"event":"contact_created","created_at":1}]"#),
            Some(30),
        );
        let expected = Timestamp::parse("2024-05-31T12:00:00Z")
            .unwrap()
            .unix_seconds();
        assert_eq!(item["expires_at"], AttributeValue::N(expected.to_string()));
    }

    #[test]
    fn size_counts_names_and_values() {
        let mut item = Item::new();
        item.insert("raw".into(), AttributeValue::S("x".repeat(100)));
        item.insert("n".into(), AttributeValue::N("12345".into()));
        assert_eq!(item_size(&item), 3 + 100 + 1 + 4);
    }
}
