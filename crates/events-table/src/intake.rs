//! One path from a body, or one member of it, to the items that store it:
//! the functions' handler and `webhooks reprocess` both take it, so a
//! member reprocessed alone becomes exactly what its delivery stored.
//!
//! Each member stands alone: an event becomes its item; a member that is
//! not an event, or whose event is too large for an item even compressed,
//! is quarantined as its own `invalid` item. Only a body that is not the
//! provider's envelope at all (or carries too many members) is quarantined
//! whole. A quarantine item records what it holds in `attributes.holds`
//! (`body` or `member`) and, for a member, where the envelope held it in
//! `attributes.member` (`events[3]`), so it can be read again alone.

use crate::attr::inner;
use crate::item::{fit, stored_event, Item, MAX_ITEM_BYTES, SECONDS_PER_DAY};
use crate::store::event_id;
use aws_sdk_dynamodb::types::AttributeValue;
use normalize::{EventType, Member, NormalizeError, Provider, Timestamp};
use serde_json::Value;

/// How much of a member too large to quarantine whole is kept: its first 256 KiB,
/// which fit in an item even base64-encoded.
pub const QUARANTINE_PREFIX_BYTES: usize = 256 * 1024;

/// `attributes.holds` of a quarantine item that keeps a whole body.
pub const HOLDS_BODY: &str = "body";
/// `attributes.holds` of a quarantine item that keeps one member.
pub const HOLDS_MEMBER: &str = "member";

/// When the items expire (the `expires_at` TTL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Expiry {
    #[default]
    Never,
    /// This many days after receipt (`RETENTION_DAYS`).
    DaysAfterReceipt(u32),
    /// At this time (unix seconds, as DynamoDB's number text): an item
    /// written again keeps its old item's TTL.
    At(String),
}

impl Expiry {
    pub fn days(retention_days: Option<u32>) -> Self {
        retention_days.map_or(Expiry::Never, Expiry::DaysAfterReceipt)
    }
}

/// What a quarantine item holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    /// The whole body (its envelope could not be read), or the body's one
    /// event object.
    Body,
    /// One member, at this place in the envelope (`events[3]`).
    Member(String),
}

/// What kind of item holds a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An event; `unknown` when its type has no mapping yet.
    Event { unknown: bool },
    /// A quarantine item holding its bytes whole.
    Quarantined,
    /// A quarantine item holding only their first part (too large even
    /// for that).
    QuarantinedInPart,
}

/// A member (or a whole body) on its way to the table: the id of the item
/// that holds it, its bytes, what kind of item that is, and what it is.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub id: String,
    pub raw: &'a [u8],
    pub kind: Kind,
    pub holds: Holds,
}

