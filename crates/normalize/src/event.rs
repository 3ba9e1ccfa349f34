use crate::envelope::EventObject;
use crate::fields::pruned;
use crate::json::Object;
use crate::{keys, Channel, EventType, Provider, Timestamp};
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One canonical event: the stored item of docs/design.md, schema_version 1.
/// Optional attributes are `None` rather than empty strings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub event_id: String,
    pub provider: Provider,
    pub event_type: EventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_event: Option<String>,
    pub occurred_at: Timestamp,
    pub occurred_at_source: TimeSource,
    pub received_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// Type-specific details (`url`, `bounce_type`, `order_id`, `value`,
    /// `currency`, `reason`, ...). Values are mostly strings; parts copied
    /// from the provider (`utm`, `old`, `details`, `content_ids`, ...) may be
    /// booleans, numbers, lists or maps. Nulls, empty strings and empty keys
    /// are left out at every depth; parts nested deeper than 8 levels, and
    /// numbers DynamoDB cannot store (beyond 1e±125), are kept as text.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_key: Option<String>,
    pub day_key: String,
    /// The provider's original JSON of this one event.
    pub raw: String,
}

/// Where `occurred_at` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeSource {
    Provider,
    Received,
}

impl TimeSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeSource::Provider => "provider",
            TimeSource::Received => "received",
        }
    }
}

/// What a provider module reads out of one event object; `finish` adds the
/// parts every provider shares (id, times, keys, raw).
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub event_type: EventType,
    pub provider_event: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub channel: Option<Channel>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub contact_id: Option<String>,
    pub account_id: Option<String>,
    pub campaign_id: Option<String>,
    pub message_id: Option<String>,
    pub automation_id: Option<String>,
    pub list_id: Option<String>,
    pub attributes: BTreeMap<String, Value>,
}

impl Draft {
    /// A draft of the given canonical type; the channel follows the type's
    /// prefix (`email.opened` → email) unless the provider says otherwise.
    pub fn new(event_type: EventType, provider_event: Option<String>) -> Self {
        Draft {
            event_type,
            provider_event,
            channel: Channel::of_type(event_type),
            ..Draft::default()
        }
    }

    /// Sets an attribute unless the value is absent, null or empty.
    pub fn attr(&mut self, key: &str, value: Option<impl Into<Value>>) {
        if let Some(value) = value.and_then(|v| pruned(v.into())) {
            self.attributes.insert(key.to_owned(), value);
        }
    }

    pub fn finish(
        self,
        provider: Provider,
        item: &EventObject<'_>,
        received_at: Timestamp,
    ) -> Event {
        let (occurred_at, occurred_at_source) = match self.occurred_at {
            Some(at) => (at, TimeSource::Provider),
            None => (received_at, TimeSource::Received),
        };
        let contact_key = contact_key(provider, &self.email, &self.contact_id, &self.phone);
        Event {
            event_id: event_id(provider, &item.fields, item.raw.len()),
            provider,
            event_type: self.event_type,
            provider_event: self.provider_event,
            occurred_at,
            occurred_at_source,
            received_at,
            channel: self.channel,
            email: self.email,
            phone: self.phone,
            contact_id: self.contact_id,
            account_id: self.account_id,
            campaign_id: self.campaign_id,
            message_id: self.message_id,
            automation_id: self.automation_id,
            list_id: self.list_id,
            attributes: self.attributes,
            contact_key,
            day_key: day_key(provider, occurred_at),
            raw: item.raw.to_owned(),
        }
    }
}

fn contact_key(
    provider: Provider,
    email: &Option<String>,
    contact_id: &Option<String>,
    phone: &Option<String>,
) -> Option<String> {
    if let Some(email) = email {
        Some(keys::email_key(email))
    } else if let Some(id) = contact_id {
        Some(keys::contact_id_key(provider, id))
    } else {
        phone.as_deref().map(keys::phone_key)
    }
}

fn day_key(provider: Provider, at: Timestamp) -> String {
    keys::day_key(
        provider,
        std::str::from_utf8(&at.ascii()[..10]).unwrap_or_default(),
    )
}

