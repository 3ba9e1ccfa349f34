//! What re-running the current normalizer over one stored item would
//! change. Pure: the item in, a plan out; `reprocess` does the writing.
//!
//! The id rules make this idempotent. An event's id comes from its provider
//! and its own content, never from the mapping, so the re-normalized event
//! of a stored `raw` has the stored id and overwrites the item in place. A
//! quarantined (`invalid`) body that now normalizes becomes the events its
//! delivery would have stored, with their own ids; stored through
//! `store_all`, they cannot duplicate what is already there.

use crate::db::{attr, s, Item};
use crate::raw;
use aws_sdk_dynamodb::types::AttributeValue;
use ingest::handler::MAX_EVENTS;
use ingest::item::{fit, to_item};
use normalize::{normalize, quarantine, Event, Provider, Timestamp, INVALID};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The current normalizer gives exactly what is stored.
    Unchanged,
    /// Same event_id, new content (a new type, fields, or a new reason).
    Rewrite {
        item: Item,
        from: String,
        to: String,
        /// `+name` added, `-name` removed, `~name` changed.
        changes: Vec<String>,
    },
    /// A quarantined body the normalizer now understands: the items of its
    /// events. The quarantine item goes once they are stored.
    Split { items: Vec<Item> },
    /// Left as it is, and why.
    Skip(String),
}

pub fn plan(old: &Item) -> Plan {
    match try_plan(old) {
        Ok(plan) => plan,
        Err(reason) => Plan::Skip(reason),
    }
}

