//! Storing one request's items so that every member is kept: an item
//! DynamoDB refuses is replaced by a smaller one that quarantines its
//! member, and stored in a further round (event → the member whole or in
//! part → a summary of it), within the quarantine deadline. What became of
//! each member is counted from the kind of item that holds it, and only
//! what is stored is counted: a member DynamoDB will not take even as a
//! summary fails the request, so the provider retries.

use crate::intake::{Entry, Intake, Kind};
use crate::item::Item;
use crate::store::{event_id, store_all, StoreError, Table};
use normalize::Provider;
use std::collections::{HashMap, HashSet};
use tokio::time::Instant;

/// Times a refused item is replaced by a smaller quarantine item before the
/// store gives up on it (event → whole member → summary of the member).
const ROUNDS: usize = 3;

/// What became of a request's members.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    /// Events new to the table.
    pub stored: usize,
    /// Events already stored (a redelivery), or repeated within the body.
    pub duplicates: usize,
    /// Members (or a whole body) quarantined as `invalid` items.
    pub quarantined: usize,
    /// Of those, quarantined only in part (too large even for that).
    pub truncated: usize,
    /// Events of a type the mapping does not know.
    pub unknown: usize,
}

/// When storing must be done: the first round by `store`, the rounds that
/// quarantine what DynamoDB refused by `quarantine`.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub store: Instant,
    pub quarantine: Instant,
}

/// Stores `items` (one per entry, in the same order, as
/// [`Intake::body`](crate::intake::Intake::body) gives them), replacing
/// refused ones with quarantine items; returns what became of each member.
pub async fn save<T: Table>(
    table: &T,
    intake: &Intake,
    mut entries: Vec<Entry<'_>>,
    items: Vec<Item>,
    deadlines: Deadlines,
) -> Result<Counts, StoreError> {
    let mut written = HashSet::new();
    let mut pending = items;
    let mut deadline = deadlines.store;
    for _ in 0..ROUNDS {
        if pending.is_empty() {
            break;
        }
        let stored = store_all(table, pending, deadline).await?;
        written.extend(stored.written);
        pending = replace_refused(intake, &mut entries, stored.refused)?;
        deadline = deadline.max(deadlines.quarantine);
    }
    if let Some(item) = pending.first() {
        return Err(not_quarantined(intake.provider, item, pending.len()));
    }
    Ok(count(&entries, &written))
}

/// The items that quarantine the members of refused items, the entries
/// updated to point at them; an error when nothing smaller is left to try.
fn replace_refused(
    intake: &Intake,
    entries: &mut [Entry<'_>],
    refused: Vec<(Item, String)>,
) -> Result<Vec<Item>, StoreError> {
    if refused.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        by_id.entry(entry.id.clone()).or_default().push(index);
    }
    let mut replacements = Vec::new();
    for (item, reason) in refused {
        let Some(indexes) = by_id.get(event_id(&item)) else {
            continue;
        };
        let Some(first) = indexes.first().map(|&i| &entries[i]) else {
            continue;
        };
        let (raw, kind, holds) = (first.raw, first.kind, first.holds.clone());
        tracing::warn!(
            provider = intake.provider.as_str(),
            event_id = event_id(&item),
            reason,
            "item refused by DynamoDB; its member is quarantined instead"
        );
        let reason = format!("DynamoDB refused the item: {reason}");
        let (entry, replacement) = match kind {
            Kind::Event { .. } => intake.quarantine(raw, &reason, holds),
            Kind::Quarantined => {
                let summary = intake.summary(raw, &reason, &holds);
                let entry = Entry {
                    id: event_id(&summary).to_owned(),
                    raw,
                    kind: Kind::QuarantinedInPart,
                    holds,
                };
                (entry, summary)
            }
            // Nothing smaller keeps it; sending it again would be refused
            // again. The member is stored nowhere: the provider must retry.
            Kind::QuarantinedInPart => return Err(not_quarantined(intake.provider, &item, 1)),
        };
        warn_in_part(intake.provider, &entry);
        for &index in indexes {
            entries[index] = entry.clone();
        }
        replacements.push(replacement);
    }
    Ok(replacements)
}

/// Logs a member quarantined only in part (too large for one item even
/// compressed).
pub fn warn_in_part(provider: Provider, entry: &Entry<'_>) {
    if entry.kind == Kind::QuarantinedInPart {
        tracing::warn!(
            provider = provider.as_str(),
            event_id = entry.id,
            bytes = entry.raw.len(),
            "member quarantined only in part: too large for one item even compressed"
        );
    }
}

/// DynamoDB refused even the smallest item that would quarantine a member:
/// the request fails (503), so that the provider retries rather than
/// hearing that a member it sent is kept when it is stored nowhere.
fn not_quarantined(provider: Provider, item: &Item, members: usize) -> StoreError {
    tracing::error!(
        provider = provider.as_str(),
        event_id = event_id(item),
        members,
        "member not quarantined: DynamoDB refused even its summary"
    );
    StoreError::Refused(format!(
        "DynamoDB refused even the summary that would quarantine {members} member(s), e.g. {}",
        event_id(item)
    ))
}

/// What became of each member, from the kind of item that holds it and
/// whether this request wrote it.
fn count(entries: &[Entry<'_>], written: &HashSet<String>) -> Counts {
    let mut counts = Counts {
        received: entries.len(),
        ..Counts::default()
    };
    let mut first = HashSet::with_capacity(entries.len());
    for entry in entries {
        match entry.kind {
            Kind::Event { unknown } => {
                counts.unknown += usize::from(unknown);
                if written.contains(&entry.id) && first.insert(entry.id.as_str()) {
                    counts.stored += 1;
                } else {
                    counts.duplicates += 1;
                }
            }
            Kind::Quarantined => counts.quarantined += 1,
            Kind::QuarantinedInPart => {
                counts.quarantined += 1;
                counts.truncated += 1;
            }
        }
    }
    counts
}
