//! enKod: one flat object per POST with a free-text `event` ("message
//! open"). No time, no contact id. The complaint event is documented with a
//! Cyrillic first letter; Latin look-alikes are folded before the lookup.

use crate::envelope::{self, Body, Candidate};
use crate::event::Draft;
use crate::fields::{copied, email_at, event_name, lookup_key, text_at};
use crate::json::{Json, Object};
use crate::provider_time::set_occurred_at;
use crate::{Channel, EventType, NormalizeError, Timestamp};

const NAME: &str = "enkod";

/// The message UID enKod's test button sends.
const TEST_MESSAGE_UID: &str = "0123456789_012_012_01234";
/// The phone numbers of enKod's WhatsApp test bodies.
const TEST_NUMBERS: [&str; 2] = ["70000000000", "71111111111"];

pub(crate) fn split(text: &str, limit: usize) -> Result<Vec<Candidate<'_>>, NormalizeError> {
    match envelope::read(NAME, text, limit)? {
        Body::Object(fields) => Ok(envelope::whole(text, fields)),
        Body::Array(_) => Err(NormalizeError::shape(
            NAME,
            "expected one event object per request, got an array",
        )),
    }
}

/// Cyrillic letters that look like Latin ones, as typed into event names.
fn fold_homoglyphs(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            'а' => 'a',
            'с' => 'c',
            'е' => 'e',
            'о' => 'o',
            'р' => 'p',
            'х' => 'x',
            'у' => 'y',
            other => other,
        })
        .collect()
}

/// How the provider is named to the user, with its article.
pub(crate) const BRAND: (&str, &str) = ("an", "enKod");

/// Keys that mark an enKod event (see `misrouted`): message events
/// `message_uid` / `sending_type`, WhatsApp `from_number`, mailing groups
/// `group_id` / `groups_ids`.
pub(crate) const MARKS: &[&[&str]] = &[
    &["message_uid"],
    &["sending_type"],
    &["from_number"],
    &["group_id"],
    &["groups_ids"],
];

/// Provider event name (in `lookup_key` form) → canonical type.
pub(crate) const EVENTS: &[(&str, EventType)] = &[
    ("message_sent", EventType::EmailSent),
    ("delivery_bounce", EventType::EmailBounced),
    ("message_open", EventType::EmailOpened),
    ("message_clicked", EventType::EmailClicked),
    ("complaint", EventType::EmailComplained),
    ("whatsapp_template_sent", EventType::WhatsappSent),
    ("whatsapp_template_delivered", EventType::WhatsappDelivered),
    ("whatsapp_template_read", EventType::WhatsappRead),
    ("template_message_read", EventType::WhatsappRead),
    (
        "whatsapp_inbox_message_received",
        EventType::WhatsappReceived,
    ),
    ("whatsapp_template_bounce", EventType::WhatsappFailed),
    ("mailing_group_subscribe", EventType::ContactSubscribed),
    ("mailing_group_unsubscribe", EventType::ContactUnsubscribed),
    ("contact_adding", EventType::ContactCreated),
];

pub(crate) fn canonical_type(key: &str) -> EventType {
    crate::types::lookup(EVENTS, key)
}

pub(crate) fn event(obj: &Object, received_at: Timestamp) -> Draft {
    let name = obj.get("event").and_then(event_name);
    let event_type = name.as_deref().map_or(EventType::Unknown, |n| {
        canonical_type(&fold_homoglyphs(&lookup_key(n)))
    });

    let mut d = Draft::new(event_type, name);
    // enKod documents no time field; one is read if it ever appears.
    set_occurred_at(
        &mut d,
        &[obj],
        &["timestamp", "created_at", "date"],
        received_at,
    );
    d.email = email_at(obj, &["to", "email"]);
    d.campaign_id = text_at(obj, &["message_id"]);
    d.message_id = text_at(obj, &["message_uid"]);
    d.list_id = text_at(obj, &["group_id"]);
    if let Some(channel) = text_at(obj, &["channel"])
        .as_deref()
        .and_then(Channel::parse)
    {
        d.channel = Some(channel);
    }
    // The customer's number: the recipient of what we send, the sender of
    // what we receive.
    d.phone = if event_type == EventType::WhatsappReceived {
        text_at(obj, &["from_number"])
    } else {
        text_at(obj, &["phone", "to_number"])
    };

    d.attr("subject", text_at(obj, &["name"]));
    d.attr("sending_type", text_at(obj, &["sending_type"]));
    d.attr(
        "from",
        text_at(obj, &["from"]).or_else(|| {
            text_at(obj, &["from_number"]).filter(|_| event_type != EventType::WhatsappReceived)
        }),
    );
    if event_type == EventType::WhatsappReceived {
        d.attr("to", text_at(obj, &["to_number"]));
    }
    d.attr("url", text_at(obj, &["click_url"]));
    d.attr("reason", text_at(obj, &["error_message"]));
    d.attr("template_name", text_at(obj, &["template_name"]));
    d.attr("text", text_at(obj, &["message"]));
    d.attr("group_name", text_at(obj, &["group_name"]));
    d.attr("groups_ids", obj.get("groups_ids").map(copied));
    d.attr("groups_names", obj.get("groups_names").map(copied));
    if is_test(obj) {
        d.attr("test", Some(true));
    }
    d
}

/// enKod's test button sends the documented sample bodies: a fixed message
/// UID, names ending in "(test)", the WhatsApp samples' placeholder numbers,
/// or the contact sample's `test_group_` groups.
fn is_test(obj: &Object) -> bool {
    let placeholder =
        |key: &str| text_at(obj, &[key]).is_some_and(|n| TEST_NUMBERS.contains(&n.as_str()));
    let test_groups = match obj.get("groups_names") {
        Some(Json::Array(names)) => {
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.as_str().is_some_and(|n| n.starts_with("test_group_")))
        }
        _ => false,
    };
    text_at(obj, &["message_uid"]).as_deref() == Some(TEST_MESSAGE_UID)
        || text_at(obj, &["name", "group_name"]).is_some_and(|n| n.ends_with("(test)"))
        || (placeholder("from_number") && placeholder("to_number"))
        || test_groups
}
