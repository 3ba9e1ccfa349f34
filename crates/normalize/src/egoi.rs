//! E-goi: always `{"events": [...]}`. Discriminator `action`; time in
//! `action_date` (Unix seconds); contact uid in `contact.base[0]`; e-mail and
//! phone only in `contact.fields` when the webhook was set up to send them.

use crate::envelope::{self, Candidate};
use crate::event::Draft;
use crate::fields::{email_at, event_name, lookup_key, object_at, text, text_at};
use crate::json::{Json, Object};
use crate::provider_time::set_occurred_at;
use crate::{EventType, NormalizeError, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

const NAME: &str = "egoi";

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    events: Option<&'a RawValue>,
}

pub(crate) fn split(text: &str, limit: usize) -> Result<Vec<Candidate<'_>>, NormalizeError> {
    // Only an object is tried as the envelope: serde would also read a struct
    // from an array, taking its first element as `events`.
    if envelope::first_byte(text) == Some(b'{') {
        if let Ok(Envelope {
            events: Some(events),
        }) = serde_json::from_str::<Envelope>(text)
        {
            return envelope::raw_array(NAME, events, "events", limit);
        }
    }
    // Read whole for its errors (not JSON, a scalar): anything else is not
    // the envelope.
    envelope::read(NAME, text, limit)?;
    Err(NormalizeError::shape(
        NAME,
        "expected an object with an \"events\" array",
    ))
}

/// How the provider is named to the user, with its article.
pub(crate) const BRAND: (&str, &str) = ("an", "E-goi");

/// Keys that mark an E-goi body (see `misrouted`): the `{"events": [...]}`
/// envelope, and each event's `action`.
pub(crate) const MARKS: &[&[&str]] = &[&["events"], &["action"]];

/// Provider event name (in `lookup_key` form) → canonical type.
pub(crate) const EVENTS: &[(&str, EventType)] = &[
    ("forget_subscription", EventType::ContactForgotten),
    ("change_consent", EventType::ContactConsentChanged),
    ("web_push_bounce", EventType::WebPushBounced),
    ("web_push_click", EventType::WebPushClicked),
    ("web_push_delivered", EventType::WebPushDelivered),
    ("web_push_open", EventType::WebPushOpened),
    ("web_push_send", EventType::WebPushSent),
    ("web_push_subscription", EventType::WebPushSubscribed),
    ("web_push_unsubscription", EventType::WebPushUnsubscribed),
    ("email_send", EventType::EmailSent),
    ("email_open", EventType::EmailOpened),
    ("email_click", EventType::EmailClicked),
    ("email_soft_bounce", EventType::EmailBounced),
    ("email_hard_bounce", EventType::EmailBounced),
    ("sms_send", EventType::SmsSent),
    ("sms_delivered", EventType::SmsDelivered),
    ("voice_send", EventType::VoiceSent),
    ("unsubscribe", EventType::ContactUnsubscribed),
    ("subscription", EventType::ContactSubscribed),
    ("edit_subscription", EventType::ContactUpdated),
    ("resubscription", EventType::ContactResubscribed),
    ("facebook_like", EventType::SocialLiked),
    ("social_share", EventType::SocialShared),
    ("double_optin", EventType::ContactConfirmed),
    ("email_spam_complaint", EventType::EmailComplained),
    ("email_field_disable", EventType::ContactFieldDisabled),
    ("cellphone_field_disable", EventType::ContactFieldDisabled),
    ("phone_field_disable", EventType::ContactFieldDisabled),
    ("push_send", EventType::PushSent),
    ("push_open", EventType::PushOpened),
    ("push_click", EventType::PushClicked),
    ("push_received", EventType::PushDelivered),
    ("push_error", EventType::PushFailed),
    ("push_canceled", EventType::PushCanceled),
    ("new_order", EventType::CommerceOrderPlaced),
    ("cart_update", EventType::CommerceCartUpdated),
    ("goal_conversion", EventType::AutomationGoalReached),
    ("product_view", EventType::CommerceProductViewed),
];

pub(crate) fn canonical_type(key: &str) -> EventType {
    crate::types::lookup(EVENTS, key)
}

pub(crate) fn event(obj: &Object, received_at: Timestamp) -> Draft {
    let name = obj.get("action").and_then(event_name);
    let key = name.as_deref().map(lookup_key).unwrap_or_default();
    let event_type = canonical_type(&key);

    let mut d = Draft::new(event_type, name);
    set_occurred_at(&mut d, &[obj], &["action_date"], received_at);
    d.list_id = text_at(obj, &["list_id"]);

    let contact = object_at(obj, "contact");
    d.contact_id = contact
        .and_then(|c| c.get("base"))
        .and_then(|base| match base {
            Json::Array(ids) => ids.iter().find_map(text),
            other => text(other),
        });
    let fields = contact_fields(contact);
    d.email = fields.iter().find_map(|f| email_at(f, &["email"]));
    d.phone = fields
        .iter()
        .find_map(|f| text_at(f, &["cellphone", "phone"]));
    if d.contact_id.is_none() {
        d.contact_id = fields.iter().find_map(|f| text_at(f, &["uid"]));
    }

    if let Some(data) = object_at(obj, "action_data") {
        d.campaign_id = text_at(data, &["messageHash", "message_hash"]);
        d.attr("order_id", text_at(data, &["order"]));
        d.attr("goal_id", text_at(data, &["goal"]));
        d.attr("cart_id", text_at(data, &["cart"]));
        d.attr("product_id", text_at(data, &["product_id"]));
    }
    match key.as_str() {
        "email_soft_bounce" => d.attr("bounce_type", Some("soft")),
        "email_hard_bounce" => d.attr("bounce_type", Some("hard")),
        "email_field_disable" => d.attr("field", Some("email")),
        "cellphone_field_disable" => d.attr("field", Some("cellphone")),
        "phone_field_disable" => d.attr("field", Some("phone")),
        _ => {}
    }
    d
}

/// `contact.fields` is documented as an array of objects; a single object
/// is read the same way.
fn contact_fields<'a, 'j>(contact: Option<&'a Object<'j>>) -> Vec<&'a Object<'j>> {
    match contact.and_then(|c| c.get("fields")) {
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_object).collect(),
        Some(Json::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}
