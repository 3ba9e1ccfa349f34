//! The names of a stored item's attributes, and of the keys inside its
//! `attributes` map that the table itself reads (docs/storage.md). Every
//! other crate spells them through these constants.

pub const EVENT_ID: &str = "event_id";
pub const PROVIDER: &str = "provider";
pub const EVENT_TYPE: &str = "event_type";
pub const PROVIDER_EVENT: &str = "provider_event";
/// The version of the normalizer that wrote the item.
pub const NORMALIZER: &str = "normalizer";
pub const OCCURRED_AT: &str = "occurred_at";
pub const OCCURRED_AT_SOURCE: &str = "occurred_at_source";
pub const RECEIVED_AT: &str = "received_at";
pub const CHANNEL: &str = "channel";
pub const EMAIL: &str = "email";
pub const PHONE: &str = "phone";
pub const CONTACT_ID: &str = "contact_id";
pub const ACCOUNT_ID: &str = "account_id";
pub const CAMPAIGN_ID: &str = "campaign_id";
pub const MESSAGE_ID: &str = "message_id";
pub const AUTOMATION_ID: &str = "automation_id";
pub const LIST_ID: &str = "list_id";
/// The `by_contact` index's partition key.
pub const CONTACT_KEY: &str = "contact_key";
/// The `by_day` index's partition key.
pub const DAY_KEY: &str = "day_key";
pub const RAW: &str = "raw";
/// The map of type-specific details.
pub const ATTRIBUTES: &str = "attributes";
pub const SCHEMA_VERSION: &str = "schema_version";
/// The TTL attribute (unix seconds).
pub const EXPIRES_AT: &str = "expires_at";

/// Keys inside `attributes`.
pub mod inner {
    /// Why an `invalid` item was kept aside.
    pub const REASON: &str = "reason";
    /// How `raw` is encoded, when it is not the text itself.
    pub const RAW_ENCODING: &str = "raw_encoding";
    /// `true` on an item that keeps only the first part of its bytes.
    pub const TRUNCATED: &str = "truncated";
    /// The size of the whole, on a truncated item.
    pub const ORIGINAL_BYTES: &str = "original_bytes";
    /// SHA-256 (hex) of the whole, on a truncated item.
    pub const SHA256: &str = "sha256";
    /// What a quarantine item holds: `body` or `member`.
    pub const HOLDS: &str = "holds";
    /// Where the envelope held a quarantined member (`events[3]`).
    pub const MEMBER: &str = "member";
}
