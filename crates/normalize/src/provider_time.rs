//! An event's own time as its provider gives it, used only when it is
//! believable.

use crate::event::Draft;
use crate::fields::{copied, time};
use crate::json::{Json, Object};
use crate::Timestamp;

/// Times `d` by the first of `keys` (looked up in each of `objects` in
/// turn) that holds a time plausible for an event received at
/// `received_at`. When the provider sent a time but none is plausible
/// (unreadable, before 2000, or more than a day after receipt), the event
/// stays timed on receipt and the first value sent is kept, as sent, in
/// `attributes.provider_time`.
pub(crate) fn set_occurred_at(
    d: &mut Draft,
    objects: &[&Object],
    keys: &[&str],
    received_at: Timestamp,
) {
    let mut untrusted: Option<&Json> = None;
    for value in objects
        .iter()
        .flat_map(|o| keys.iter().filter_map(|k| o.get(k)))
    {
        match time(value) {
            Some(at) if at.is_plausible_event_time(received_at) => {
                d.occurred_at = Some(at);
                return;
            }
            _ if untrusted.is_none() && sent(value) => untrusted = Some(value),
            _ => {}
        }
    }
    d.attr("provider_time", untrusted.map(copied));
}

/// Whether a value says anything: not null, not an empty string.
fn sent(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Str(s) => !s.trim().is_empty(),
        _ => true,
    }
}
