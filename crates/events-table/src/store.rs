//! Storing a request's items exactly once, in as few calls as DynamoDB
//! allows: one BatchGetItem per 100 items to learn which are already
//! stored, then one BatchWriteItem per 25 new ones.
//!
//! - Unprocessed keys and items, and throttling, are retried with backoff
//!   and jitter; every call gets only the time left before the deadline, and
//!   what is still unstored then is an error, so the provider retries.
//! - DynamoDB's limits are held here rather than trusted to the server (no
//!   local server holds them all): at most 25 puts and 100 keys per call, no
//!   key twice in one call, and each item's size and key lengths are checked
//!   before it is sent.
//! - A batch DynamoDB refuses as invalid is split until the items that cause
//!   it are found; those come back refused with DynamoDB's reason, the rest
//!   are stored.

use crate::attr;
use crate::item::{item_size, Item, MAX_ITEM_BYTES};
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;
use thiserror::Error;
use tokio::time::{sleep, timeout_at, Instant};

/// Events one request may carry, counted while its envelope is read, before
/// any event is built: ten times the largest batch a provider documents
/// (SendPulse SMTP, 500), and few enough to store well inside the functions'
/// storage deadline (200 BatchWriteItem calls). `webhooks reprocess` holds a
/// quarantined body to the same limit.
pub const MAX_EVENTS: usize = 5_000;

/// DynamoDB's limits per call.
pub const MAX_GET_KEYS: usize = 100;
pub const MAX_WRITE_ITEMS: usize = 25;
/// Calls of one request in flight at once: enough to store 5,000 events
/// well inside the deadline, few enough that a large request holds only a
/// few batches' worth of serialized requests, and spares the table's
/// throughput for other requests.
const MAX_IN_FLIGHT: usize = 10;
/// DynamoDB's limits per key value: a partition key (of the table or of an
/// index) and a sort key.
pub const MAX_PARTITION_KEY_BYTES: usize = normalize::MAX_PARTITION_KEY_BYTES;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// The table's partition key, and the indexes' partition and sort keys.
const PARTITION_KEYS: [&str; 3] = [attr::EVENT_ID, attr::CONTACT_KEY, attr::DAY_KEY];
const SORT_KEYS: [&str; 1] = [attr::OCCURRED_AT];

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Retryable: DynamoDB asked us to slow down.
    #[error("DynamoDB is throttling: {0}")]
    Throttled(String),
    #[error("DynamoDB call failed: {0}")]
    Unavailable(String),
    /// Not retryable: DynamoDB refused the request as invalid, so sending
    /// the same items again would fail the same way.
    #[error("DynamoDB refused the request: {0}")]
    Refused(String),
    #[error("{remaining} item(s) still unstored when the storage deadline passed")]
    Deadline { remaining: usize },
}

/// The result of one BatchGetItem: what was found (ids, or items), and
/// the ids DynamoDB left unprocessed.
#[derive(Debug)]
pub struct Lookup<T = String> {
    pub found: Vec<T>,
    pub unprocessed: Vec<String>,
}

impl<T> Default for Lookup<T> {
    fn default() -> Self {
        Lookup {
            found: Vec::new(),
            unprocessed: Vec::new(),
        }
    }
}

/// An error of a batch call that [`get_all`] can retry or give up on.
pub trait Retryable {
    /// DynamoDB asked to slow down: the same call may succeed later.
    fn is_throttled(&self) -> bool;
    /// The error for `remaining` ids still unread at the deadline.
    fn deadline(remaining: usize) -> Self;
}

impl Retryable for StoreError {
    fn is_throttled(&self) -> bool {
        matches!(self, StoreError::Throttled(_))
    }

    fn deadline(remaining: usize) -> Self {
        StoreError::Deadline { remaining }
    }
}

/// The two DynamoDB calls the store makes; a real table or a test double.
pub trait Table: Send + Sync {
    /// One BatchGetItem of at most 100 distinct ids.
    fn lookup(&self, ids: Vec<String>) -> impl Future<Output = Result<Lookup, StoreError>> + Send;
    /// One BatchWriteItem of at most 25 puts with distinct keys; returns
    /// the items DynamoDB left unprocessed.
    fn put_batch(
        &self,
        items: Vec<Item>,
    ) -> impl Future<Output = Result<Vec<Item>, StoreError>> + Send;
}

/// What became of the items given to [`store_all`].
#[derive(Debug, Default)]
pub struct Stored {
    /// Ids of the items this call wrote.
    pub written: HashSet<String>,
    /// Items already in the table, or repeated within the call.
    pub duplicates: usize,
    /// Items refused as invalid, by DynamoDB or by the store's own check of
    /// DynamoDB's limits, each with the reason; none of them was written.
    pub refused: Vec<(Item, String)>,
}

