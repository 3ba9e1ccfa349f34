//! The stored item of docs/design.md ("The stored item"), built from a
//! canonical event. Attributes with no value are omitted.

use crate::attr::{self, inner};
use crate::stored::StoredEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use normalize::Event;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read as _;

pub type Item = HashMap<String, AttributeValue>;

pub const SCHEMA_VERSION: &str = "1";
/// The table's indexes (infra/template.yaml): both sort on `occurred_at`.
/// `by_day` is keyed by `day_key`, `by_contact` by `contact_key`, both
/// formed by `normalize::keys`.
pub const BY_DAY: &str = "by_day";
pub const BY_CONTACT: &str = "by_contact";
/// DynamoDB's item limit is 400 KB (409,600 bytes); 400,000 leaves a margin
/// for the size estimate below.
pub const MAX_ITEM_BYTES: usize = 400_000;
/// `attributes.raw_encoding` of an item whose `raw` was compressed to fit:
/// base64-decode, then gunzip, gives the bytes the provider sent.
pub const GZIP_BASE64: &str = "gzip+base64";
/// `attributes.raw_encoding` of a quarantined body that was not UTF-8.
pub const BASE64: &str = "base64";
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

pub fn to_item(event: &Event, retention_days: Option<u32>) -> Item {
    into_item(event.clone(), retention_days)
}

/// [`to_item`] for an event that is no longer needed: its strings move into
/// the item instead of being copied (the request path).
pub fn into_item(event: Event, retention_days: Option<u32>) -> Item {
    Item::from(stored_event(event, retention_days))
}

/// The stored form of `event`, stamped with this normalizer's version and
/// the schema version, expiring `retention_days` after receipt.
pub fn stored_event(event: Event, retention_days: Option<u32>) -> StoredEvent {
    let expires_at = retention_days.map(|days| {
        let expires = event.received_at.unix_seconds() + i64::from(days) * SECONDS_PER_DAY;
        expires.to_string()
    });
    let attributes = event
        .attributes
        .into_iter()
        .filter_map(|(k, v)| attribute_value(v).map(|v| (k, v)))
        .collect();
    StoredEvent {
        event_id: event.event_id,
        provider: Some(event.provider.as_str().to_owned()),
        event_type: Some(event.event_type.as_str().to_owned()),
        provider_event: event.provider_event,
        normalizer: Some(normalize::VERSION.to_owned()),
        occurred_at: Some(event.occurred_at.text()),
        occurred_at_source: Some(event.occurred_at_source.as_str().to_owned()),
        received_at: Some(event.received_at.text()),
        channel: event.channel.map(|c| c.as_str().to_owned()),
        email: event.email,
        phone: event.phone,
        contact_id: event.contact_id,
        account_id: event.account_id,
        campaign_id: event.campaign_id,
        message_id: event.message_id,
        automation_id: event.automation_id,
        list_id: event.list_id,
        contact_key: event.contact_key,
        day_key: Some(event.day_key),
        raw: Some(event.raw),
        attributes,
        schema_version: Some(SCHEMA_VERSION.to_owned()),
        expires_at,
    }
}

/// The bytes the provider sent, from an item's `raw` and its
/// `attributes.raw_encoding` (absent: `raw` is the text), or why they cannot
/// be recovered.
pub fn decode_raw(raw: &str, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let b64 = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("raw is not valid base64: {e}"))
    };
    match encoding {
        None => Ok(raw.as_bytes().to_vec()),
        Some(BASE64) => b64(raw),
        Some(GZIP_BASE64) => {
            let compressed = b64(raw)?;
            let mut out = Vec::with_capacity(compressed.len() * 4);
            flate2::read::GzDecoder::new(&compressed[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("raw is not valid gzip: {e}"))?;
            Ok(out)
        }
        Some(other) => Err(format!("unknown raw_encoding {other:?}")),
    }
}

/// DynamoDB bills a write by the item's size: one write request unit per
/// started kilobyte.
pub fn write_units(size: usize) -> usize {
    size.div_ceil(KB).max(1)
}

const KB: usize = 1024;

