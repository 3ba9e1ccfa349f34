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
mod number;
mod provider;
mod timestamp;
mod types;

mod egoi;
mod enkod;
mod flashy;
mod sendpulse;
mod supersend;

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
/// `Err` when the body as a whole is not the provider's envelope, or holds
/// more than `limit` members (counted before any event is built).
pub fn members(
    provider: Provider,
    body: &[u8],
    received_at: Timestamp,
    limit: usize,
) -> Result<Vec<Member<'_>>, NormalizeError> {
    let text = std::str::from_utf8(body).map_err(|e| NormalizeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    // A byte-order mark is not JSON, but some senders put one first.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let candidates = provider.split(text, limit)?;
    let mut members = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let object = match candidate {
            Ok(object) => object,
            Err((raw, reason)) => {
                members.push(Member::Invalid { raw, reason });
                continue;
            }
        };
        let draft = provider.event(&object.fields);
        let event = draft.finish(provider, &object, received_at);
        members.push(Member::Event {
            event,
            raw: object.raw,
        });
    }
    Ok(members)
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
