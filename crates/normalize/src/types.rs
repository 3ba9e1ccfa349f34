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