fn try_plan(old: &Item) -> Result<Plan, String> {
    let id = s(old, "event_id").ok_or("no event_id")?;
    let provider: Provider = s(old, "provider").ok_or("no provider")?.parse()?;
    let stored_raw = s(old, "raw").ok_or("no raw payload stored")?;
    let bytes = raw::decode(stored_raw, attr(old, "raw_encoding"))?;
    let received_at = s(old, "received_at")
        .and_then(Timestamp::parse)
        .ok_or("no readable received_at")?;
    let from = s(old, "event_type").unwrap_or_default();

    if from == INVALID {
        return match normalize(provider, &bytes, received_at) {
            Ok(events) if events.is_empty() => {
                Err("the body now normalizes to no events; kept as it is".to_owned())
            }
            Ok(events) if events.len() > MAX_EVENTS => Err(format!(
                "the body carries {} events, over the limit of {MAX_EVENTS} per request; kept",
                events.len()
            )),
            Ok(events) => {
                let items = events
                    .iter()
                    .enumerate()
                    .map(|(i, event)| {
                        stored_form(event, old).map_err(|size| {
                            format!("event {i} would be {size} bytes, too large to store; kept")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Plan::Split { items })
            }
            Err(error) => {
                let kept = quarantine(provider, &bytes, &error.to_string(), received_at);
                if kept.event_id != id {
                    return Err(format!(
                        "the quarantine id is now {}; not rewritten",
                        kept.event_id
                    ));
                }
                let item = stored_form(&kept, old)
                    .map_err(|size| format!("would be {size} bytes; kept"))?;
                Ok(compare(old, item))
            }
        };
    }

    let text = String::from_utf8(bytes).map_err(|_| "raw is not UTF-8 text")?;
    let event = renormalize(provider, &text, id, received_at)?;
    let item = stored_form(&event, old).map_err(|size| format!("would be {size} bytes; kept"))?;
    Ok(compare(old, item))
}

/// The one event of a stored event's raw JSON, with the stored id. The raw
/// is read as a body first (a whole-body event), then as the one element
/// of a list (an array element, which on its own may not be a valid body,
/// e.g. a Flashy event without its `event` field).
fn renormalize(
    provider: Provider,
    text: &str,
    id: &str,
    received_at: Timestamp,
) -> Result<Event, String> {
    let mut other_id = None;
    let mut error = None;
    for body in [text.to_owned(), format!("[{text}]")] {
        match normalize(provider, body.as_bytes(), received_at) {
            Ok(mut events) if events.len() == 1 => {
                let mut event = events.remove(0);
                if event.event_id == id {
                    // Byte for byte as stored, whitespace around it included.
                    event.raw = text.to_owned();
                    return Ok(event);
                }
                other_id = Some(event.event_id);
            }
            Ok(events) => error = Some(format!("raw now reads as {} events", events.len())),
            Err(e) => error = error.or(Some(e.to_string())),
        }
    }
    Err(match other_id {
        Some(new) => format!("the normalizer now gives this payload id {new}; not rewritten"),
        None => format!("raw no longer normalizes: {}", error.unwrap_or_default()),
    })
}

/// The item as ingest would store it now, keeping the old item's TTL
/// (before `fit`, which weighs the whole item).
fn stored_form(event: &Event, old: &Item) -> Result<Item, usize> {
    let mut item = to_item(event, None);
    if let Some(expires) = old.get("expires_at") {
        item.insert("expires_at".to_owned(), expires.clone());
    }
    fit(item)
}

fn compare(old: &Item, new: Item) -> Plan {
    // The same payload stored in another encoding (plain before `fit`
    // compressed what saves a write unit) is not worth a write.
    let same_payload = || match (with_decoded_raw(&new), with_decoded_raw(old)) {
        (Some(new), Some(old)) => new == old,
        _ => false,
    };
    if &new == old || same_payload() {
        return Plan::Unchanged;
    }
    Plan::Rewrite {
        from: s(old, "event_type").unwrap_or_default().to_owned(),
        to: s(&new, "event_type").unwrap_or_default().to_owned(),
        changes: changes(old, &new),
        item: new,
    }
}

/// The item with `raw` as the provider's bytes and no `raw_encoding`;
/// `None` when the raw cannot be decoded.
fn with_decoded_raw(item: &Item) -> Option<Item> {
    let bytes = raw::decode(s(item, "raw")?, attr(item, "raw_encoding")).ok()?;
    let mut item = item.clone();
    item.insert(
        "raw".to_owned(),
        AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes)),
    );
    if let Some(AttributeValue::M(attributes)) = item.get_mut("attributes") {
        attributes.remove("raw_encoding");
        if attributes.is_empty() {
            item.remove("attributes");
        }
    }
    Some(item)
}

/// What differs, by attribute name (one level into `attributes`).
pub fn changes(old: &Item, new: &Item) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        match (old.get(name.as_str()), new.get(name.as_str())) {
            (Some(AttributeValue::M(a)), Some(AttributeValue::M(b))) if name == "attributes" => {
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for key in keys {
                    match (a.get(key.as_str()), b.get(key.as_str())) {
                        (None, Some(_)) => out.push(format!("+{name}.{key}")),
                        (Some(_), None) => out.push(format!("-{name}.{key}")),
                        (Some(x), Some(y)) if x != y => out.push(format!("~{name}.{key}")),
                        _ => {}
                    }
                }
            }
            (None, Some(_)) => out.push(format!("+{name}")),
            (Some(_), None) => out.push(format!("-{name}")),
            (Some(a), Some(b)) if a != b => out.push(format!("~{name}")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2024-05-01T12:00:00Z").unwrap()
    }

    fn stored(provider: Provider, body: &str) -> Vec<Item> {
        normalize(provider, body.as_bytes(), at())
            .unwrap()
            .iter()
            .map(|e| to_item(e, Some(30)))
            .collect()
    }

    /// The item an older normalizer, without this event's mapping, stored.
    fn as_unknown(mut item: Item) -> Item {
        item.insert("event_type".into(), AttributeValue::S("unknown".into()));
        item.remove("channel");
        item
    }

    const OPENED: &str = r#"[{"account_id":246,"contact_id":"c3b0","email":"A@Example.com","timestamp":1674573849,"event":"email_automation_opened"},{"event":"purchase","order_id":"7","created_at":1674573849}]"#;

    #[test]
    fn what_is_already_right_is_unchanged() {
        for item in stored(Provider::Flashy, OPENED) {
            assert_eq!(plan(&item), Plan::Unchanged);
        }
    }

    #[test]
    fn an_unknown_event_is_retyped_in_place() {
        let typed = stored(Provider::Flashy, OPENED).remove(0);
        let Plan::Rewrite {
            item,
            from,
            to,
            changes,
        } = plan(&as_unknown(typed.clone()))
        else {
            panic!("expected a rewrite");
        };
        assert_eq!((from.as_str(), to.as_str()), ("unknown", "email.opened"));
        assert_eq!(changes, ["+channel", "~event_type"]);
        // Same id, same raw, same TTL: exactly what a delivery stores now.
        assert_eq!(item, typed);
    }

    #[test]
    fn an_array_element_that_is_no_body_on_its_own_still_reprocesses() {
        let body = r#"[ {"contact_id":"x1","created_at":1674573849} ]"#;
        let item = stored(Provider::Flashy, body).remove(0);
        assert_eq!(s(&item, "event_type"), Some("unknown"));
        assert_eq!(plan(&item), Plan::Unchanged);
    }

    #[test]
    fn a_whole_body_keeps_its_bytes() {
        let body = "{\"event\":\"message_open\",\"email\":\"b@example.com\"}\n";
        let item = stored(Provider::Enkod, body).remove(0);
        assert_eq!(s(&item, "raw"), Some(body));
        let Plan::Rewrite { item: new, .. } = plan(&as_unknown(item.clone())) else {
            panic!("expected a rewrite");
        };
        assert_eq!(new, item, "raw keeps its trailing newline");
    }

    #[test]
    fn a_compressed_raw_is_read_and_written_back_compressed() {
        let note = "lorem ipsum ".repeat(40_000);
        let body = format!(
            r#"[{{"event":"email_automation_opened","email":"z@example.com","note":"{note}"}}]"#
        );
        let event = normalize(Provider::Flashy, body.as_bytes(), at())
            .unwrap()
            .remove(0);
        let fitted = fit(to_item(&event, None)).unwrap();
        assert_eq!(attr(&fitted, "raw_encoding"), Some(raw::GZIP_BASE64));
        assert_eq!(plan(&fitted), Plan::Unchanged);
        let Plan::Rewrite { item, .. } = plan(&as_unknown(fitted.clone())) else {
            panic!("expected a rewrite");
        };
        assert_eq!(item, fitted);
    }

    #[test]
    fn a_raw_stored_plain_that_would_now_be_compressed_is_left_alone() {
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../normalize/tests/fixtures/supersend/open.json"
        ))
        .unwrap();
        let event = normalize(Provider::Supersend, body.as_bytes(), at())
            .unwrap()
            .remove(0);
        let plain = to_item(&event, None);
        let fitted = fit(plain.clone()).unwrap();
        assert_eq!(attr(&fitted, "raw_encoding"), Some(raw::GZIP_BASE64));
        assert_eq!(plan(&plain), Plan::Unchanged);
        assert_eq!(plan(&fitted), Plan::Unchanged);
    }

    #[test]
    fn a_quarantined_body_that_now_normalizes_splits_into_its_events() {
        let kept = quarantine(Provider::Flashy, OPENED.as_bytes(), "old parser", at());
        let item = to_item(&kept, Some(30));
        let Plan::Split { items } = plan(&item) else {
            panic!("expected a split");
        };
        assert_eq!(items, stored(Provider::Flashy, OPENED));
    }

    #[test]
    fn a_body_still_invalid_stays_and_only_a_new_reason_is_written() {
        let body = b"{not json";
        let reason = normalize(Provider::Flashy, body, at())
            .unwrap_err()
            .to_string();
        let same = to_item(&quarantine(Provider::Flashy, body, &reason, at()), None);
        assert_eq!(plan(&same), Plan::Unchanged);
        let old = to_item(&quarantine(Provider::Flashy, body, "old words", at()), None);
        let Plan::Rewrite { item, changes, .. } = plan(&old) else {
            panic!("expected a rewrite");
        };
        assert_eq!(changes, ["~attributes.reason"]);
        assert_eq!(item, same);
    }

    #[test]
    fn a_binary_quarantined_body_is_decoded_first() {
        let body = [0xffu8, 0xfe, 0x00];
        let reason = normalize(Provider::Egoi, &body, at())
            .unwrap_err()
            .to_string();
        let item = to_item(&quarantine(Provider::Egoi, &body, &reason, at()), None);
        assert_eq!(attr(&item, "raw_encoding"), Some("base64"));
        assert_eq!(plan(&item), Plan::Unchanged);
    }

    #[test]
    fn an_empty_body_is_never_dropped() {
        let item = to_item(&quarantine(Provider::Sendpulse, b"[]", "old", at()), None);
        assert!(matches!(plan(&item), Plan::Skip(reason) if reason.contains("no events")));
    }

    #[test]
    fn items_that_cannot_be_read_are_skipped_with_a_reason() {
        let mut item = stored(Provider::Flashy, OPENED).remove(0);
        item.remove("raw");
        assert_eq!(plan(&item), Plan::Skip("no raw payload stored".into()));
        let mut item = stored(Provider::Flashy, OPENED).remove(0);
        item.insert("provider".into(), AttributeValue::S("mailchimp".into()));
        assert!(matches!(plan(&item), Plan::Skip(r) if r.contains("unknown provider")));
    }

    #[test]
    fn an_id_the_normalizer_no_longer_gives_is_not_rewritten() {
        let mut item = stored(Provider::Flashy, OPENED).remove(0);
        item.insert("event_id".into(), AttributeValue::S("0".repeat(64)));
        assert!(matches!(plan(&item), Plan::Skip(r) if r.contains("now gives this payload id")));
    }
}