/// SHA-256 (hex) of the provider and the canonical JSON of the event
/// object (keys sorted, no whitespace, one text per number value), so a
/// redelivered event gets the same id whatever the key order, spacing,
/// escapes or number spellings of the redelivery.
fn event_id(provider: Provider, fields: &Object, raw_len: usize) -> String {
    // The canonical text is about as long as the raw one: one buffer, one
    // hash call.
    let mut canonical = Vec::with_capacity(raw_len + 16);
    canonical.extend_from_slice(provider.as_str().as_bytes());
    canonical.push(b'\n');
    fields.write_canonical(&mut canonical);
    hex(&Sha256::digest(&canonical))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Bytes first, one String at the end: pushing chars checked capacity
    // and encoded UTF-8 for each digit.
    let digits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .collect();
    // Only ASCII hex digits were written.
    String::from_utf8(digits).unwrap_or_default()
}

/// The id of the `invalid` item that keeps `bytes`: the same for the same
/// bytes, whether the item holds them whole or in part.
fn quarantine_id(provider: Provider, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"invalid\n");
    hasher.update(provider.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(bytes);
    hex(&hasher.finalize())
}

/// The item kept for a body (or a member of one) that could not be
/// understood: nothing is lost, the raw bytes are stored with the reason,
/// and a redelivery of the same bytes maps to the same id.
pub fn quarantine(provider: Provider, body: &[u8], reason: &str, received_at: Timestamp) -> Event {
    let mut attributes = BTreeMap::new();
    attributes.insert("reason".to_owned(), Value::String(reason.to_owned()));
    let raw = raw_text(body, &mut attributes);
    invalid(
        provider,
        quarantine_id(provider, body),
        raw,
        attributes,
        received_at,
    )
}

/// [`quarantine`] for bytes too large to keep whole: the same id, only
/// their first `keep` bytes (cut back to a whole UTF-8 character when they
/// are text) as `raw`, and `attributes.truncated`, `original_bytes` and
/// `sha256` (of all of them), so the loss is visible and the original
/// recognisable.
pub fn quarantine_part(
    provider: Provider,
    bytes: &[u8],
    reason: &str,
    received_at: Timestamp,
    keep: usize,
) -> Event {
    let mut attributes = BTreeMap::new();
    attributes.insert("reason".to_owned(), Value::String(reason.to_owned()));
    attributes.insert("truncated".to_owned(), Value::Bool(true));
    attributes.insert("original_bytes".to_owned(), Value::from(bytes.len()));
    attributes.insert(
        "sha256".to_owned(),
        Value::String(hex(&Sha256::digest(bytes))),
    );
    let mut end = keep.min(bytes.len());
    if let Err(e) = std::str::from_utf8(&bytes[..end]) {
        // Text cut inside a character: end before it. Not text: keep as is.
        if e.error_len().is_none() {
            end = e.valid_up_to();
        }
    }
    let raw = raw_text(&bytes[..end], &mut attributes);
    invalid(
        provider,
        quarantine_id(provider, bytes),
        raw,
        attributes,
        received_at,
    )
}

/// `bytes` as the `raw` attribute: the text itself, or base64 (noted in
/// `raw_encoding`) when it is not UTF-8.
fn raw_text(bytes: &[u8], attributes: &mut BTreeMap<String, Value>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            attributes.insert(
                "raw_encoding".to_owned(),
                Value::String("base64".to_owned()),
            );
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
    }
}

fn invalid(
    provider: Provider,
    event_id: String,
    raw: String,
    attributes: BTreeMap<String, Value>,
    received_at: Timestamp,
) -> Event {
    Event {
        event_id,
        provider,
        event_type: EventType::Invalid,
        provider_event: None,
        occurred_at: received_at,
        occurred_at_source: TimeSource::Received,
        received_at,
        channel: None,
        email: None,
        phone: None,
        contact_id: None,
        account_id: None,
        campaign_id: None,
        message_id: None,
        automation_id: None,
        list_id: None,
        attributes,
        contact_key: None,
        day_key: day_key(provider, received_at),
        raw,
    }
}
