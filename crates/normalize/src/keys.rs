//! The events table's index keys (DESIGN.md): `contact_key`, the partition
//! key of `by_contact`, and `day_key`, the partition key of `by_day`. One
//! place for their form: every event gets its keys here, and the operator's
//! CLI looks events up by the same functions.

use crate::Provider;
use sha2::{Digest, Sha256};

/// DynamoDB refuses a partition-key value over 2,048 bytes, in the table and
/// in each index.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// How much of an over-long key is kept before its hash.
const KEPT_KEY_BYTES: usize = 1900;

/// `email#<email>` (the address as the event carries it: trimmed, lower-cased).
pub fn email_key(email: &str) -> String {
    bounded_key(format!("email#{email}"))
}

/// `contact#<provider>#<contact id>`.
pub fn contact_id_key(provider: Provider, id: &str) -> String {
    bounded_key(format!("contact#{provider}#{id}"))
}

/// `phone#<phone>`.
pub fn phone_key(phone: &str) -> String {
    bounded_key(format!("phone#{phone}"))
}

/// `<provider>#<YYYY-MM-DD>`.
pub fn day_key(provider: Provider, day: &str) -> String {
    let mut key = String::with_capacity(provider.as_str().len() + 1 + day.len());
    key.push_str(provider.as_str());
    key.push('#');
    key.push_str(day);
    key
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
    let digest = Sha256::digest(key.as_bytes());
    let mut bounded = String::with_capacity(cut + 8 + 64);
    bounded.push_str(&key[..cut]);
    bounded.push_str("#sha256:");
    for b in digest {
        bounded.push_str(&format!("{b:02x}"));
    }
    bounded
}
