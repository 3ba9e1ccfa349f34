//! The consent view on AWS (docs/consent.md): the stored item read as the
//! fold's [`consent::Fact`] ([`image`]), the consent table ([`table`]), the
//! stream batch handler ([`stream`]) and the lookup's answer ([`lookup`]).
//! The binaries `consent` (stream) and `consent-lookup` (HTTP) and the CLI's
//! consent verbs all go through here.

pub mod changes;
pub mod erasure;
pub mod export;
pub mod follow;
pub mod image;
pub mod lookup;
pub mod metrics;
pub mod pending;
pub mod rebuild;
pub mod stream;
pub mod table;

pub use table::ConsentTable;

/// The fold's settings from the environment: `UNDELIVERABLE_BOUNCES` and
/// `UNDELIVERABLE_DAYS` (defaults 3 and 14).
pub fn settings_from_env() -> consent::Settings {
    let mut settings = consent::Settings::default();
    let read = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    if let Some(n) = read("UNDELIVERABLE_BOUNCES") {
        settings.undeliverable_bounces = n as usize;
    }
    if let Some(days) = read("UNDELIVERABLE_DAYS") {
        settings.undeliverable_days = i64::from(days);
    }
    settings
}

/// The consent table's name: `CONSENT_TABLE_NAME`, else `webhook-consent`.
pub fn table_name_from_env() -> String {
    std::env::var("CONSENT_TABLE_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_TABLE.to_owned())
}

pub const DEFAULT_TABLE: &str = "webhook-consent";