/// The item as it is stored: `raw` as sent, unless gzip+base64 makes the
/// item cheaper to write (fewer started kilobytes) or is what lets it fit
/// within [`MAX_ITEM_BYTES`]; then `raw` is compressed and
/// `attributes.raw_encoding` is [`GZIP_BASE64`]. Nothing is ever truncated:
/// `Err` carries the size when the item cannot fit either way.
pub fn fit(mut item: Item) -> Result<Item, usize> {
    let size = item_size(&item);
    if size <= MAX_ITEM_BYTES && !worth_compressing(&item, size) {
        return Ok(item);
    }
    // Only `raw` is compressed here; the item itself is changed (never
    // copied) once the compressed form is chosen, its size worked out from
    // the parts that change.
    let size_with = |packed: &Option<String>| {
        packed
            .as_deref()
            .map_or(usize::MAX, |packed| compressed_size(&item, size, packed))
    };
    let mut packed = packed_raw(&item, Compression::fast());
    let mut compressed_size = size_with(&packed);
    let fits = |bytes| bytes <= MAX_ITEM_BYTES;
    if !fits(size) && !fits(compressed_size) && compressed_size <= MAX_ITEM_BYTES / 4 * 5 {
        // Squeezing under the limit is worth the slowest, best compression,
        // when it is near enough to save: best rarely beats fast by a
        // quarter, and on a large body it costs a noticeable part of the
        // answer's time on a small Lambda.
        packed = packed_raw(&item, Compression::best());
        compressed_size = size_with(&packed);
    }
    let cheaper = write_units(compressed_size) < write_units(size);
    match packed {
        Some(packed) if fits(compressed_size) && (cheaper || !fits(size)) => {
            use_packed_raw(&mut item, packed);
            Ok(item)
        }
        _ if fits(size) => Ok(item),
        _ => Err(size.min(compressed_size)),
    }
}

/// Whether compressing `raw` could save a write unit. gzip+base64 of a JSON
/// event of a few KB is rarely under half its size (about 60% at best in the
/// fixtures), so an item that would need more than that is not tried: a
/// wrong guess only costs the unit compression might have saved.
fn worth_compressing(item: &Item, size: usize) -> bool {
    let Some(AttributeValue::S(raw)) = item.get(attr::RAW) else {
        return false;
    };
    // What `raw_encoding` adds to the item at most: an `attributes` map (3
    // bytes of overhead), one entry in it (1 byte), its name and value.
    const ENCODING_BYTES: usize =
        attr::ATTRIBUTES.len() + 4 + inner::RAW_ENCODING.len() + GZIP_BASE64.len();
    let must_save = size - (write_units(size) - 1) * KB + ENCODING_BYTES;
    size > KB && must_save <= raw.len() / 2
}

/// `raw` gzip-compressed and base64-encoded; `None` when the item has no
/// `raw` (or, in theory, compressing fails).
fn packed_raw(item: &Item, level: Compression) -> Option<String> {
    let AttributeValue::S(raw) = item.get(attr::RAW)? else {
        return None;
    };
    // A quarantined body that was not UTF-8 is already base64: compress
    // the bytes it stands for, so the encoding means the same everywhere.
    match raw_encoding(item) {
        Some(AttributeValue::S(e)) if e == BASE64 => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(raw);
            gzip_base64(bytes.as_deref().unwrap_or(raw.as_bytes()), level)
        }
        _ => gzip_base64(raw.as_bytes(), level),
    }
}

fn raw_encoding(item: &Item) -> Option<&AttributeValue> {
    match item.get(attr::ATTRIBUTES) {
        Some(AttributeValue::M(map)) => map.get(inner::RAW_ENCODING),
        _ => None,
    }
}

/// The `item_size` that `item` (of `size`, with a `raw`) would have with
/// [`use_packed_raw`]`(packed)`: `raw` replaced, and `attributes` holding
/// `raw_encoding` (a new map when it held none).
fn compressed_size(item: &Item, size: usize, packed: &str) -> usize {
    const NAME: usize = attr::ATTRIBUTES.len();
    const ENCODING: usize = 1 + inner::RAW_ENCODING.len() + GZIP_BASE64.len();
    let raw = item.get(attr::RAW).map_or(0, value_size);
    let (old_attributes, new_attributes) = match item.get(attr::ATTRIBUTES) {
        Some(attributes @ AttributeValue::M(map)) => {
            let kept = value_size(attributes)
                - map
                    .get(inner::RAW_ENCODING)
                    .map_or(0, |e| 1 + inner::RAW_ENCODING.len() + value_size(e));
            (NAME + value_size(attributes), NAME + kept + ENCODING)
        }
        Some(other) => (NAME + value_size(other), NAME + 3 + ENCODING),
        None => (0, NAME + 3 + ENCODING),
    };
    size - raw - old_attributes + packed.len() + new_attributes
}

