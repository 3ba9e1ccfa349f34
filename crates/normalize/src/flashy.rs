//! Flashy: a JSON array of event objects (current docs), or one legacy
//! `{"event": ..., "body": {...}}` object. Discriminator `event`; time in
//! `timestamp` or `created_at` (Unix seconds).

use crate::envelope::{self, Body, Candidate};
use crate::event::Draft;
use crate::fields::{bounce_type, copied, email_at, event_name, lookup_key, object_at, text_at};
use crate::json::Object;
use crate::provider_time::set_occurred_at;
use crate::{EventType, NormalizeError, Timestamp};

const NAME: &str = "flashy";

pub(crate) fn split(text: &str, limit: usize) -> Result<Vec<Candidate<'_>>, NormalizeError> {
    match envelope::read(NAME, text, limit)? {
        Body::Array(elements) => envelope::objects(elements, "body", limit),
        Body::Object(fields) if fields.contains_key("event") && fields.contains_key("body") => {
            Ok(envelope::whole(text, fields))
        }
        Body::Object(_) => Err(NormalizeError::shape(
            NAME,
            "expected an array of events or a legacy object with \"event\" and \"body\"",
        )),
    }
}

/// How the provider is named to the user, with its article.
pub(crate) const BRAND: (&str, &str) = ("a", "Flashy");

/// Keys that mark a Flashy event (see `misrouted`): every current event has
/// `account_id`; the legacy body is `{"event", "body"}`.
pub(crate) const MARKS: &[&[&str]] = &[&["account_id"], &["event", "body"]];

/// Provider event name (in `lookup_key` form) → canonical type.
pub(crate) const EVENTS: &[(&str, EventType)] = &[
    ("page_view", EventType::CommercePageViewed),
    ("add_to_cart", EventType::CommerceCartAdded),
    ("contact_subscribed", EventType::ContactSubscribed),
    ("contact_unsubscribed", EventType::ContactUnsubscribed),
    ("contact_updated", EventType::ContactUpdated),
    ("contact_created", EventType::ContactCreated),
    ("purchase", EventType::CommerceOrderPlaced),
    ("automation_completed", EventType::AutomationCompleted),
    ("email_automation_delivered", EventType::EmailDelivered),
    ("email_automation_opened", EventType::EmailOpened),
    ("email_automation_clicked", EventType::EmailClicked),
    ("email_campaign_bounced", EventType::EmailBounced),
    ("incoming_sms", EventType::SmsReceived),
];

pub(crate) fn canonical_type(key: &str) -> EventType {
    crate::types::lookup(EVENTS, key)
}

pub(crate) fn event(obj: &Object, received_at: Timestamp) -> Draft {
    let name = obj.get("event").and_then(event_name);
    let event_type = name
        .as_deref()
        .map_or(EventType::Unknown, |n| canonical_type(&lookup_key(n)));
    // The legacy shape carries the fields under `body`.
    let f = object_at(obj, "body").unwrap_or(obj);
    let context = object_at(f, "context");

    let mut d = Draft::new(event_type, name);
    set_occurred_at(&mut d, &[f, obj], &["timestamp", "created_at"], received_at);
    d.account_id = text_at(f, &["account_id"]);
    d.contact_id = text_at(f, &["contact_id"]);
    d.email = email_at(f, &["email"]);
    d.campaign_id = text_at(f, &["campaign_id"]);
    d.automation_id = text_at(f, &["automation_id"]);
    d.list_id = text_at(f, &["feed_id", "list_id"]);
    if event_type == EventType::SmsReceived {
        d.phone = text_at(f, &["from"]);
        d.attr("to", text_at(f, &["to"]));
        d.attr("text", text_at(f, &["message"]));
        d.attr("country", text_at(f, &["from_country"]));
    }

    d.attr("url", text_at(f, &["page_url", "link"]));
    d.attr("title", text_at(f, &["page_title"]));
    d.attr("referral", text_at(f, &["referral"]));
    d.attr("utm", f.get("utm").map(copied));
    d.attr("anonymous_id", text_at(f, &["anonymous_id"]));
    d.attr(
        "order_id",
        text_at(f, &["order_id"]).or_else(|| context.and_then(|c| text_at(c, &["order_id"]))),
    );
    d.attr("value", text_at(f, &["value"]));
    d.attr("currency", text_at(f, &["currency"]));
    d.attr(
        "status",
        text_at(f, &["status"]).filter(|_| event_type != EventType::SmsReceived),
    );
    d.attr("content_ids", f.get("content_ids").map(copied));
    d.attr("old", f.get("old").map(copied));
    d.attr("new", f.get("new").map(copied));
    // `old`/`new` lose their null values when pruned (`birthday: null` →
    // set); the names of the changed fields are kept apart.
    d.attr("changed_fields", changed_fields(f));
    d.attr("template_id", text_at(f, &["template_id"]));
    d.attr("step_id", text_at(f, &["step_id"]));
    d.attr("auto_index", text_at(f, &["auto_index"]));
    d.attr("last_step", text_at(f, &["last_step"]));
    d.attr(
        "bounce_type",
        text_at(f, &["bounce_type"])
            .as_deref()
            .and_then(bounce_type),
    );
    d.attr("reason", text_at(f, &["reason"]));
    d
}

/// The sorted field names in `old` and `new` of a `contact_updated` event.
fn changed_fields(f: &Object) -> Option<Vec<String>> {
    let mut names: Vec<String> = ["old", "new"]
        .iter()
        .filter_map(|k| object_at(f, k))
        .flat_map(|o| o.iter().map(|(k, _)| k.to_owned()))
        .collect();
    names.sort_unstable();
    names.dedup();
    (!names.is_empty()).then_some(names)
}
