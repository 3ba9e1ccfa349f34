//! What every normalizer must do with any bytes: return, never panic; on
//! success, events that can be stored as docs/design.md describes them; on
//! failure, a one-line reason. Shared by the five targets.

use normalize::{normalize, EventType, Provider, Timestamp, CANONICAL_TYPES};

pub fn check(provider: Provider, body: &[u8]) {
    let at = Timestamp::parse("2024-05-01T12:00:00Z").expect("valid time");
    match normalize(provider, body, at) {
        Ok(events) => {
            let again = normalize(provider, body, at).expect("deterministic");
            assert_eq!(events, again, "deterministic");
            for event in &events {
                assert_eq!(event.provider, provider);
                assert_eq!(event.event_id.len(), 64);
                assert!(event.event_id.bytes().all(|b| b.is_ascii_hexdigit()));
                assert!(
                    event.event_type != EventType::Invalid
                        && CANONICAL_TYPES.contains(&event.event_type.as_str()),
                    "{}",
                    event.event_type
                );
                let occurred = event.occurred_at.to_string();
                assert_eq!(occurred.len(), 24, "{occurred}");
                assert!(occurred.ends_with('Z'), "{occurred}");
                assert!(event.day_key.starts_with(provider.as_str()));
                assert!(!event.raw.is_empty());
                for value in [
                    &event.provider_event,
                    &event.email,
                    &event.phone,
                    &event.contact_id,
                    &event.account_id,
                    &event.campaign_id,
                    &event.message_id,
                    &event.automation_id,
                    &event.list_id,
                    &event.contact_key,
                ]
                .into_iter()
                .flatten()
                {
                    assert!(!value.is_empty(), "empty optional attribute");
                }
                if let Some(email) = &event.email {
                    assert_eq!(email, &email.to_lowercase());
                    assert_eq!(email, email.trim());
                }
                serde_json::to_string(event).expect("serializable");
            }
        }
        Err(error) => {
            let reason = error.to_string();
            assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
        }
    }
}
