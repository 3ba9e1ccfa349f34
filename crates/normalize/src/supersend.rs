//! SuperSend: one object per POST. The integration webhook sends `type`,
//! `CampaignId`, `conversationId` and the full `contact` record; webhooks
//! made through the API send `event`, `timestamp`, `CampaignId`,
//! `ContactId` and `details` (with the contact's address in
//! `details.email` when it is there). Both are read.

use crate::envelope::{self, Body, Candidate};
use crate::event::Draft;
use crate::fields::{bounce_type, copied, email_at, event_name, lookup_key, object_at, text_at};
use crate::json::{Json, Object};
use crate::provider_time::set_occurred_at;
use crate::{EventType, NormalizeError, Timestamp};

const NAME: &str = "supersend";

pub(crate) fn split(text: &str, limit: usize) -> Result<Vec<Candidate<'_>>, NormalizeError> {
    match envelope::read(NAME, text, limit)? {
        Body::Object(fields) => Ok(envelope::whole(text, fields)),
        Body::Array(_) => Err(NormalizeError::shape(
            NAME,
            "expected one event object per request, got an array",
        )),
    }
}

/// How the provider is named to the user, with its article.
pub(crate) const BRAND: (&str, &str) = ("a", "SuperSend");

/// Keys that mark a SuperSend event (see `misrouted`): `CampaignId` (both
/// kinds of webhook), `ContactId` (API-created), `conversationId` and the
/// `contact` record with `type` (integration).
pub(crate) const MARKS: &[&[&str]] = &[
    &["CampaignId"],
    &["ContactId"],
    &["conversationId"],
    &["type", "contact"],
];

/// Provider event name (in `lookup_key` form) → canonical type.
pub(crate) const EVENTS: &[(&str, EventType)] = &[
    ("open", EventType::EmailOpened),
    ("click", EventType::EmailClicked),
    ("reply", EventType::EmailReplied),
    ("bounce", EventType::EmailBounced),
    ("interest", EventType::ContactInterestChanged),
    ("appointment", EventType::ContactAppointmentBooked),
    ("unsubscribe", EventType::ContactUnsubscribed),
    ("finished", EventType::AutomationCompleted),
    ("autoresponse", EventType::EmailAutoReplied),
    ("auto_response", EventType::EmailAutoReplied),
    ("auto_reply", EventType::EmailAutoReplied),
    ("sent", EventType::EmailSent),
    ("email_sent", EventType::EmailSent),
];

pub(crate) fn canonical_type(key: &str) -> EventType {
    crate::types::lookup(EVENTS, key)
}

pub(crate) fn event(obj: &Object, received_at: Timestamp) -> Draft {
    let name = obj
        .get("type")
        .and_then(event_name)
        .or_else(|| obj.get("event").and_then(event_name));
    let event_type = name
        .as_deref()
        .map_or(EventType::Unknown, |n| canonical_type(&lookup_key(n)));
    let contact = object_at(obj, "contact");

    let mut d = Draft::new(event_type, name);
    // The legacy body has no event time; the contact's updatedAt is the
    // record's time, not the event's, so it is not used.
    set_occurred_at(&mut d, &[obj], &["timestamp"], received_at);
    d.campaign_id = text_at(obj, &["CampaignId", "campaignId", "campaign_id"])
        .or_else(|| contact.and_then(|c| text_at(c, &["CampaignId"])));
    d.contact_id = text_at(obj, &["ContactId", "contactId", "contact_id"])
        .or_else(|| contact.and_then(|c| text_at(c, &["id"])));
    d.attr(
        "conversation_id",
        text_at(obj, &["conversationId", "conversation_id"]),
    );
    d.attr("details", obj.get("details").map(copied));
    // `details` is undocumented; the usual names are lifted when present.
    let details = object_at(obj, "details");
    if let Some(details) = details {
        d.attr("url", text_at(details, &["url", "link"]));
        d.attr("reason", text_at(details, &["reason", "error"]));
        d.attr(
            "bounce_type",
            text_at(details, &["bounce_type"])
                .as_deref()
                .and_then(bounce_type),
        );
    }

    if let Some(c) = contact {
        d.email = email_at(c, &["email"]);
        d.phone = text_at(c, &["phone"]);
        d.account_id = text_at(c, &["OrgId", "TeamId"]);
        d.attr("interest", text_at(c, &["interest"]));
        if event_type == EventType::ContactAppointmentBooked {
            d.attr("appointment", c.get("appointment").and_then(Json::as_bool));
        }
        d.attr(
            "sender",
            object_at(c, "Sender").and_then(|s| email_at(s, &["email"])),
        );
    }
    // An API-created webhook has no `contact` record; its `details` may
    // carry the contact's address.
    if d.email.is_none() {
        d.email = details.and_then(|details| email_at(details, &["email"]));
    }
    d
}
