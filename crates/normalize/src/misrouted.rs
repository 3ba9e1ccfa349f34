//! Bodies sent to the wrong provider's URL. Each provider's event objects
//! carry keys that no other provider sends; a body whose events carry
//! another provider's keys, and none of the receiver's, was meant for that
//! provider and is refused with its name, so the user can fix the URL.

use crate::envelope::{self, Body, Candidate};
use crate::json::Object;
use crate::{NormalizeError, Provider};

/// Whether `object` holds every key of one of `provider`'s key sets (its
/// module's `MARKS`, from its documented bodies).
fn marked_by(provider: Provider, object: &Object) -> bool {
    provider
        .marks()
        .iter()
        .any(|set| set.iter().all(|key| object.contains_key(key)))
}

/// The other provider whose keys `object` carries, when it carries none of
/// `receiver`'s.
pub(crate) fn looks_like(receiver: Provider, object: &Object) -> Option<Provider> {
    if marked_by(receiver, object) {
        return None;
    }
    Provider::ALL
        .into_iter()
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