/// Stores `packed` (from [`packed_raw`]) as `raw`, noted in
/// `attributes.raw_encoding`; every other attribute stays as it was.
fn use_packed_raw(item: &mut Item, packed: String) {
    let encoding = AttributeValue::S(GZIP_BASE64.to_owned());
    match item.get_mut(attr::ATTRIBUTES) {
        Some(AttributeValue::M(map)) => {
            map.insert(inner::RAW_ENCODING.to_owned(), encoding);
        }
        _ => {
            let map = HashMap::from([(inner::RAW_ENCODING.to_owned(), encoding)]);
            item.insert(attr::ATTRIBUTES.to_owned(), AttributeValue::M(map));
        }
    }
    item.insert(attr::RAW.to_owned(), AttributeValue::S(packed));
}

/// gzip (RFC 1952) of `bytes`, base64-encoded. At the fast level the
/// deflate state (about 300 KB) is kept per thread and reset between uses:
/// allocating it afresh cost more than compressing a 2 KB event.
fn gzip_base64(bytes: &[u8], level: Compression) -> Option<String> {
    thread_local! {
        static FAST: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
    }
    // Header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    let mut gzip = Vec::with_capacity(bytes.len() / 2 + 64);
    gzip.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    if level == Compression::fast() {
        FAST.with_borrow_mut(|fast| {
            fast.reset();
            deflate(fast, bytes, &mut gzip)
        })?;
    } else {
        deflate(&mut Compress::new(level, false), bytes, &mut gzip)?;
    }
    let mut crc = Crc::new();
    crc.update(bytes);
    gzip.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE: the input length modulo 2^32.
    gzip.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(gzip))
}

/// Appends the raw deflate stream of `bytes` to `out`.
fn deflate(compress: &mut Compress, bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
    loop {
        out.reserve(bytes.len() / 2 + 64);
        let read = usize::try_from(compress.total_in()).ok()?;
        let rest = bytes.get(read..)?;
        if compress
            .compress_vec(rest, out, FlushCompress::Finish)
            .ok()?
            == Status::StreamEnd
        {
            return Some(());
        }
    }
}

