//! The one place that reads a stored event as the fold's input. It reads
//! the stream's `NewImage` as it comes; a scanned item (the CLI's rebuild)
//! is turned into the same shape first, so both paths share this reading.

use consent::{Fact, FactError};
use events_table::attr;
use serde_dynamo::{AttributeValue, Item};

/// The consent facts of one stored event. An item without what the fold
/// needs (id, provider, type, a readable time) is an error, never guessed.
pub fn fact_from_image(image: &Item) -> Result<Fact, FactError> {
    let s = |name: &str| text(image.get(name));
    let attributes = match image.get(attr::ATTRIBUTES) {
        Some(AttributeValue::M(map)) => Some(map),
        _ => None,
    };
    let inner = |name: &str| attributes.and_then(|m| text(m.get(name)));
    let fact = Fact {
        event_id: s(attr::EVENT_ID).unwrap_or_default(),
        occurred_at: s(attr::OCCURRED_AT).unwrap_or_default(),
        provider: s(attr::PROVIDER).unwrap_or_default(),
        event_type: s(attr::EVENT_TYPE).unwrap_or_default(),
        channel: s(attr::CHANNEL),
        email: s(attr::EMAIL),
        phone: s(attr::PHONE),
        contact_id: s(attr::CONTACT_ID),
        list_id: s(attr::LIST_ID),
        bounce_type: inner("bounce_type"),
        from_all: inner("from_all"),
        text: inner("text"),
        ..Fact::default()
    };
    fact.check()?;
    Ok(fact)
}

/// A scanned or fetched item (the SDK's types) as a stream image.
pub fn image_of(item: events_table::Item) -> Item {
    Item::from(item)
}

/// A string, or a number's decimal text (`from_all` may be either).
fn text(value: Option<&AttributeValue>) -> Option<String> {
    match value {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => Some(s.clone()),
        Some(AttributeValue::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(json: &str) -> Item {
        serde_json::from_str(json).expect("a DynamoDB JSON image")
    }

    #[test]
    fn a_stream_image_becomes_the_fold_s_facts() {
        let fact = fact_from_image(&image(
            r#"{"event_id":{"S":"e1"},"provider":{"S":"sendpulse"},"event_type":{"S":"contact.unsubscribed"},
                "occurred_at":{"S":"2024-06-03T14:21:40.000Z"},"email":{"S":"x.user@i.ua"},"list_id":{"S":"490686"},
                "raw":{"S":"{}"},"attributes":{"M":{"from_all":{"N":"1"},"reason":{"NULL":true}}}}"#,
        ))
        .unwrap();
        assert_eq!(fact.event_id, "e1");
        assert_eq!(fact.from_all.as_deref(), Some("1"));
        assert_eq!(fact.scope(), "all");
    }

    #[test]
    fn an_image_without_what_the_fold_needs_is_an_error() {
        let no_time = image(
            r#"{"event_id":{"S":"e1"},"provider":{"S":"flashy"},"event_type":{"S":"contact.unsubscribed"}}"#,
        );
        assert!(fact_from_image(&no_time).is_err());
    }
}
