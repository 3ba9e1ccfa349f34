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
pub use event::{Event, TimeSource};
pub use provider::Provider;
pub use timestamp::Timestamp;
pub use types::{Channel, CANONICAL_TYPES, INVALID, UNKNOWN};

/// This normalizer's version (the crate's), stored on every item as
/// `normalizer` so that a re-normalization never lets an older normalizer
/// overwrite a newer one's work.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every canonical event carried by `body`, in body order.
pub fn normalize(
    provider: Provider,
    body: &[u8],
    received_at: Timestamp,
) -> Result<Vec<Event>, NormalizeError> {
    let text = std::str::from_utf8(body).map_err(|e| NormalizeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    // A byte-order mark is not JSON, but some senders put one first.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let items = match provider {
        Provider::Flashy => flashy::split(text)?,
        Provider::Egoi => egoi::split(text)?,
        Provider::Enkod => enkod::split(text)?,
        Provider::Supersend => supersend::split(text)?,
        Provider::Sendpulse => sendpulse::split(text)?,
    };
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let draft = match provider {
            Provider::Flashy => flashy::event(&item.fields),
            Provider::Egoi => egoi::event(&item.fields),
            Provider::Enkod => enkod::event(&item.fields),
            Provider::Supersend => supersend::event(&item.fields),
            Provider::Sendpulse => sendpulse::event(&item.fields),
        };
        events.push(draft.finish(provider, &item, received_at));
    }
    Ok(events)
}

/// The item kept for a body that could not be understood: nothing is lost,
/// the raw bytes are stored with the reason, and a redelivery of the same
/// bytes maps to the same id.
pub fn quarantine(provider: Provider, body: &[u8], reason: &str, received_at: Timestamp) -> Event {
    event::quarantine(provider, body, reason, received_at)
}