/// JSON to DynamoDB: strings S, numbers N, booleans BOOL, arrays L, objects
/// M; nulls and empty strings are left out.
fn attribute_value(value: Value) -> Option<AttributeValue> {
    Some(match value {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => AttributeValue::S(s),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Array(items) => {
            AttributeValue::L(items.into_iter().filter_map(attribute_value).collect())
        }
        Value::Object(map) => AttributeValue::M(
            map.into_iter()
                .filter_map(|(k, v)| attribute_value(v).map(|v| (k, v)))
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
    use normalize::normalize;
    use normalize::{Provider, Timestamp};

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

    fn gunzip(raw: &str) -> Vec<u8> {
        use std::io::Read as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn small_items_are_stored_as_they_are() {
        let item = to_item(&event(r#"[{"event":"contact_created"}]"#), None);
        assert_eq!(fit(item.clone()), Ok(item));
    }

    #[test]
    fn raw_is_compressed_when_that_saves_a_write_unit() {
        let note = "the same words again and again, ".repeat(40);
        let body = format!(r#"[{{"event":"contact_created","note":"{note}"}}]"#);
        let item = to_item(&event(&body), None);
        assert_eq!(write_units(item_size(&item)), 2);
        let fitted = fit(item.clone()).unwrap();
        assert_eq!(write_units(item_size(&fitted)), 1);
        let attributes = fitted["attributes"].as_m().unwrap();
        assert_eq!(attributes["raw_encoding"].as_s().unwrap(), GZIP_BASE64);
        assert_eq!(
            gunzip(fitted["raw"].as_s().unwrap()),
            item["raw"].as_s().unwrap().as_bytes()
        );
    }

    #[test]
    fn the_reused_compressor_starts_afresh_each_time() {
        let first = "alpha beta gamma delta ".repeat(100);
        let second = r#"{"another":"payload","with":[1,2,3]}"#.repeat(40);
        for text in [&first, &second, &first] {
            let packed = gzip_base64(text.as_bytes(), Compression::fast()).unwrap();
            assert_eq!(gunzip(&packed), text.as_bytes());
        }
    }

    #[test]
    fn raw_stays_as_sent_when_compressing_saves_nothing() {
        // Over a kilobyte, and gzip+base64 of noise is no smaller.
        let noise: String = (0..1_100).map(|_| fastrand::alphanumeric()).collect();
        let body = format!(r#"[{{"event":"contact_created","note":"{noise}"}}]"#);
        let item = to_item(&event(&body), None);
        assert!(item_size(&item) > 1024);
        assert_eq!(fit(item.clone()), Ok(item));
    }

    /// What `fit` and `Intake::quarantine` write, `decode_raw` reads back: as text,
    /// compressed, and a body that is not UTF-8, compressed or not.
    #[test]
    fn every_encoding_written_reads_back_as_the_bytes_sent() {
        let decode = |item: &Item| {
            let raw = item["raw"].as_s().unwrap();
            let encoding = item
                .get("attributes")
                .and_then(|a| a.as_m().ok())
                .and_then(|a| a.get("raw_encoding"))
                .and_then(|e| e.as_s().ok());
            decode_raw(raw, encoding.map(String::as_str)).unwrap()
        };
        let small = r#"[{"event":"contact_created"}]"#;
        let repeated = format!(
            r#"[{{"event":"contact_created","note":"{}"}}]"#,
            "again and again ".repeat(100)
        );
        for body in [small, repeated.as_str()] {
            let item = fit(to_item(&event(body), None)).unwrap();
            assert_eq!(decode(&item), &body.as_bytes()[1..body.len() - 1]);
        }
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let binary: Vec<u8> = (0..3_000u32).map(|i| (i % 5) as u8 | 0x80).collect();
        let intake = crate::intake::Intake {
            provider: Provider::Egoi,
            received_at: at,
            expiry: crate::intake::Expiry::Never,
        };
        let body = crate::intake::Holds::Body;
        let (entry, kept) = intake.quarantine(&binary, "not UTF-8", body.clone());
        assert_eq!(entry.kind, crate::intake::Kind::Quarantined);
        assert_eq!(decode(&kept), binary);
        let (_, small_kept) = intake.quarantine(&binary[..10], "not UTF-8", body);
        assert_eq!(decode(&small_kept), &binary[..10]);
        assert!(decode_raw("x", Some("rot13")).is_err());
        assert!(decode_raw("!!", Some(BASE64)).is_err());
    }

    #[test]
    fn write_units_count_started_kilobytes() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
    }

    #[test]
    fn a_large_raw_is_compressed_not_truncated() {
        let text = "lorem ipsum dolor sit amet ".repeat(20_000);
        let body = format!(r#"[{{"event":"contact_created","note":"{text}"}}]"#);
        let item = to_item(&event(&body), None);
        assert!(item_size(&item) > MAX_ITEM_BYTES);
        let fitted = fit(item.clone()).expect("compressible");
        assert!(item_size(&fitted) <= MAX_ITEM_BYTES);
        let attributes = fitted["attributes"].as_m().unwrap();
        assert_eq!(attributes["raw_encoding"].as_s().unwrap(), GZIP_BASE64);
        assert_eq!(
            gunzip(fitted["raw"].as_s().unwrap()),
            item["raw"].as_s().unwrap().as_bytes()
        );
        // Everything but raw and its encoding is unchanged.
        for (name, value) in &item {
            if name != "raw" && name != "attributes" {
                assert_eq!(&fitted[name], value, "{name}");
            }
        }
    }

    #[test]
    fn a_quarantined_binary_body_is_compressed_from_its_bytes() {
        let body: Vec<u8> = (0..600_000u32).map(|i| (i % 7) as u8 | 0x80).collect();
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let kept = normalize::quarantine(Provider::Egoi, &body, "not UTF-8", at);
        let fitted = fit(to_item(&kept, None)).expect("compressible");
        assert_eq!(gunzip(fitted["raw"].as_s().unwrap()), body);
    }

    #[test]
    fn incompressible_and_too_large_is_refused_with_its_size() {
        let noise: String = (0..500_000).map(|_| fastrand::alphanumeric()).collect();
        let body = format!(r#"[{{"event":"contact_created","note":"{noise}"}}]"#);
        let size = fit(to_item(&event(&body), None)).unwrap_err();
        assert!(size > MAX_ITEM_BYTES);
    }

    /// `fit` as it was before it changed the item in place: a whole copy
    /// with `raw` compressed, its size counted afresh.
    fn fit_by_copy(item: Item) -> Result<Item, usize> {
        let copy = |item: &Item, level| {
            let packed = packed_raw(item, level)?;
            let mut attributes = match item.get("attributes") {
                Some(AttributeValue::M(map)) => map.clone(),
                _ => HashMap::new(),
            };
            attributes.insert(
                "raw_encoding".to_owned(),
                AttributeValue::S(GZIP_BASE64.to_owned()),
            );
            let mut copy: Item = item
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "raw" | "attributes"))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            copy.insert("attributes".to_owned(), AttributeValue::M(attributes));
            copy.insert("raw".to_owned(), AttributeValue::S(packed));
            Some(copy)
        };
        let size = item_size(&item);
        if size <= MAX_ITEM_BYTES && !worth_compressing(&item, size) {
            return Ok(item);
        }
        let mut compressed = copy(&item, Compression::fast());
        let mut compressed_size = compressed.as_ref().map_or(usize::MAX, item_size);
        let fits = |bytes| bytes <= MAX_ITEM_BYTES;
        if !fits(size) && !fits(compressed_size) && compressed_size <= MAX_ITEM_BYTES / 4 * 5 {
            compressed = copy(&item, Compression::best());
            compressed_size = compressed.as_ref().map_or(usize::MAX, item_size);
        }
        let cheaper = write_units(compressed_size) < write_units(size);
        match compressed {
            Some(compressed) if fits(compressed_size) && (cheaper || !fits(size)) => Ok(compressed),
            _ if fits(size) => Ok(item),
            _ => Err(size.min(compressed_size)),
        }
    }

    /// Every fixture event, and items with and without attributes, with a
    /// base64 `raw`, too large: the same as a copy would give, and the size
    /// worked out for the compressed item is the size counted.
    #[test]
    fn fitting_in_place_gives_what_a_copy_gave() {
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let mut items = Vec::new();
        for provider in Provider::ALL {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../normalize/tests/fixtures")
                .join(provider.as_str());
            for file in std::fs::read_dir(dir).unwrap() {
                let body = std::fs::read(file.unwrap().path()).unwrap();
                for event in normalize(provider, &body, at).unwrap_or_default() {
                    items.push(to_item(&event, Some(30)));
                }
            }
        }
        let note = "the same words again and again, ".repeat(40);
        let body = format!(r#"[{{"event":"contact_created","note":"{note}"}}]"#);
        items.push(to_item(&event(&body), None));
        let body = format!(r#"[{{"event":"page_view","page_url":"{note}"}}]"#);
        items.push(to_item(&event(&body), None));
        let large = "lorem ipsum dolor sit amet ".repeat(20_000);
        let body = format!(r#"[{{"event":"contact_created","note":"{large}"}}]"#);
        items.push(to_item(&event(&body), None));
        let binary: Vec<u8> = (0..3_000u32).map(|i| (i % 5) as u8 | 0x80).collect();
        items.push(to_item(
            &normalize::quarantine(Provider::Egoi, &binary, "not UTF-8", at),
            None,
        ));
        let mut no_attributes = to_item(&event(&body), None);
        no_attributes.remove("attributes");
        items.push(no_attributes);
        let mut odd_attributes = to_item(&event(&body), None);
        odd_attributes.insert("attributes".into(), AttributeValue::S("odd".into()));
        items.push(odd_attributes);
        let mut compressed = 0;
        for item in items {
            if let Some(packed) = packed_raw(&item, Compression::fast()) {
                let mut changed = item.clone();
                use_packed_raw(&mut changed, packed.clone());
                let size = item_size(&item);
                assert_eq!(compressed_size(&item, size, &packed), item_size(&changed));
            }
            let fitted = fit(item.clone());
            compressed += usize::from(fitted.as_ref().is_ok_and(|f| f["raw"] != item["raw"]));
            assert_eq!(fitted, fit_by_copy(item));
        }
        assert!(compressed > 10, "{compressed}");
    }

    #[test]
    fn size_counts_names_and_values() {
        let mut item = Item::new();
        item.insert("raw".into(), AttributeValue::S("x".repeat(100)));
        item.insert("n".into(), AttributeValue::N("12345".into()));
        assert_eq!(item_size(&item), 3 + 100 + 1 + 4);
    }
}
