//! Verdict changes the consent function could not publish. Lambda retries
//! a record whose publish failed 3 times, then sends it to the dead-letter
//! queue; the changes stay on the fact's items ([`UNPUBLISHED`]). `webhooks
//! consent publish` finds them here and publishes each through
//! [`crate::changes::Changes::publish_marked`], as the function would have,
//! oldest first.

use crate::table::{digest, fact_of, ConsentTable, Item, TableError, DIGEST, UNPUBLISHED};
use aws_sdk_dynamodb::types::AttributeValue;
use consent::Fact;
use serde_json::Value;
use std::collections::BTreeMap;

/// One fact whose changes are not published yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpublished {
    pub fact: Fact,
    /// The `consent.changed` details its mark holds, as the function found
    /// them when it wrote the fact.
    pub details: Vec<Value>,
}

impl Unpublished {
    /// The subjects the changes are about.
    pub fn subjects(&self) -> Vec<&str> {
        self.details
            .iter()
            .filter_map(|d| d.get("subject").and_then(Value::as_str))
            .collect()
    }
}

/// What [`find`] found.
#[derive(Debug, Default)]
pub struct Found {
    /// Oldest `occurred_at` first (then event id).
    pub unpublished: Vec<Unpublished>,
    /// Marked items that cannot be published this way, each with why.
    pub unreadable: Vec<String>,
}

/// Every fact whose items still carry a mark: one entry per fact, however
/// many subjects hold it.
pub async fn find(table: &ConsentTable) -> Result<Found, TableError> {
    let mut by_fact: BTreeMap<(String, String, String), Unpublished> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for item in table.marked_items().await? {
        match read(&item) {
            Ok((stored_digest, one)) => {
                let key = (
                    one.fact.occurred_at.clone(),
                    one.fact.event_id.clone(),
                    stored_digest,
                );
                by_fact.entry(key).or_insert(one);
            }
            Err(why) => unreadable.push(format!("{}: {why}", key_of(&item))),
        }
    }
    Ok(Found {
        unpublished: by_fact.into_values().collect(),
        unreadable,
    })
}

/// The item's digest and its fact with the changes its mark holds.
fn read(item: &Item) -> Result<(String, Unpublished), String> {
    let (fact, mark) = fact_of(item).map_err(|e| e.to_string())?;
    let mark = mark.ok_or_else(|| format!("{UNPUBLISHED} is not a string"))?;
    let details: Vec<Value> = serde_json::from_str(&mark)
        .map_err(|e| format!("{UNPUBLISHED} is not a JSON array of changes: {e}"))?;
    let stored = match item.get(DIGEST) {
        Some(AttributeValue::S(d)) => d.clone(),
        _ => String::new(),
    };
    // The mark comes off only where the item is the copy the fact makes
    // (`mark_published`): one that is not would be published on every run.
    if stored != digest(&fact) {
        return Err(format!(
            "its {DIGEST} is not that of the fact it holds, so its mark could not be taken off"
        ));
    }
    Ok((stored, Unpublished { fact, details }))
}

fn key_of(item: &Item) -> String {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "?",
    };
    format!("{} {}", text("subject"), text("sk"))
}
