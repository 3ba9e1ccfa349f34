//! A stored item as a type: what [`crate::item`] writes and every reader
//! reads, each attribute by name once. Items read from an index or with a
//! projection carry only some attributes, so all but `event_id` may be
//! absent; an attribute of the wrong DynamoDB type is an error that names
//! it.

use crate::attr::{self, inner};
use crate::item::{decode_raw, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use thiserror::Error;

/// The attributes of one item of the events table (docs/storage.md).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredEvent {
    pub event_id: String,
    pub provider: Option<String>,
    pub event_type: Option<String>,
    pub provider_event: Option<String>,
    pub normalizer: Option<String>,
    pub occurred_at: Option<String>,
    pub occurred_at_source: Option<String>,
    pub received_at: Option<String>,
    pub channel: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub contact_id: Option<String>,
    pub account_id: Option<String>,
    pub campaign_id: Option<String>,
    pub message_id: Option<String>,
    pub automation_id: Option<String>,
    pub list_id: Option<String>,
    pub contact_key: Option<String>,
    pub day_key: Option<String>,
    pub raw: Option<String>,
    /// Type-specific details; empty when the item has none.
    pub attributes: HashMap<String, AttributeValue>,
    /// A number, as DynamoDB's text of it.
    pub schema_version: Option<String>,
    /// The TTL (unix seconds), as DynamoDB's text of it.
    pub expires_at: Option<String>,
}

/// Why an item cannot be read as a [`StoredEvent`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed item: attribute {attribute} {problem}")]
pub struct MalformedItem {
    pub attribute: &'static str,
    pub problem: &'static str,
}

/// What an item quarantined only in part says of the whole it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    pub original_bytes: Option<u64>,
    pub sha256: Option<String>,
}

impl TryFrom<&Item> for StoredEvent {
    type Error = MalformedItem;

    fn try_from(item: &Item) -> Result<Self, MalformedItem> {
        let s = |name: &'static str| match item.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
            Some(_) => Err(MalformedItem {
                attribute: name,
                problem: "is not a string (S)",
            }),
        };
        let n = |name: &'static str| match item.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => Ok(Some(value.clone())),
            Some(_) => Err(MalformedItem {
                attribute: name,
                problem: "is not a number (N)",
            }),
        };
        let attributes = match item.get(attr::ATTRIBUTES) {
            None => HashMap::new(),
            Some(AttributeValue::M(map)) => map.clone(),
            Some(_) => {
                return Err(MalformedItem {
                    attribute: attr::ATTRIBUTES,
                    problem: "is not a map (M)",
                })
            }
        };
        Ok(StoredEvent {
            event_id: s(attr::EVENT_ID)?.ok_or(MalformedItem {
                attribute: attr::EVENT_ID,
                problem: "is missing",
            })?,
            provider: s(attr::PROVIDER)?,
            event_type: s(attr::EVENT_TYPE)?,
            provider_event: s(attr::PROVIDER_EVENT)?,
            normalizer: s(attr::NORMALIZER)?,
            occurred_at: s(attr::OCCURRED_AT)?,
            occurred_at_source: s(attr::OCCURRED_AT_SOURCE)?,
            received_at: s(attr::RECEIVED_AT)?,
            channel: s(attr::CHANNEL)?,
            email: s(attr::EMAIL)?,
            phone: s(attr::PHONE)?,
            contact_id: s(attr::CONTACT_ID)?,
            account_id: s(attr::ACCOUNT_ID)?,
            campaign_id: s(attr::CAMPAIGN_ID)?,
            message_id: s(attr::MESSAGE_ID)?,
            automation_id: s(attr::AUTOMATION_ID)?,
            list_id: s(attr::LIST_ID)?,
            contact_key: s(attr::CONTACT_KEY)?,
            day_key: s(attr::DAY_KEY)?,
            raw: s(attr::RAW)?,
            attributes,
            schema_version: n(attr::SCHEMA_VERSION)?,
            expires_at: n(attr::EXPIRES_AT)?,
        })
    }
}

