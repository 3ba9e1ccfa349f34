//! What re-running the current normalizer over one stored item would
//! change. Pure: the item in, a plan out; `reprocess` does the writing.
//!
//! The id rules make this idempotent. An event's id comes from its provider
//! and its own content, never from the mapping, so the re-normalized event
//! of a stored `raw` has the stored id and overwrites the item in place. A
//! quarantined (`invalid`) item is read again the way the functions read
//! what it holds (events-table's `Intake`): a member as a member at its
//! place, a body as a body. Read now, it becomes the items its delivery
//! would have stored, with their own ids; stored through `store_all`, they
//! cannot duplicate what is already there.
//!
//! Left as they are, each with its reason: an item written by a newer
//! normalizer than this one (its `normalizer` attribute; an item without
//! one is older than the attribute); a quarantine item quarantined only in part
//! (`attributes.truncated`), whose raw is not the whole body; a typed event
//! this normalizer can only read as `unknown`, unless `allow_downgrade`.

use crate::db::{describe_truncated, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr::{self, inner};
use events_table::intake::{holds, BodyItems, Expiry, Holds, Intake, HOLDS_BODY};
use events_table::item::{fit, to_item};
use events_table::store::{event_id, MAX_EVENTS};
use events_table::StoredEvent;
use normalize::{Event, Member, Provider, Timestamp, INVALID, UNKNOWN};
use semver::Version;
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

/// How far a re-normalization may go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Rewrite a typed event that this normalizer reads as `unknown`.
    pub allow_downgrade: bool,
}

pub fn plan(old: &Item, options: Options) -> Plan {
    match try_plan(old) {
        Ok(Plan::Rewrite { from, to, .. })
            if to == UNKNOWN && from != UNKNOWN && from != INVALID && !options.allow_downgrade =>
        {
            Plan::Skip(format!(
                "this normalizer reads it as unknown, not {from}; left as it is \
                 (--allow-downgrade rewrites it)"
            ))
        }
        Ok(plan) => plan,
        Err(reason) => Plan::Skip(reason),
    }
}

fn try_plan(old: &Item) -> Result<Plan, String> {
    let view = StoredEvent::try_from(old).map_err(|e| e.to_string())?;
    let id = view.event_id.as_str();
    if let Some(part) = view.truncated() {
        return Err(format!(
            "quarantined only in part (truncated: {}); its raw is not the whole body, so it \
             cannot be re-normalized",
            describe_truncated(&part)
        ));
    }
    not_newer_than_this(&view)?;
    let provider: Provider = view.provider.as_deref().ok_or("no provider")?.parse()?;
    let bytes = view.raw_bytes().ok_or("no raw payload stored")??;
    let received_at = view
        .received_at
        .as_deref()
        .and_then(Timestamp::parse)
        .ok_or("no readable received_at")?;
    let from = view.event_type.as_deref().unwrap_or_default();

    if from == INVALID {
        return replan_quarantined(old, &view, provider, &bytes, received_at);
    }

    // An event's raw is one member's text (or the body's one event object):
    // read again as a member, the way the functions read it in its body.
    let text = String::from_utf8(bytes).map_err(|_| "raw is not UTF-8 text")?;
    let mut event = match normalize::member(provider, &text, attr::RAW, received_at) {
        Member::Event { event, .. } => event,
        Member::Invalid { reason, .. } => {
            return Err(format!("raw no longer normalizes: {reason}"));
        }
    };
    if event.event_id != id {
        return Err(format!(
            "the normalizer now gives this payload id {}; not rewritten",
            event.event_id
        ));
    }
    // Byte for byte as stored, whitespace around it included.
    event.raw = text;
    let item = stored_form(&event, old).map_err(|size| format!("would be {size} bytes; kept"))?;
    Ok(compare(old, item))
}

/// A quarantine item read again the way the functions read what it holds
/// (events-table's `Intake`, the handler's own path): a member as a member
/// at its place, a body as a body. Still quarantined, it is compared with
/// what is stored (a new reason is a rewrite); read now, its items replace
/// it (a split).
fn replan_quarantined(
    old: &Item,
    view: &StoredEvent,
    provider: Provider,
    bytes: &[u8],
    received_at: Timestamp,
) -> Result<Plan, String> {
    let intake = Intake {
        provider,
        received_at,
        expiry: view.expires_at.clone().map_or(Expiry::Never, Expiry::At),
    };
    let items: Vec<Item> = match holds(&view.attributes) {
        Holds::Member(place) => {
            let text = std::str::from_utf8(bytes).map_err(|_| "the member is not UTF-8 text")?;
            vec![intake.member(text, Holds::Member(place)).1]
        }
        Holds::Body => match intake.body(bytes, MAX_EVENTS) {
            BodyItems::Members(members) if members.is_empty() => {
                return Err("the body now normalizes to no events; kept as it is".to_owned());
            }
            BodyItems::Members(members) => members.into_iter().map(|(_, item)| item).collect(),
            BodyItems::Refused { item, .. } => vec![item],
        },
    };
    let id = view.event_id.as_str();
    let quarantined =
        |item: &Item| item.get(attr::EVENT_TYPE) == Some(&AttributeValue::S(INVALID.to_owned()));
    match items.as_slice() {
        [item] if event_id(item) == id => Ok(compare(old, item.clone())),
        [item] if quarantined(item) => Err(format!(
            "the quarantine id is now {}; not rewritten",
            event_id(item)
        )),
        _ if items.iter().any(|item| event_id(item) == id) => {
            Err("part of what it holds would be quarantined again under its id; kept".to_owned())
        }
        _ => Ok(Plan::Split { items }),
    }
}

