use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// Declares [`EventType`] from one list, so the names, the variants and
/// [`CANONICAL_TYPES`] cannot drift apart.
macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// A canonical event type (docs/design.md, "Canonical event types"):
        /// every type a provider event can become, `unknown` for a valid event
        /// with no mapping yet, and `invalid` for what is kept because it
        /// could not be stored as an event.
        /// The default is `unknown`: a valid event with no mapping.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub enum EventType {
            $($variant,)*
            #[default]
            Unknown,
            Invalid,
        }

        impl EventType {
            /// Every type, `unknown` and `invalid` last.
            pub const ALL: &'static [EventType] =
                &[$(EventType::$variant,)* EventType::Unknown, EventType::Invalid];

            /// The type as stored in `event_type`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                    EventType::Unknown => "unknown",
                    EventType::Invalid => "invalid",
                }
            }
        }

        /// The canonical vocabulary as stored, `unknown` included (not
        /// `invalid`, which no provider event becomes).
        pub const CANONICAL_TYPES: &[&str] = &[$($name,)* "unknown"];
    };
}

event_types! {
    EmailSent => "email.sent",
    EmailDelivered => "email.delivered",
    EmailOpened => "email.opened",
    EmailClicked => "email.clicked",
    EmailBounced => "email.bounced",
    EmailComplained => "email.complained",
    EmailReplied => "email.replied",
    EmailAutoReplied => "email.auto_replied",
    EmailFailed => "email.failed",
    SmsSent => "sms.sent",
    SmsDelivered => "sms.delivered",
    SmsReceived => "sms.received",
    WhatsappSent => "whatsapp.sent",
    WhatsappDelivered => "whatsapp.delivered",
    WhatsappRead => "whatsapp.read",
    WhatsappReceived => "whatsapp.received",
    WhatsappFailed => "whatsapp.failed",
    PushSent => "push.sent",
    PushDelivered => "push.delivered",
    PushOpened => "push.opened",
    PushClicked => "push.clicked",
    PushFailed => "push.failed",
    PushCanceled => "push.canceled",
    WebPushSent => "web_push.sent",
    WebPushDelivered => "web_push.delivered",
    WebPushOpened => "web_push.opened",
    WebPushClicked => "web_push.clicked",
    WebPushBounced => "web_push.bounced",
    WebPushSubscribed => "web_push.subscribed",
    WebPushUnsubscribed => "web_push.unsubscribed",
    VoiceSent => "voice.sent",
    ContactCreated => "contact.created",
    ContactUpdated => "contact.updated",
    ContactSubscribed => "contact.subscribed",
    ContactUnsubscribed => "contact.unsubscribed",
    ContactResubscribed => "contact.resubscribed",
    ContactConfirmed => "contact.confirmed",
    ContactConsentChanged => "contact.consent_changed",
    ContactForgotten => "contact.forgotten",
    ContactFieldDisabled => "contact.field_disabled",
    ContactInterestChanged => "contact.interest_changed",
    ContactAppointmentBooked => "contact.appointment_booked",
    ContactDeleted => "contact.deleted",
    CommercePageViewed => "commerce.page_viewed",
    CommerceProductViewed => "commerce.product_viewed",
    CommerceCartAdded => "commerce.cart_added",
    CommerceCartUpdated => "commerce.cart_updated",
    CommerceOrderPlaced => "commerce.order_placed",
    AutomationTriggered => "automation.triggered",
    AutomationCompleted => "automation.completed",
    AutomationGoalReached => "automation.goal_reached",
    CampaignStatusChanged => "campaign.status_changed",
    SocialLiked => "social.liked",
    SocialShared => "social.shared",
}

/// Valid event, no mapping yet; stored all the same, with `raw`.
pub const UNKNOWN: &str = EventType::Unknown.as_str();
/// What could not be stored as an event, kept as a quarantine item.
pub const INVALID: &str = EventType::Invalid.as_str();

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a canonical event type"))
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <&str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The canonical type of `key` in a provider's mapping table, `unknown` when
/// the table has no such name.
pub(crate) fn lookup(table: &[(&str, EventType)], key: &str) -> EventType {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map_or(EventType::Unknown, |(_, event_type)| *event_type)
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
    pub fn of_type(event_type: EventType) -> Option<Channel> {
        let prefix = event_type.as_str().split_once('.')?.0;
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
    use crate::Provider;

    fn tables() -> impl Iterator<Item = (Provider, &'static [(&'static str, EventType)])> {
        Provider::ALL.into_iter().map(|p| (p, p.events()))
    }

    #[test]
    fn every_mapped_type_is_canonical() {
        for (provider, table) in tables() {
            for (name, event_type) in table {
                assert!(
                    CANONICAL_TYPES.contains(&event_type.as_str()),
                    "{provider}: {name} maps to {event_type}, not in CANONICAL_TYPES"
                );
                assert_ne!(
                    *event_type,
                    EventType::Unknown,
                    "{provider}: {name} maps to unknown"
                );
            }
        }
    }

    #[test]
    fn every_table_key_is_reachable() {
        // Keys are compared after lookup_key; a key not in that form could never match.
        for (provider, table) in tables() {
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
    fn every_type_reads_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(*t));
            assert_eq!(serde_json::to_string(t).unwrap(), format!("\"{t}\""));
        }
        assert_eq!(EventType::ALL.len(), CANONICAL_TYPES.len() + 1);
        assert!("email.teleported".parse::<EventType>().is_err());
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