pub fn event_id(item: &Item) -> &str {
    match item.get(attr::EVENT_ID) {
        Some(AttributeValue::S(id)) => id,
        _ => "",
    }
}

/// Stores every item not already in the table, before `deadline`.
pub async fn store_all<T: Table>(
    table: &T,
    items: Vec<Item>,
    deadline: Instant,
) -> Result<Stored, StoreError> {
    let received = items.len();
    let mut seen = HashSet::with_capacity(received);
    let mut refused = Vec::new();
    let mut unique = Vec::with_capacity(received);
    for item in items {
        if let Err(reason) = within_limits(&item) {
            refused.push((item, reason));
        } else if seen.insert(event_id(&item).to_owned()) {
            unique.push(item);
        }
    }

    let ids: Vec<String> = unique.iter().map(|i| event_id(i).to_owned()).collect();
    let existing = lookup_all(table, ids, deadline).await?;
    let new: Vec<Item> = unique
        .into_iter()
        .filter(|item| !existing.contains(event_id(item)))
        .collect();
    let mut written: HashSet<String> = new.iter().map(|i| event_id(i).to_owned()).collect();
    for (item, reason) in write_all(table, new, deadline).await? {
        written.remove(event_id(&item));
        refused.push((item, reason));
    }
    Ok(Stored {
        duplicates: received - written.len() - refused.len(),
        written,
        refused,
    })
}

/// Why DynamoDB would refuse `item`, if it would: over the item size limit,
/// or a key attribute that is empty, not a string, or too long.
pub fn within_limits(item: &Item) -> Result<(), String> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(format!(
            "item is {size} bytes, over DynamoDB's item limit ({MAX_ITEM_BYTES} bytes with a margin)"
        ));
    }
    let keys = PARTITION_KEYS
        .iter()
        .map(|name| (name, MAX_PARTITION_KEY_BYTES))
        .chain(SORT_KEYS.iter().map(|name| (name, MAX_SORT_KEY_BYTES)));
    for (name, limit) in keys {
        match item.get(*name) {
            None if *name != attr::EVENT_ID => {}
            Some(AttributeValue::S(value)) if !value.is_empty() && value.len() <= limit => {}
            Some(AttributeValue::S(value)) if !value.is_empty() => {
                return Err(format!(
                    "key attribute {name} is {} bytes, over DynamoDB's limit of {limit}",
                    value.len()
                ))
            }
            _ => return Err(format!("key attribute {name} must be a non-empty string")),
        }
    }
    Ok(())
}

async fn lookup_all<T: Table>(
    table: &T,
    ids: Vec<String>,
    deadline: Instant,
) -> Result<HashSet<String>, StoreError> {
    let found = get_all(ids, deadline, |chunk| table.lookup(chunk)).await?;
    Ok(found.into_iter().collect())
}

/// The one BatchGetItem loop: `get` is called with at most
/// [`MAX_GET_KEYS`] ids at once (every chunk in flight together); ids left
/// unprocessed, or of a throttled call, are asked again after a
/// [`backoff`], until `deadline`. Returns everything found.
pub async fn get_all<T, E, F, Fut>(ids: Vec<String>, deadline: Instant, get: F) -> Result<Vec<T>, E>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Lookup<T>, E>>,
    E: Retryable,
{
    let mut found = Vec::new();
    let mut pending = ids;
    let mut attempt = 0;
    while !pending.is_empty() {
        let chunks: Vec<Vec<String>> = pending
            .chunks(MAX_GET_KEYS)
            .map(<[String]>::to_vec)
            .collect();
        let calls = chunks.iter().map(|chunk| get(chunk.clone()));
        let remaining = pending.len();
        let results = timeout_at(deadline, join_all(calls))
            .await
            .map_err(|_| E::deadline(remaining))?;
        pending = Vec::new();
        for (chunk, result) in chunks.into_iter().zip(results) {
            match result {
                Ok(lookup) => {
                    found.extend(lookup.found);
                    pending.extend(lookup.unprocessed);
                }
                Err(e) if e.is_throttled() => pending.extend(chunk),
                Err(e) => return Err(e),
            }
        }
        if !pending.is_empty() {
            if !wait(attempt, deadline).await {
                return Err(E::deadline(pending.len()));
            }
            attempt += 1;
        }
    }
    Ok(found)
}

