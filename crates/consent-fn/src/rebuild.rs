//! The whole view derived again from the events table (`webhooks consent
//! rebuild`): for a deployment that had events before the consent function,
//! or after a change of the rules. It writes what the stream would have
//! written, deletes consent items no stored event accounts for any more, and
//! keeps the operators' clears (they live only in the consent table).

use crate::image::{fact_from_image, image_of};
use crate::table::{delete_request, put_request, sort_key, ConsentTable, Item, TableError};
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use std::collections::BTreeMap;

/// What a rebuild did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rebuilt {
    /// Items of the events table read.
    pub scanned: u64,
    /// Of those, consent events and events linking a contact id to an address.
    pub applied: u64,
    /// Consent events the fold could not read (left out, listed on stderr).
    pub unreadable: u64,
    /// Consent items written, and deleted as no longer accounted for.
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

/// The consent items the events table accounts for, keyed (subject, sk),
/// each the latest copy, as the stream's conditional writes leave them.
pub async fn desired_items(
    table: &ConsentTable,
    events_table: &str,
    summary: &mut Rebuilt,
    mut on_unreadable: impl FnMut(&str, &str),
) -> Result<BTreeMap<(String, String), Item>, TableError> {
    let mut desired: BTreeMap<(String, String), Item> = BTreeMap::new();
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
            return Ok(desired);
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
    for (subject, items) in table.scan().await? {
        for fact in &items.facts {
            let sk = sort_key(fact);
            let kept_by_operator = fact.event_type == consent::CLEARED;
            if !kept_by_operator && !desired.contains_key(&(subject.clone(), sk.clone())) {
                requests.push(delete_request(&subject, &sk)?);
            }
        }
        for link in &items.links {
            let sk = format!("link#{link}");
            if !desired.contains_key(&(subject.clone(), sk.clone())) {
                requests.push(delete_request(&subject, &sk)?);
            }
        }
    }
    summary.deleted = requests.len() as u64;
    summary.written = desired.len() as u64;
    for item in desired.into_values() {
        requests.push(put_request(item)?);
    }
    table.write_batch(requests).await?;
    Ok(summary)
}

fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}
