//! The whole view derived again from the events table (`webhooks consent
//! rebuild`): for a deployment that had events before the consent function,
//! or after a change of the rules. It writes what the stream would have
//! written and deletes nothing the stream may have built: an event gone from
//! the events table (retention, erasure) takes nothing away from the view,
//! as the stream ignores removals. The one fact it deletes is that of an
//! event still stored but retyped (by reprocessing) to a type the view does
//! not keep. Operators' clears and forgotten people's records live only in
//! the consent table and are kept.

use crate::image::{fact_from_image, image_of};
use crate::table::{
    delete_request, digest, put_request, sort_key, ConsentTable, Item, TableError, DIGEST,
};
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use std::collections::{BTreeMap, BTreeSet};

/// What a rebuild did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rebuilt {
    /// Items of the events table read.
    pub scanned: u64,
    /// Of those, consent events and events linking a contact id to an address.
    pub applied: u64,
    /// Consent events the fold could not read (left out, listed on stderr).
    pub unreadable: u64,
    /// Consent items written (absent or changed; those already as the
    /// events table says are left alone), and facts deleted because their
    /// event is still stored but retyped to a type the view does not keep.
    pub written: u64,
    pub deleted: u64,
}

/// The attributes of a stored event the fold reads (not `raw`).
/// What the fold reads of a stored event.
const PROJECTION: [&str; 10] = [
    attr::EVENT_ID,
    attr::PROVIDER,
    attr::EVENT_TYPE,
    attr::OCCURRED_AT,
    attr::CHANNEL,
    attr::EMAIL,
    attr::PHONE,
    attr::CONTACT_ID,
    attr::LIST_ID,
    attr::ATTRIBUTES,
];

/// What the events table says: the consent items it accounts for, keyed
/// (subject, sk), each the latest copy, as the stream's conditional writes
/// leave them; and the ids of stored events of a type the view does not keep.
#[derive(Debug, Default)]
pub struct Desired {
    pub items: BTreeMap<(String, String), Item>,
    pub not_consent: BTreeSet<String>,
}

pub async fn desired_items(
    table: &ConsentTable,
    events_table: &str,
    summary: &mut Rebuilt,
    mut on_unreadable: impl FnMut(&str, &str),
) -> Result<Desired, TableError> {
    let mut out = Desired::default();
    let desired = &mut out.items;
    let mut start = None;
    loop {
        let page = table
            .client
            .scan()
            .table_name(events_table)
            .projection_expression(PROJECTION.join(", "))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                TableError(format!(
                    "Scan {events_table}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                ))
            })?;
        for item in page.items.unwrap_or_default() {
            summary.scanned += 1;
            let id = match item.get(attr::EVENT_ID) {
                Some(AttributeValue::S(id)) => id.clone(),
                _ => String::new(),
            };
            let is_consent_type = matches!(item.get(attr::EVENT_TYPE), Some(AttributeValue::S(t)) if consent::CONSENT_TYPES.contains(&t.as_str()));
            if !is_consent_type && matches!(item.get(attr::EVENT_TYPE), Some(AttributeValue::S(_)))
            {
                out.not_consent.insert(id.clone());
            }
            let fact = match fact_from_image(&image_of(item)) {
                Ok(fact) => fact,
                Err(e) => {
                    if is_consent_type {
                        summary.unreadable += 1;
                        on_unreadable(&id, &e.to_string());
                    }
                    continue;
                }
            };
            let items = crate::table::items_of(&fact)?;
            if !items.is_empty() {
                summary.applied += 1;
            }
            for item in items {
                let key = (s(&item, "subject"), s(&item, "sk"));
                let newer = desired
                    .get(&key)
                    .is_none_or(|kept| s(kept, "occurred_at") < s(&item, "occurred_at"));
                if newer {
                    desired.insert(key, item);
                }
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(out);
        }
    }
}

/// Rebuilds the consent table from the events table.
pub async fn rebuild(
    table: &ConsentTable,
    events_table: &str,
    on_unreadable: impl FnMut(&str, &str),
) -> Result<Rebuilt, TableError> {
    let mut summary = Rebuilt::default();
    let desired = desired_items(table, events_table, &mut summary, on_unreadable).await?;
    let mut requests = Vec::new();
    // What the table holds: a fact's digest, or "" for a link.
    let mut existing: BTreeMap<(String, String), String> = BTreeMap::new();
    for (subject, items) in table.scan().await? {
        for link in &items.links {
            existing.insert((subject.clone(), format!("link#{link}")), String::new());
        }
        for fact in &items.facts {
            let key = (subject.clone(), sort_key(fact));
            existing.insert(key.clone(), digest(fact));
            // A forgotten person's events are gone: their records are what
            // keeps them suppressed.
            if !subject.starts_with(crate::erasure::FORGOTTEN)
                && desired.not_consent.contains(&fact.event_id)
                && fact.event_type != consent::CLEARED
                && !desired.items.contains_key(&key)
            {
                requests.push(delete_request(&subject, &key.1)?);
            }
        }
    }
    summary.deleted = requests.len() as u64;
    // An item the table lacks goes in a batch; one it holds in another
    // version is put as the stream puts it, so a later copy the stream
    // wrote meanwhile is never overwritten by an older one.
    let mut changed = Vec::new();
    for (key, item) in desired.items {
        match existing.get(&key) {
            None => requests.push(put_request(item)?),
            Some(held) if *held == s(&item, DIGEST) => continue,
            Some(_) => changed.push(item),
        }
        summary.written += 1;
    }
    table.write_batch(requests).await?;
    for item in changed {
        table.put_if_newer(item).await?;
    }
    Ok(summary)
}

fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}