/// Writes `items` in batches, at most [`MAX_IN_FLIGHT`] calls at a time;
/// returns those refused as invalid, each with DynamoDB's reason.
async fn write_all<T: Table>(
    table: &T,
    items: Vec<Item>,
    deadline: Instant,
) -> Result<Vec<(Item, String)>, StoreError> {
    let mut refused = Vec::new();
    let mut queue: VecDeque<Vec<Item>> = in_batches(items).into();
    let mut attempt = 0;
    while !queue.is_empty() {
        let wave: Vec<Vec<Item>> = queue.drain(..queue.len().min(MAX_IN_FLIGHT)).collect();
        let calls = wave.iter().map(|batch| table.put_batch(batch.clone()));
        let remaining = wave.iter().chain(&queue).map(Vec::len).sum();
        let results = timeout_at(deadline, join_all(calls))
            .await
            .map_err(|_| StoreError::Deadline { remaining })?;
        let mut retry = Vec::new();
        for (mut batch, result) in wave.into_iter().zip(results) {
            match result {
                Ok(unprocessed) => retry.extend(unprocessed),
                Err(StoreError::Throttled(_)) => retry.extend(batch),
                // One of these items is refused: halve the batch until it
                // is alone.
                Err(StoreError::Refused(reason)) if batch.len() == 1 => {
                    refused.extend(batch.pop().map(|item| (item, reason)));
                }
                Err(StoreError::Refused(_)) => {
                    let half = batch.split_off(batch.len() / 2);
                    queue.push_back(batch);
                    queue.push_back(half);
                }
                Err(e) => return Err(e),
            }
        }
        if !retry.is_empty() {
            let remaining = retry.len() + queue.iter().map(Vec::len).sum::<usize>();
            backoff(attempt, deadline, remaining).await?;
            attempt += 1;
            queue.extend(in_batches(retry));
        }
    }
    Ok(refused)
}

fn in_batches(mut items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut batches = Vec::with_capacity(items.len().div_ceil(MAX_WRITE_ITEMS));
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(MAX_WRITE_ITEMS));
        batches.push(std::mem::replace(&mut items, rest));
    }
    batches
}

/// The one retry policy of every batch call on the table (the functions'
/// and the CLI's): sleeps a random time up to 25 ms × 2^attempt (capped at
/// 400 ms; "full jitter"), or gives up if that would pass the deadline.
pub async fn backoff(attempt: u32, deadline: Instant, remaining: usize) -> Result<(), StoreError> {
    if wait(attempt, deadline).await {
        Ok(())
    } else {
        Err(StoreError::Deadline { remaining })
    }
}

/// [`backoff`]'s sleep; false (at once) when it would pass the deadline.
async fn wait(attempt: u32, deadline: Instant) -> bool {
    let cap_ms = (25u64 << attempt.min(4)).min(400);
    let wait = Duration::from_millis(fastrand::u64(1..=cap_ms));
    if Instant::now() + wait >= deadline {
        return false;
    }
    sleep(wait).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, String)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.clone())))
            .collect()
    }

    fn event(id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("event_id", id.to_owned()),
            ("day_key", "flashy#2024-05-01".to_owned()),
            ("occurred_at", "2024-05-01T12:00:00.000Z".to_owned()),
        ]
    }

    #[test]
    fn items_within_dynamodb_limits_pass() {
        let mut pairs = event("a");
        pairs.push(("contact_key", "k".repeat(MAX_PARTITION_KEY_BYTES)));
        assert_eq!(within_limits(&item(&pairs)), Ok(()));
    }

    #[test]
    fn over_long_or_empty_keys_are_refused_before_sending() {
        for (name, value) in [
            ("contact_key", "k".repeat(MAX_PARTITION_KEY_BYTES + 1)),
            ("day_key", "d".repeat(MAX_PARTITION_KEY_BYTES + 1)),
            ("event_id", "e".repeat(MAX_PARTITION_KEY_BYTES + 1)),
            ("occurred_at", "o".repeat(MAX_SORT_KEY_BYTES + 1)),
            ("contact_key", String::new()),
            ("event_id", String::new()),
        ] {
            let mut pairs = event("a");
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            let reason = within_limits(&item(&pairs)).unwrap_err();
            assert!(reason.contains(name), "{reason}");
        }
        let mut no_id = event("a");
        no_id.retain(|(k, _)| *k != "event_id");
        assert!(within_limits(&item(&no_id)).is_err());
    }

    #[test]
    fn an_item_over_the_size_limit_is_refused_before_sending() {
        let mut pairs = event("a");
        pairs.push(("raw", "x".repeat(MAX_ITEM_BYTES)));
        assert!(within_limits(&item(&pairs))
            .unwrap_err()
            .contains("item limit"));
    }

    #[test]
    fn batches_hold_at_most_25() {
        let items: Vec<Item> = (0..51).map(|i| item(&event(&i.to_string()))).collect();
        let sizes: Vec<usize> = in_batches(items).iter().map(Vec::len).collect();
        assert_eq!(sizes, [25, 25, 1]);
    }
}