/// Whether the normalizer that wrote `old` is this one or older; an item
/// without `normalizer` predates the attribute, so it is older.
fn not_newer_than_this(old: &StoredEvent) -> Result<(), String> {
    let Some(written) = old.normalizer.as_deref() else {
        return Ok(());
    };
    let this = normalize::VERSION;
    let Ok(this_version) = Version::parse(this) else {
        return Err(format!(
            "this normalizer's version {this:?} cannot be compared"
        ));
    };
    // SemVer precedence: numbers as numbers, a pre-release before its
    // release, build metadata ignored.
    match Version::parse(written) {
        Err(_) => Err(format!(
            "written by normalizer {written:?}, which is not a version; not rewritten"
        )),
        Ok(version) if version.cmp_precedence(&this_version).is_gt() => Err(format!(
            "written by normalizer {written}, newer than this one ({this}); not rewritten: \
             use a webhooks of version {written} or later"
        )),
        Ok(_) => Ok(()),
    }
}

/// The item as ingest would store it now, keeping the old item's TTL
/// (before `fit`, which weighs the whole item).
fn stored_form(event: &Event, old: &Item) -> Result<Item, usize> {
    let mut item = to_item(event, None);
    if let Some(expires) = old.get(attr::EXPIRES_AT) {
        item.insert(attr::EXPIRES_AT.to_owned(), expires.clone());
    }
    fit(item)
}

fn compare(old: &Item, new: Item) -> Plan {
    // The same event written by an older normalizer, or stored before items
    // named their normalizer, is not worth a write; nor is the same payload
    // stored in another encoding (plain before `fit` compressed what saves
    // a write unit).
    let same_content = || unstamped(&new) == unstamped(old);
    let same_payload = || match (with_decoded_raw(&new), with_decoded_raw(old)) {
        (Some(new), Some(old)) => new == old,
        _ => false,
    };
    if &new == old || same_content() || same_payload() {
        return Plan::Unchanged;
    }
    let event_type = |item: &Item| match item.get(attr::EVENT_TYPE) {
        Some(AttributeValue::S(t)) => t.clone(),
        _ => String::new(),
    };
    Plan::Rewrite {
        from: event_type(old),
        to: event_type(&new),
        changes: changes(old, &new),
        item: new,
    }
}

/// The item without the version of the normalizer that wrote it, nor
/// `attributes.holds` = `body` (what an item without it is read as).
fn unstamped(item: &Item) -> Item {
    let mut item = item.clone();
    item.remove(attr::NORMALIZER);
    if let Some(AttributeValue::M(attributes)) = item.get_mut(attr::ATTRIBUTES) {
        if attributes.get(inner::HOLDS) == Some(&AttributeValue::S(HOLDS_BODY.to_owned())) {
            attributes.remove(inner::HOLDS);
        }
    }
    item
}

