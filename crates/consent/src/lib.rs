//! The consent view's rules (docs/consent.md): the consent facts of stored
//! events in ([`Fact`]), one verdict per channel out ([`fold`]). Pure: no
//! I/O, no AWS types, so the stream function, the CLI's rebuild and the
//! tests all run the same code.
//!
//! The state is a set of facts keyed by event id, never an accumulator: the
//! verdict is derived from the whole set each time, so the order in which
//! facts arrive, and how often each arrives, cannot change it.

mod fact;
mod fold;
mod subject;
pub mod words;

pub use fact::{Fact, FactError, Meaning, OptIn, CLEARED, CONSENT_TYPES};
pub use fold::{fold, Channel, Consent, HistoryEntry, Reason, Settings, Verdict};
pub use subject::{contact_subject, links, normalize_subject, subjects, Subject};
