//! The one place that reads a stored event as the fold's input. It reads
//! the stream's `NewImage` as it comes; a scanned item (the CLI's rebuild)
//! is turned into the same shape first, so both paths share this reading.

use consent::{Fact, FactError};
use serde_dynamo::{AttributeValue, Item};

/// The consent facts of one stored event. An item without what the fold
/// needs (id, provider, type, a readable time) is an error, never guessed.
pub fn fact_from_image(image: &Item) -> Result<Fact, FactError> {
    let s = |name: &str| text(image.get(name));
    let attributes = match image.get("attributes") {
        Some(AttributeValue::M(map)) => Some(map),
        _ => None,
    };
    let attr = |name: &str| attributes.and_then(|m| text(m.get(name)));
    let fact = Fact {
        event_id: s("event_id").unwrap_or_default(),
        occurred_at: s("occurred_at").unwrap_or_default(),
        provider: s("provider").unwrap_or_default(),
        event_type: s("event_type").unwrap_or_default(),
        channel: s("channel"),
        email: s("email"),
        phone: s("phone"),
        contact_id: s("contact_id"),
        list_id: s("list_id"),
        bounce_type: attr("bounce_type"),
        from_all: attr("from_all"),
        text: attr("text"),
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