/// What a body comes to.
#[derive(Debug)]
pub enum BodyItems<'a> {
    /// Each member's entry and item, in body order.
    Members(Vec<(Entry<'a>, Item)>),
    /// The body is not the provider's envelope, or holds too many members:
    /// why, and the one quarantine item that keeps it whole.
    Refused {
        reason: NormalizeError,
        entry: Entry<'a>,
        item: Item,
    },
}

/// Who sent what, when, and how long it is kept.
#[derive(Debug, Clone)]
pub struct Intake {
    pub provider: Provider,
    pub received_at: Timestamp,
    pub expiry: Expiry,
}

impl Intake {
    /// The items of a body of at most `limit` members.
    pub fn body<'a>(&self, body: &'a [u8], limit: usize) -> BodyItems<'a> {
        match normalize::placed_members(self.provider, body, self.received_at, limit) {
            Ok(members) => BodyItems::Members(
                members
                    .into_iter()
                    .map(|(place, member)| {
                        let holds = place.map_or(Holds::Body, |p| Holds::Member(p.to_string()));
                        self.member_item(member, holds)
                    })
                    .collect(),
            ),
            Err(reason) => {
                let (entry, item) = self.quarantine(body, &reason.to_string(), Holds::Body);
                BodyItems::Refused {
                    reason,
                    entry,
                    item,
                }
            }
        }
    }

    /// The item of one member read again alone: `raw` is its text, `holds`
    /// what it was (a member at its place, or the body's one event object).
    /// The same item its delivery stored, unless the normalizer changed.
    pub fn member<'a>(&self, raw: &'a str, holds: Holds) -> (Entry<'a>, Item) {
        let place = match &holds {
            Holds::Member(place) => place.as_str(),
            Holds::Body => "body",
        };
        let member = match normalize::member(self.provider, raw, place, self.received_at) {
            // Byte for byte as stored, whitespace around it included.
            Member::Event { mut event, .. } => {
                event.raw = raw.to_owned();
                Member::Event { event, raw }
            }
            invalid => invalid,
        };
        self.member_item(member, holds)
    }

    fn member_item<'a>(&self, member: Member<'a>, holds: Holds) -> (Entry<'a>, Item) {
        match member {
            Member::Event { event, raw } => {
                let unknown = event.event_type == EventType::Unknown;
                match fit(self.item(stored_event(event, None))) {
                    Ok(item) => {
                        let entry = Entry {
                            id: event_id(&item).to_owned(),
                            raw: raw.as_bytes(),
                            kind: Kind::Event { unknown },
                            holds,
                        };
                        (entry, item)
                    }
                    Err(size) => {
                        let reason = format!(
                            "event is {size} bytes even with raw compressed, over DynamoDB's item limit of {MAX_ITEM_BYTES} bytes"
                        );
                        self.quarantine(raw.as_bytes(), &reason, holds)
                    }
                }
            }
            Member::Invalid { raw, reason } => {
                self.quarantine(raw.as_bytes(), &reason.to_string(), holds)
            }
        }
    }

    /// The quarantine item that keeps `bytes` with `reason`: whole, `raw`
    /// compressed if it must be, or else their first [`QUARANTINE_PREFIX_BYTES`]
    /// with `truncated`, the full size and a SHA-256 of all of them.
    pub fn quarantine<'a>(&self, bytes: &'a [u8], reason: &str, holds: Holds) -> (Entry<'a>, Item) {
        let (provider, at) = (self.provider, self.received_at);
        let whole = normalize::quarantine(provider, bytes, reason, at);
        let (item, kind) = match fit(self.quarantine_item(whole, &holds)) {
            Ok(item) => (item, Kind::Quarantined),
            Err(_) => {
                let part = normalize::quarantine_part(
                    provider,
                    bytes,
                    reason,
                    at,
                    QUARANTINE_PREFIX_BYTES,
                );
                // The prefix fits unless the reason itself is huge.
                let item = fit(self.quarantine_item(part, &holds))
                    .unwrap_or_else(|_| self.summary(bytes, reason, &holds));
                (item, Kind::QuarantinedInPart)
            }
        };
        let entry = Entry {
            id: event_id(&item).to_owned(),
            raw: bytes,
            kind,
            holds,
        };
        (entry, item)
    }

    /// The smallest quarantine item for `bytes`: no text of theirs, only
    /// their size and SHA-256, and the reason's first kilobyte. It always
    /// fits.
    pub fn summary(&self, bytes: &[u8], reason: &str, holds: &Holds) -> Item {
        let mut cut = reason.len().min(1024);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let summary =
            normalize::quarantine_part(self.provider, bytes, &reason[..cut], self.received_at, 0);
        self.quarantine_item(summary, holds)
    }

    fn quarantine_item(&self, mut kept: normalize::Event, holds: &Holds) -> Item {
        let (holds, member) = match holds {
            Holds::Body => (HOLDS_BODY, None),
            Holds::Member(place) => (HOLDS_MEMBER, Some(place.clone())),
        };
        kept.attributes
            .insert(inner::HOLDS.to_owned(), Value::from(holds));
        if let Some(place) = member {
            kept.attributes
                .insert(inner::MEMBER.to_owned(), Value::from(place));
        }
        self.item(stored_event(kept, None))
    }

    /// The item of `event` with this intake's expiry.
    fn item(&self, mut event: crate::StoredEvent) -> Item {
        let received = self.received_at.unix_seconds();
        event.expires_at = match &self.expiry {
            Expiry::Never => None,
            Expiry::DaysAfterReceipt(days) => {
                Some((received + i64::from(*days) * SECONDS_PER_DAY).to_string())
            }
            Expiry::At(at) => Some(at.clone()),
        };
        Item::from(event)
    }
}

/// What a stored quarantine item holds, from its attributes: a member at
/// its place, or (also for items written before this was recorded) the
/// body.
pub fn holds(attributes: &std::collections::HashMap<String, AttributeValue>) -> Holds {
    match (attributes.get(inner::HOLDS), attributes.get(inner::MEMBER)) {
        (Some(AttributeValue::S(h)), Some(AttributeValue::S(place))) if h == HOLDS_MEMBER => {
            Holds::Member(place.clone())
        }
        _ => Holds::Body,
    }
}
