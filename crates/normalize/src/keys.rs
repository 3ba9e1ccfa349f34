//! The events table's index keys (docs/design.md): `contact_key`, the partition
//! key of `by_contact`, and `day_key`, the partition key of `by_day`. One
//! place for their form: every event gets its keys here, and the operator's
//! CLI looks events up by the same functions.

use crate::event::hex;
use crate::Provider;
use sha2::{Digest, Sha256};

/// DynamoDB refuses a partition-key value over 2,048 bytes, in the table and
/// in each index.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// How much of an over-long key is kept before its hash.
const KEPT_KEY_BYTES: usize = 1900;

/// `email#<email>` (the address as the event carries it: trimmed, lower-cased).
pub fn email_key(email: &str) -> String {
    bounded_key(joined(&["email#", email]))
}

/// `contact#<provider>#<contact id>`.
pub fn contact_id_key(provider: Provider, id: &str) -> String {
    bounded_key(joined(&["contact#", provider.as_str(), "#", id]))
}

/// `phone#<phone>`.
pub fn phone_key(phone: &str) -> String {
    bounded_key(joined(&["phone#", phone]))
}

/// The parts one after another. Joined by hand: every event makes a key,
/// and `format!` went through the formatting machinery for what is a few
/// copies.
fn joined(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.push_str(part);
    }
    key
}

/// `<provider>#<YYYY-MM-DD>`.
pub fn day_key(provider: Provider, day: &str) -> String {
    joined(&[provider.as_str(), "#", day])
}

/// `key` itself when DynamoDB can index it; else its first 1,900 bytes (cut
/// back to a whole character), `#sha256:` and the SHA-256 (hex) of the whole
/// key, so the event is still stored and found by the same key whenever the
/// same contact comes again.
pub fn bounded_key(key: String) -> String {
    if key.len() <= MAX_PARTITION_KEY_BYTES {
        return key;
    }
    let mut cut = KEPT_KEY_BYTES;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    joined(&[
        &key[..cut],
        "#sha256:",
        &hex(&Sha256::digest(key.as_bytes())),
    ])
}