/// The item with `raw` as the provider's bytes and no `raw_encoding` (nor
/// `normalizer`); `None` when the raw cannot be decoded.
fn with_decoded_raw(item: &Item) -> Option<Item> {
    let bytes = StoredEvent::try_from(item).ok()?.raw_bytes()?.ok()?;
    let mut item = unstamped(item);
    item.insert(
        attr::RAW.to_owned(),
        AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes)),
    );
    if let Some(AttributeValue::M(attributes)) = item.get_mut(attr::ATTRIBUTES) {
        attributes.remove(inner::RAW_ENCODING);
        if attributes.is_empty() {
            item.remove(attr::ATTRIBUTES);
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
            (Some(AttributeValue::M(a)), Some(AttributeValue::M(b)))
                if name == attr::ATTRIBUTES =>
            {
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
    use normalize::{normalize, quarantine};

    fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    }

    fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
        let attributes = item.get("attributes")?.as_m().ok()?;
        attributes.get(name)?.as_s().ok().map(String::as_str)
    }

    /// The plan with the default options.
    fn plan(old: &Item) -> Plan {
        super::plan(old, Options::default())
    }

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
    fn an_egoi_event_is_read_back_inside_its_envelope() {
        let body = r#"{"events":[{"action":"email_open","action_date":1717000000,"list_id":"7"}]}"#;
        let typed = stored(Provider::Egoi, body).remove(0);
        assert_eq!(plan(&typed), Plan::Unchanged);
        let Plan::Rewrite { item, .. } = plan(&as_unknown(typed.clone())) else {
            panic!("expected a rewrite");
        };
        assert_eq!(item, typed);
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
        assert_eq!(
            attr(&fitted, "raw_encoding"),
            Some(events_table::item::GZIP_BASE64)
        );
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
        assert_eq!(
            attr(&fitted, "raw_encoding"),
            Some(events_table::item::GZIP_BASE64)
        );
        assert_eq!(plan(&plain), Plan::Unchanged);
        assert_eq!(plan(&fitted), Plan::Unchanged);
    }

    /// The quarantine item the functions store for `bytes`.
    fn kept(provider: Provider, bytes: &[u8], reason: &str, holds: Holds) -> Item {
        intake(provider).quarantine(bytes, reason, holds).1
    }

    fn intake(provider: Provider) -> Intake {
        Intake {
            provider,
            received_at: at(),
            expiry: Expiry::Never,
        }
    }

    /// The items the functions store for `body`, in body order.
    fn delivered(provider: Provider, body: &str) -> Vec<Item> {
        let BodyItems::Members(members) = intake(provider).body(body.as_bytes(), MAX_EVENTS) else {
            panic!("not an envelope");
        };
        members.into_iter().map(|(_, item)| item).collect()
    }

    /// A quarantined member of each kind: GIVEN the item the functions
    /// stored for it, WHEN reprocessed with nothing changed THEN it stays
    /// as it is, its reason kept (it is read as a member at its place,
    /// never as a body of its own); and a member the normalizer now reads
    /// becomes the event its delivery would have stored.
    #[test]
    fn a_quarantined_member_is_reprocessed_as_a_member() {
        let good = r#"{"event":"purchase","order_id":"7","created_at":1674573849}"#;
        // Its url is copied into attributes: the event's item is over the
        // limit even compressed, the member alone is not.
        let noise: String = (0..250_000).map(|_| fastrand::alphanumeric()).collect();
        let large = format!(
            r#"{{"event":"email_automation_clicked","email":"a@example.com","link":"https://x.example/{noise}","timestamp":1674573849}}"#
        );
        let cases = [
            (
                "not an object",
                "42".to_owned(),
                "body[1] is a number, expected an event object",
            ),
            (
                "unreadable",
                r#"{"value":1e999}"#.to_owned(),
                "body[1] cannot be read: ",
            ),
            ("too large", large, "event is "),
        ];
        for (kind, member, reason) in cases {
            let body = format!("[{good},{member}]");
            let items = delivered(Provider::Flashy, &body);
            let item = &items[1];
            assert_eq!(s(item, "event_type"), Some(INVALID), "{kind}");
            assert_eq!(attr(item, "member"), Some("body[1]"), "{kind}");
            let stored_reason = attr(item, "reason").unwrap();
            assert!(stored_reason.starts_with(reason), "{kind}: {stored_reason}");
            assert_eq!(plan(item), Plan::Unchanged, "{kind}: keeps its reason");
        }
        // Kept by an older normalizer (or refused by DynamoDB), read now.
        let event = delivered(Provider::Flashy, &format!("[{good}]")).remove(0);
        for reason in [
            "body[1] is a number, expected an event object",
            "body[1] cannot be read: old parser",
            "event is 500000 bytes even with raw compressed",
            "DynamoDB refused the item: one or more parameter values were invalid",
        ] {
            let old = kept(
                Provider::Flashy,
                good.as_bytes(),
                reason,
                Holds::Member("body[1]".into()),
            );
            let Plan::Split { items } = plan(&old) else {
                panic!("{reason}: expected its event");
            };
            assert_eq!(items, std::slice::from_ref(&event), "{reason}");
        }
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
        let same = kept(Provider::Flashy, body, &reason, Holds::Body);
        assert_eq!(plan(&same), Plan::Unchanged);
        // Kept before quarantine items said what they hold: a body.
        let legacy = to_item(&quarantine(Provider::Flashy, body, &reason, at()), None);
        assert_eq!(plan(&legacy), Plan::Unchanged);
        let old = kept(Provider::Flashy, body, "old words", Holds::Body);
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
        let item = kept(Provider::Egoi, &body, &reason, Holds::Body);
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

    #[test]
    fn every_item_names_its_normalizer() {
        for item in stored(Provider::Flashy, OPENED) {
            assert_eq!(s(&item, "normalizer"), Some(normalize::VERSION));
        }
    }

    #[test]
    fn an_item_from_before_normalizer_was_stored_is_older_and_unchanged_alone() {
        for mut item in stored(Provider::Flashy, OPENED) {
            item.remove("normalizer");
            // Only the stamp differs: not worth a write.
            assert_eq!(plan(&item), Plan::Unchanged);
        }
        // With a real change the stamp comes along.
        let mut old = as_unknown(stored(Provider::Flashy, OPENED).remove(0));
        old.remove("normalizer");
        let Plan::Rewrite { item, changes, .. } = plan(&old) else {
            panic!("expected a rewrite");
        };
        assert_eq!(changes, ["+channel", "~event_type", "+normalizer"]);
        assert_eq!(s(&item, "normalizer"), Some(normalize::VERSION));
    }

    fn written_by(version: &str) -> Item {
        let mut item = as_unknown(stored(Provider::Flashy, OPENED).remove(0));
        item.insert("normalizer".into(), AttributeValue::S(version.into()));
        item
    }

    #[test]
    fn an_item_written_by_a_newer_normalizer_is_never_rewritten() {
        let this = Version::parse(normalize::VERSION).unwrap();
        for newer in ["999.0.0", "0.999.0", "0.1.999", "0.10.0"] {
            let newer_version = Version::parse(newer).unwrap();
            assert!(newer_version.cmp_precedence(&this).is_gt(), "{newer}");
            let item = written_by(newer);
            let Plan::Skip(reason) = plan(&item) else {
                panic!("{newer}: expected a skip");
            };
            assert!(
                reason.contains(&format!(
                    "written by normalizer {newer}, newer than this one"
                )),
                "{reason}"
            );
            let quarantined = to_item(
                &quarantine(Provider::Flashy, OPENED.as_bytes(), "old", at()),
                None,
            );
            let mut quarantined = quarantined;
            quarantined.insert("normalizer".into(), AttributeValue::S(newer.into()));
            assert!(
                matches!(plan(&quarantined), Plan::Skip(r) if r.contains("newer than this one"))
            );
        }
        for older in ["0.0.9", "0.1.0-rc.1", normalize::VERSION] {
            assert!(
                matches!(plan(&written_by(older)), Plan::Rewrite { .. }),
                "{older}"
            );
        }
        let Plan::Skip(reason) = plan(&written_by("latest")) else {
            panic!("expected a skip");
        };
        assert!(
            reason.contains("\"latest\", which is not a version"),
            "{reason}"
        );
    }

    #[test]
    fn a_typed_event_is_not_turned_into_unknown_unless_asked() {
        // What an item looks like when this normalizer maps the event to
        // `unknown` but an item says otherwise (a mapping rolled back).
        let unknown =
            r#"[{"event":"brand_new_thing","email":"u@example.com","created_at":1714568400}]"#;
        let mut typed = stored(Provider::Flashy, unknown).remove(0);
        assert_eq!(s(&typed, "event_type"), Some("unknown"));
        typed.insert(
            "event_type".into(),
            AttributeValue::S("email.opened".into()),
        );
        typed.insert("channel".into(), AttributeValue::S("email".into()));
        let Plan::Skip(reason) = plan(&typed) else {
            panic!("expected a skip");
        };
        assert!(
            reason.contains("reads it as unknown, not email.opened"),
            "{reason}"
        );
        assert!(reason.contains("--allow-downgrade"), "{reason}");
        let allowed = super::plan(
            &typed,
            Options {
                allow_downgrade: true,
            },
        );
        let Plan::Rewrite { from, to, .. } = allowed else {
            panic!("expected a rewrite");
        };
        assert_eq!((from.as_str(), to.as_str()), ("email.opened", "unknown"));
    }

    #[test]
    fn a_quarantine_item_kept_only_in_part_is_skipped() {
        let body = format!(r#"[{{"event":"purchase","note":"{}"}}]"#, "x".repeat(100));
        let mut item = to_item(
            &quarantine(Provider::Flashy, &body.as_bytes()[..40], "too large", at()),
            None,
        );
        let Some(AttributeValue::M(attributes)) = item.get_mut("attributes") else {
            panic!("attributes");
        };
        attributes.insert("truncated".into(), AttributeValue::Bool(true));
        attributes.insert(
            "original_bytes".into(),
            AttributeValue::N(body.len().to_string()),
        );
        attributes.insert("sha256".into(), AttributeValue::S("ab".repeat(32)));
        let Plan::Skip(reason) = plan(&item) else {
            panic!("expected a skip");
        };
        assert!(
            reason.starts_with(&format!(
                "quarantined only in part (truncated: {} bytes in full, sha256 abab",
                body.len()
            )),
            "{reason}"
        );
        assert!(reason.ends_with("cannot be re-normalized"), "{reason}");
    }
}
