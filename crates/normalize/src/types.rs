use serde::Serialize;

/// Valid event, no mapping yet; stored all the same, with `raw`.
pub const UNKNOWN: &str = "unknown";
/// A body that is not the provider's shape, kept as a quarantine item.
pub const INVALID: &str = "invalid";

/// The canonical vocabulary (DESIGN.md, "Canonical event types"). Every
/// provider mapping returns one of these; a test checks it.
pub const CANONICAL_TYPES: &[&str] = &[
    "email.sent",
    "email.delivered",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.complained",
    "email.replied",
    "email.auto_replied",
    "email.failed",
    "sms.sent",
    "sms.delivered",
    "sms.received",
    "whatsapp.sent",
    "whatsapp.delivered",
    "whatsapp.read",
    "whatsapp.received",
    "whatsapp.failed",
    "push.sent",
    "push.delivered",
    "push.opened",
    "push.clicked",
    "push.failed",
    "push.canceled",
    "web_push.sent",
    "web_push.delivered",
    "web_push.opened",
    "web_push.clicked",
    "web_push.bounced",
    "web_push.subscribed",
    "web_push.unsubscribed",
    "voice.sent",
    "contact.created",
    "contact.updated",
    "contact.subscribed",
    "contact.unsubscribed",
    "contact.resubscribed",
    "contact.confirmed",
    "contact.consent_changed",
    "contact.forgotten",
    "contact.field_disabled",
    "contact.interest_changed",
    "contact.appointment_booked",
    "contact.deleted",
    "commerce.page_viewed",
    "commerce.product_viewed",
    "commerce.cart_added",
    "commerce.cart_updated",
    "commerce.order_placed",
    "automation.triggered",
    "automation.completed",
    "automation.goal_reached",
    "campaign.status_changed",
    "social.liked",
    "social.shared",
    UNKNOWN,
];

/// The canonical type of `key` in a provider's mapping table, `unknown` when
/// the table has no such name.
pub(crate) fn lookup(table: &[(&str, &'static str)], key: &str) -> &'static str {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map_or(UNKNOWN, |(_, event_type)| event_type)
}

/// The medium an event happened on, where it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
    Push,
    WebPush,
    Voice,
    Web,
    Social,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Push => "push",
            Channel::WebPush => "web_push",
            Channel::Voice => "voice",
            Channel::Web => "web",
            Channel::Social => "social",
        }
    }

    /// The channel a message-lifecycle type (`email.opened`) belongs to.
    pub fn of_type(event_type: &str) -> Option<Channel> {
        let prefix = event_type.split_once('.')?.0;
        Some(match prefix {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "whatsapp" => Channel::Whatsapp,
            "push" => Channel::Push,
            "web_push" => Channel::WebPush,
            "voice" => Channel::Voice,
            "social" => Channel::Social,
            "commerce" => Channel::Web,
            _ => return None,
        })
    }

    /// Reads a provider's own channel name (`"email"`, `"SMS"`).
    pub fn parse(name: &str) -> Option<Channel> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "email" | "e-mail" => Channel::Email,
            "sms" => Channel::Sms,
            "whatsapp" => Channel::Whatsapp,
            "push" => Channel::Push,
            "web_push" | "webpush" => Channel::WebPush,
            "voice" => Channel::Voice,
            "web" => Channel::Web,
            "social" => Channel::Social,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::lookup_key;
    use crate::{egoi, enkod, flashy, sendpulse, supersend};

    const TABLES: [(&str, &[(&str, &str)]); 5] = [
        ("flashy", flashy::EVENTS),
        ("egoi", egoi::EVENTS),
        ("enkod", enkod::EVENTS),
        ("supersend", supersend::EVENTS),
        ("sendpulse", sendpulse::EVENTS),
    ];

    #[test]
    fn every_mapped_type_is_canonical() {
        for (provider, table) in TABLES {
            for (name, event_type) in table {
                assert!(
                    CANONICAL_TYPES.contains(event_type),
                    "{provider}: {name} maps to {event_type}, not in CANONICAL_TYPES"
                );
                assert_ne!(*event_type, UNKNOWN, "{provider}: {name} maps to unknown");
            }
        }
    }

    #[test]
    fn every_table_key_is_reachable() {
        // Keys are compared after lookup_key; a key not in that form could never match.
        for (provider, table) in TABLES {
            for (i, (name, _)) in table.iter().enumerate() {
                assert_eq!(
                    lookup_key(name),
                    *name,
                    "{provider}: {name} is not a lookup key"
                );
                assert!(
                    table[..i].iter().all(|(earlier, _)| earlier != name),
                    "{provider}: {name} is listed twice"
                );
            }
        }
    }

    #[test]
    fn canonical_types_are_unique_and_have_a_known_prefix() {
        for (i, t) in CANONICAL_TYPES.iter().enumerate() {
            assert!(!CANONICAL_TYPES[..i].contains(t), "{t} listed twice");
            let prefix = t.split_once('.').map_or(*t, |(p, _)| p);
            assert!(
                [
                    "email",
                    "sms",
                    "whatsapp",
                    "push",
                    "web_push",
                    "voice",
                    "contact",
                    "commerce",
                    "automation",
                    "campaign",
                    "social",
                    UNKNOWN
                ]
                .contains(&prefix),
                "{t} has an unexpected prefix"
            );
        }
    }
}
