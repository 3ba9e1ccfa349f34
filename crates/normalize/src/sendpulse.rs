//! SendPulse: a JSON array mixing e-mail service / SMTP events (with an
//! `event` field, Unix `timestamp`) and Automation 360 "Send webhook" items
//! (no `event`; the webhook's `title` names them; `execution_date` is
//! `YYYY-MM-DD HH:MM:SS`, read as UTC).

use crate::envelope::{self, Body, Candidate};
use crate::event::Draft;
use crate::fields::{
    bounce_type, copied, copied_within, email_at, event_name, lookup_key, not_copied, take,
    text_at, MAX_COPIED_BYTES,
};
use crate::json::{Json, Object};
use crate::provider_time::set_occurred_at;
use crate::{EventType, NormalizeError, Timestamp};
use serde_json::{Map, Value};

const NAME: &str = "sendpulse";

pub(crate) fn split(text: &str, limit: usize) -> Result<Vec<Candidate<'_>>, NormalizeError> {
    match envelope::read(NAME, text, limit)? {
        Body::Array(elements) => envelope::objects(elements, "body", limit),
        Body::Object(_) => Err(NormalizeError::shape(
            NAME,
            "expected an array of events, got an object",
        )),
    }
}

/// How the provider is named to the user, with its article.
pub(crate) const BRAND: (&str, &str) = ("a", "SendPulse");

/// Keys that mark a SendPulse event (see `misrouted`): e-mail service
/// `task_id` / `book_id`, SMTP `recipient`, Automation 360 `execution_date`.
pub(crate) const MARKS: &[&[&str]] = &[
    &["task_id"],
    &["book_id"],
    &["recipient"],
    &["execution_date"],
];

/// Provider event name (in `lookup_key` form) → canonical type.
pub(crate) const EVENTS: &[(&str, EventType)] = &[
    // E-mail service (bulk campaigns).
    ("spam", EventType::EmailComplained),
    ("open", EventType::EmailOpened),
    ("redirect", EventType::EmailClicked),
    ("unsubscribe", EventType::ContactUnsubscribed),
    ("new_emails", EventType::ContactSubscribed),
    ("delete", EventType::ContactDeleted),
    ("delivered", EventType::EmailDelivered),
    ("task_status_update", EventType::CampaignStatusChanged),
    ("soft_bounces", EventType::EmailBounced),
    ("hard_bounces", EventType::EmailBounced),
    // SMTP (transactional); names from third-party clients.
    ("undelivered", EventType::EmailFailed),
    ("not_delivered", EventType::EmailFailed),
    ("opened", EventType::EmailOpened),
    ("clicked", EventType::EmailClicked),
    ("redirected", EventType::EmailClicked),
    ("unsubscribed", EventType::ContactUnsubscribed),
    ("spam_by_user", EventType::EmailComplained),
    ("soft_bounce", EventType::EmailBounced),
    ("hard_bounce", EventType::EmailBounced),
];

pub(crate) fn canonical_type(key: &str) -> EventType {
    crate::types::lookup(EVENTS, key)
}

/// Automation 360 items carry no `event`; they are told by their flow id and
/// execution date.
fn is_automation_360(obj: &Object) -> bool {
    !obj.contains_key("event")
        && obj.contains_key("automation_id")
        && (obj.contains_key("execution_date") || obj.contains_key("title"))
}

pub(crate) fn event(obj: &Object, received_at: Timestamp) -> Draft {
    let mut d = if is_automation_360(obj) {
        Draft::new(
            EventType::AutomationTriggered,
            obj.get("title").and_then(event_name),
        )
    } else {
        let name = obj.get("event").and_then(event_name);
        let key = name.as_deref().map(lookup_key).unwrap_or_default();
        let mut d = Draft::new(canonical_type(&key), name);
        if d.event_type == EventType::EmailBounced {
            d.attr("bounce_type", bounce_type(&key));
        }
        d
    };
    set_occurred_at(
        &mut d,
        &[obj],
        &["timestamp", "execution_date"],
        received_at,
    );
    d.email = email_at(obj, &["email", "recipient"]);
    d.phone = text_at(obj, &["phone"]);
    d.campaign_id = text_at(obj, &["task_id"]);
    d.message_id = text_at(obj, &["message_id"]);
    d.automation_id = text_at(obj, &["automation_id"]);
    d.list_id = text_at(obj, &["book_id"]);

    d.attr("url", text_at(obj, &["link_url"]));
    d.attr("link_id", text_at(obj, &["link_id"]));
    d.attr("device", text_at(obj, &["open_device"]));
    d.attr("platform", text_at(obj, &["open_platform"]));
    d.attr("browser", text_at(obj, &["browser_name"]));
    d.attr("browser_version", text_at(obj, &["browser_ver"]));
    // The SMTP response explains a bounce or failure; on a delivery it is
    // just the server's acknowledgement.
    let smtp_response = text_at(obj, &["smtp_server_response"]);
    let failed = matches!(
        d.event_type,
        EventType::EmailBounced | EventType::EmailFailed
    );
    d.attr(
        "reason",
        text_at(obj, &["reason"]).or_else(|| smtp_response.clone().filter(|_| failed)),
    );
    d.attr("smtp_response", smtp_response.filter(|_| !failed));
    d.attr("smtp_code", text_at(obj, &["smtp_server_response_code"]));
    d.attr(
        "smtp_subcode",
        text_at(obj, &["smtp_server_response_subcode"]),
    );
    d.attr("from_all", text_at(obj, &["from_all"]));
    d.attr("categories", text_at(obj, &["categories"]));
    d.attr("status", text_at(obj, &["status"]));
    d.attr("status_explain", text_at(obj, &["status_explain"]));
    d.attr("source", text_at(obj, &["source"]));
    d.attr("subject", text_at(obj, &["subject"]));
    d.attr("sender", text_at(obj, &["sender"]));
    d.attr("variables", obj.get("variables").map(merged_variables));
    d
}

/// A360 sends variables as `[{"name1": "value1"}, {"name2": "value2"}]`;
/// they are kept as one map. Anything else is kept as sent. Either is
/// copied only within [`MAX_COPIED_BYTES`].
fn merged_variables(value: &Json) -> Value {
    match value {
        Json::Array(items) if items.iter().all(Json::is_object) => {
            let mut budget = MAX_COPIED_BYTES;
            let mut merged = Map::new();
            for (key, value) in items
                .iter()
                .filter_map(Json::as_object)
                .flat_map(|o| o.iter())
            {
                let copy = take(&mut budget, 1 + key.len())
                    .and_then(|()| copied_within(value, &mut budget));
                let Some(copy) = copy else {
                    return not_copied();
                };
                merged.insert(key.to_owned(), copy);
            }
            Value::Object(merged)
        }
        other => copied(other),
    }
}