impl From<StoredEvent> for Item {
    /// The item to write: absent attributes are left out, and so is an
    /// empty `attributes` map.
    fn from(event: StoredEvent) -> Item {
        let mut item = Item::with_capacity(24);
        let strings = [
            (attr::EVENT_ID, Some(event.event_id)),
            (attr::PROVIDER, event.provider),
            (attr::EVENT_TYPE, event.event_type),
            (attr::PROVIDER_EVENT, event.provider_event),
            (attr::NORMALIZER, event.normalizer),
            (attr::OCCURRED_AT, event.occurred_at),
            (attr::OCCURRED_AT_SOURCE, event.occurred_at_source),
            (attr::RECEIVED_AT, event.received_at),
            (attr::CHANNEL, event.channel),
            (attr::EMAIL, event.email),
            (attr::PHONE, event.phone),
            (attr::CONTACT_ID, event.contact_id),
            (attr::ACCOUNT_ID, event.account_id),
            (attr::CAMPAIGN_ID, event.campaign_id),
            (attr::MESSAGE_ID, event.message_id),
            (attr::AUTOMATION_ID, event.automation_id),
            (attr::LIST_ID, event.list_id),
            (attr::CONTACT_KEY, event.contact_key),
            (attr::DAY_KEY, event.day_key),
            (attr::RAW, event.raw),
        ];
        for (name, value) in strings {
            if let Some(value) = value {
                item.insert(name.to_owned(), AttributeValue::S(value));
            }
        }
        let numbers = [
            (attr::SCHEMA_VERSION, event.schema_version),
            (attr::EXPIRES_AT, event.expires_at),
        ];
        for (name, value) in numbers {
            if let Some(value) = value {
                item.insert(name.to_owned(), AttributeValue::N(value));
            }
        }
        if !event.attributes.is_empty() {
            item.insert(
                attr::ATTRIBUTES.to_owned(),
                AttributeValue::M(event.attributes),
            );
        }
        item
    }
}

impl StoredEvent {
    /// A string inside `attributes`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        match self.attributes.get(key) {
            Some(AttributeValue::S(value)) => Some(value),
            _ => None,
        }
    }

    /// Why an `invalid` item was kept aside.
    pub fn reason(&self) -> Option<&str> {
        self.attribute(inner::REASON)
    }

    /// How `raw` is encoded (`base64`, `gzip+base64`); `None` when it is
    /// the text itself.
    pub fn raw_encoding(&self) -> Option<&str> {
        self.attribute(inner::RAW_ENCODING)
    }

    /// `Some` for an item that keeps only the first part of its bytes.
    pub fn truncated(&self) -> Option<Truncated> {
        if self.attributes.get(inner::TRUNCATED) != Some(&AttributeValue::Bool(true)) {
            return None;
        }
        let original_bytes = match self.attributes.get(inner::ORIGINAL_BYTES) {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        };
        Some(Truncated {
            original_bytes,
            sha256: self.attribute(inner::SHA256).map(str::to_owned),
        })
    }

    /// The bytes the provider sent, decoded from `raw`; `None` when the
    /// item holds no `raw`.
    pub fn raw_bytes(&self) -> Option<Result<Vec<u8>, String>> {
        let raw = self.raw.as_deref()?;
        Some(decode_raw(raw, self.raw_encoding()))
    }

    /// The contact an event is about, as briefly as the item allows: the
    /// email, else the phone, else the provider's contact id.
    pub fn who(&self) -> Option<String> {
        self.email
            .clone()
            .or_else(|| self.phone.clone())
            .or_else(|| self.contact_id.as_ref().map(|id| format!("id {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::to_item;
    use normalize::{normalize, Provider, Timestamp};

    #[test]
    fn an_item_reads_back_as_it_was_written() {
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let body = r#"[{"event":"email_automation_clicked","email":"a@example.com","link":"https://x.example/p","timestamp":1674573849}]"#;
        let event = normalize(Provider::Flashy, body.as_bytes(), at)
            .unwrap()
            .remove(0);
        let item = to_item(&event, Some(30));
        let stored = StoredEvent::try_from(&item).unwrap();
        assert_eq!(stored.event_id, event.event_id);
        assert_eq!(stored.event_type.as_deref(), Some("email.clicked"));
        assert_eq!(stored.attribute("url"), Some("https://x.example/p"));
        assert_eq!(Item::from(stored), item);
    }

    #[test]
    fn a_malformed_item_names_its_attribute() {
        let mut item = Item::new();
        assert_eq!(
            StoredEvent::try_from(&item).unwrap_err().to_string(),
            "malformed item: attribute event_id is missing"
        );
        item.insert("event_id".into(), AttributeValue::S("x".into()));
        item.insert("event_type".into(), AttributeValue::N("1".into()));
        assert_eq!(
            StoredEvent::try_from(&item).unwrap_err().to_string(),
            "malformed item: attribute event_type is not a string (S)"
        );
        item.insert("event_type".into(), AttributeValue::S("invalid".into()));
        item.insert("attributes".into(), AttributeValue::S("odd".into()));
        assert_eq!(
            StoredEvent::try_from(&item).unwrap_err().attribute,
            "attributes"
        );
    }

    #[test]
    fn a_truncated_item_says_what_the_whole_was() {
        let mut stored = StoredEvent {
            event_id: "x".into(),
            ..StoredEvent::default()
        };
        assert_eq!(stored.truncated(), None);
        stored
            .attributes
            .insert("truncated".into(), AttributeValue::Bool(true));
        stored
            .attributes
            .insert("original_bytes".into(), AttributeValue::N("5242880".into()));
        stored
            .attributes
            .insert("sha256".into(), AttributeValue::S("0f".repeat(32)));
        assert_eq!(
            stored.truncated(),
            Some(Truncated {
                original_bytes: Some(5_242_880),
                sha256: Some("0f".repeat(32)),
            })
        );
    }
}
