//! Turns the body of one provider webhook request into canonical events.
//!
//! Pure: no I/O, no AWS types, no panics on any input. One entry point,
//! [`normalize`], takes the provider, the raw body bytes and the receive
//! time, and returns every event of the body in body order, or a
//! [`NormalizeError`] saying why the body is not that provider's shape.

mod envelope;
mod error;
mod event;
mod fields;
mod json;
pub mod keys;
mod misrouted;
mod number;
mod provider;
mod provider_time;
mod timestamp;
mod types;

mod egoi;
mod enkod;
mod flashy;
mod sendpulse;
mod supersend;

pub use envelope::Place;
pub use error::NormalizeError;
pub use event::{quarantine, quarantine_part, Event, TimeSource};
pub use keys::{bounded_key, MAX_PARTITION_KEY_BYTES};
pub use provider::Provider;
pub use timestamp::Timestamp;
pub use types::{Channel, EventType, CANONICAL_TYPES, INVALID, UNKNOWN};

/// This normalizer's version (the crate's), stored on every item as
/// `normalizer` so that a re-normalization never lets an older normalizer
/// overwrite a newer one's work.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One member of a body's envelope, normalized on its own account.
// Nearly every member is an event: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Member<'a> {
    /// A canonical event, and its exact text in the body.
    Event { event: Event, raw: &'a str },
    /// A member that is not an event (not an object, nested too deep): its
    /// exact text in the body, and why.
    Invalid {
        raw: &'a str,
        reason: NormalizeError,
    },
}

/// Every member of `body` in body order, each an event or an invalid member.
/// `Err` when the body as a whole is not the provider's envelope, is another
/// provider's webhook (naming it), or holds more than `limit` members
/// (counted before any event is built).
pub fn members(
    provider: Provider,
    body: &[u8],
    received_at: Timestamp,
    limit: usize,
) -> Result<Vec<Member<'_>>, NormalizeError> {
    let placed = placed_members(provider, body, received_at, limit)?;
    Ok(placed.into_iter().map(|(_, member)| member).collect())
}

/// [`members`], each with where the envelope holds it (`None`: the body is
/// the one event object), so that [`member`] can read it again alone.
pub fn placed_members(
    provider: Provider,
    body: &[u8],
    received_at: Timestamp,
    limit: usize,
) -> Result<Vec<(Option<Place>, Member<'_>)>, NormalizeError> {
    let text = std::str::from_utf8(body).map_err(|e| NormalizeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    // A byte-order mark is not JSON, but some senders put one first.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let candidates = provider
        .split(text, limit)
        .map_err(|e| misrouted::explain(provider, text, limit, e))?;
    misrouted::check(provider, &candidates)?;
    Ok(candidates
        .into_iter()
        .map(|(place, candidate)| (place, read_member(provider, candidate, received_at)))
        .collect())
}

/// One member of an envelope read again on its own, exactly as
/// [`placed_members`] read it at `place` (a [`Place`] as it shows,
/// `events[3]`): the same event, or the same reason it is not one. `raw`
/// is its text.
pub fn member<'a>(
    provider: Provider,
    raw: &'a str,
    place: &str,
    received_at: Timestamp,
) -> Member<'a> {
    // A member of the body's own array is held by that array; one of an
    // array inside the body's object (`events[3]`), by the object and the
    // array.
    let depth = if place.starts_with("body[") { 1 } else { 2 };
    let candidate = match serde_json::from_str::<&serde_json::value::RawValue>(raw) {
        Ok(value) => envelope::member(value, place, depth),
        Err(e) => Err((
            raw,
            NormalizeError::NotAnEvent(format!("{place} cannot be read: {e}")),
        )),
    };
    read_member(provider, candidate, received_at)
}

fn read_member<'a>(
    provider: Provider,
    candidate: Result<envelope::EventObject<'a>, (&'a str, NormalizeError)>,
    received_at: Timestamp,
) -> Member<'a> {
    let object = match candidate {
        Ok(object) => object,
        Err((raw, reason)) => return Member::Invalid { raw, reason },
    };
    let draft = provider.event(&object.fields, received_at);
    let event = draft.finish(provider, &object, received_at);
    Member::Event {
        event,
        raw: object.raw,
    }
}

/// Every canonical event carried by `body`, in body order; `Err` when the
/// body, or any member of it, is not the provider's shape.
pub fn normalize(
    provider: Provider,
    body: &[u8],
    received_at: Timestamp,
) -> Result<Vec<Event>, NormalizeError> {
    members(provider, body, received_at, usize::MAX)?
        .into_iter()
        .map(|member| match member {
            Member::Event { event, .. } => Ok(event),
            Member::Invalid { reason, .. } => Err(reason),
        })
        .collect()
}
