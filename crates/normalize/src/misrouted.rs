//! Bodies sent to the wrong provider's URL. Each provider's event objects
//! carry keys that no other provider sends; a body whose events carry
//! another provider's keys, and none of the receiver's, was meant for that
//! provider and is refused with its name, so the user can fix the URL.

use crate::envelope::{self, Body, Candidate};
use crate::json::Object;
use crate::{NormalizeError, Provider};

/// The keys that mark one provider's event objects, from its documented
/// bodies: an object is marked by a provider when it holds every key of one
/// of the provider's sets.
const MARKS: [(Provider, &[&[&str]]); 5] = [
    // The `{"events": [...]}` envelope, and each event's `action`.
    (Provider::Egoi, &[&["events"], &["action"]]),
    // Every current event has `account_id`; the legacy body is
    // `{"event", "body"}`.
    (Provider::Flashy, &[&["account_id"], &["event", "body"]]),
    // E-mail service `task_id` / `book_id`, SMTP `recipient`, Automation 360
    // `execution_date`.
    (
        Provider::Sendpulse,
        &[
            &["task_id"],
            &["book_id"],
            &["recipient"],
            &["execution_date"],
        ],
    ),
    // Message events `message_uid` / `sending_type`, WhatsApp
    // `from_number`, mailing groups `group_id` / `groups_ids`.
    (
        Provider::Enkod,
        &[
            &["message_uid"],
            &["sending_type"],
            &["from_number"],
            &["group_id"],
            &["groups_ids"],
        ],
    ),
    // `CampaignId` (both kinds of webhook), `ContactId` (API-created),
    // `conversationId` and the `contact` record with `type` (integration).
    (
        Provider::Supersend,
        &[
            &["CampaignId"],
            &["ContactId"],
            &["conversationId"],
            &["type", "contact"],
        ],
    ),
];

fn marked_by(provider: Provider, object: &Object) -> bool {
    MARKS
        .iter()
        .filter(|(p, _)| *p == provider)
        .flat_map(|(_, sets)| sets.iter())
        .any(|set| set.iter().all(|key| object.contains_key(key)))
}

/// The other provider whose keys `object` carries, when it carries none of
/// `receiver`'s.
pub(crate) fn looks_like(receiver: Provider, object: &Object) -> Option<Provider> {
    if marked_by(receiver, object) {
        return None;
    }
    MARKS
        .iter()
        .map(|(p, _)| *p)
        .find(|&p| p != receiver && marked_by(p, object))
}

/// `Err` naming the provider the body was meant for, when one of its event
/// objects looks like another provider's.
pub(crate) fn check(receiver: Provider, candidates: &[Candidate]) -> Result<(), NormalizeError> {
    let sender = candidates
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .find_map(|object| looks_like(receiver, &object.fields));
    match sender {
        Some(sender) => Err(NormalizeError::Misrouted { sender }),
        None => Ok(()),
    }
}

/// For a body that is not `receiver`'s envelope: the error naming the
/// provider it looks like, else `error` unchanged.
pub(crate) fn explain(
    receiver: Provider,
    text: &str,
    limit: usize,
    error: NormalizeError,
) -> NormalizeError {
    if !matches!(error, NormalizeError::UnexpectedShape { .. }) {
        return error;
    }
    let candidates = match envelope::read(receiver.as_str(), text, limit) {
        // Only the held elements are looked at, however many there were.
        Ok(Body::Array(elements)) => envelope::objects(elements, "body", usize::MAX),
        Ok(Body::Object(fields)) => Ok(envelope::whole(text, fields)),
        Err(_) => return error,
    };
    match candidates.map(|c| check(receiver, &c)) {
        Ok(Err(misrouted)) => misrouted,
        _ => error,
    }
}

/// How a provider is named to the user, with its article.
pub(crate) fn brand(provider: Provider) -> (&'static str, &'static str) {
    match provider {
        Provider::Flashy => ("a", "Flashy"),
        Provider::Egoi => ("an", "E-goi"),
        Provider::Enkod => ("an", "enKod"),
        Provider::Supersend => ("a", "SuperSend"),
        Provider::Sendpulse => ("a", "SendPulse"),
    }
}
