//! Storing a request's events exactly once, in as few calls as DynamoDB
//! allows: one BatchGetItem per 100 events to learn which are already
//! stored, then one BatchWriteItem per 25 new ones. Unprocessed keys and
//! items, and throttling, are retried with backoff and jitter until a
//! deadline; what is still unstored then is an error, so the provider
//! retries the delivery.

use crate::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;
use tokio::time::{sleep, Instant};

/// DynamoDB's limits per call.
pub const MAX_GET_KEYS: usize = 100;
pub const MAX_WRITE_ITEMS: usize = 25;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Retryable: DynamoDB asked us to slow down.
    #[error("DynamoDB is throttling: {0}")]
    Throttled(String),
    #[error("DynamoDB call failed: {0}")]
    Unavailable(String),
    /// Not retryable: DynamoDB refused the request as invalid, so sending
    /// the same events again would fail the same way.
    #[error("DynamoDB refused the request: {0}")]
    Refused(String),
    #[error("{remaining} event(s) still unstored when the storage deadline passed")]
    Deadline { remaining: usize },
}

/// The result of one BatchGetItem.
#[derive(Debug, Default)]
pub struct Lookup {
    pub found: Vec<String>,
    pub unprocessed: Vec<String>,
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

/// How many of a request's events were new and how many were already
/// stored (redeliveries, or repeats within the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    pub stored: usize,
    pub duplicates: usize,
}

pub fn event_id(item: &Item) -> &str {
    match item.get("event_id") {
        Some(AttributeValue::S(id)) => id,
        _ => "",
    }
}

/// Stores every item not already in the table.
pub async fn store_all<T: Table>(
    table: &T,
    items: Vec<Item>,
    deadline: Instant,
) -> Result<Stored, StoreError> {
    let received = items.len();
    let mut seen = HashSet::with_capacity(received);
    let unique: Vec<Item> = items
        .into_iter()
        .filter(|item| seen.insert(event_id(item).to_owned()))
        .collect();

    let ids: Vec<String> = unique.iter().map(|i| event_id(i).to_owned()).collect();
    let existing = lookup_all(table, ids, deadline).await?;
    let new: Vec<Item> = unique
        .into_iter()
        .filter(|item| !existing.contains(event_id(item)))
        .collect();
    let stored = new.len();
    write_all(table, new, deadline).await?;
    Ok(Stored {
        stored,
        duplicates: received - stored,
    })
}

async fn lookup_all<T: Table>(
    table: &T,
    ids: Vec<String>,
    deadline: Instant,
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    let mut pending = ids;
    let mut attempt = 0;
    while !pending.is_empty() {
        let chunks: Vec<Vec<String>> = pending
            .chunks(MAX_GET_KEYS)
            .map(<[String]>::to_vec)
            .collect();
        let results = join_all(chunks.iter().map(|chunk| table.lookup(chunk.clone()))).await;
        pending = Vec::new();
        for (chunk, result) in chunks.into_iter().zip(results) {
            match result {
                Ok(lookup) => {
                    found.extend(lookup.found);
                    pending.extend(lookup.unprocessed);
                }
                Err(StoreError::Throttled(_)) => pending.extend(chunk),
                Err(e) => return Err(e),
            }
        }
        if !pending.is_empty() {
            backoff(attempt, deadline, pending.len()).await?;
            attempt += 1;
        }
    }
    Ok(found)
}

async fn write_all<T: Table>(
    table: &T,
    items: Vec<Item>,
    deadline: Instant,
) -> Result<(), StoreError> {
    let mut pending = items;
    let mut attempt = 0;
    while !pending.is_empty() {
        let mut batches: Vec<Vec<Item>> = Vec::new();
        while !pending.is_empty() {
            let rest = pending.split_off(pending.len().min(MAX_WRITE_ITEMS));
            batches.push(std::mem::replace(&mut pending, rest));
        }
        let calls = batches.iter().map(|batch| table.put_batch(batch.clone()));
        for (batch, result) in batches.iter().zip(join_all(calls).await) {
            match result {
                Ok(unprocessed) => pending.extend(unprocessed),
                Err(StoreError::Throttled(_)) => pending.extend(batch.iter().cloned()),
                Err(e) => return Err(e),
            }
        }
        if !pending.is_empty() {
            backoff(attempt, deadline, pending.len()).await?;
            attempt += 1;
        }
    }
    Ok(())
}

/// Sleeps a random time up to 25 ms × 2^attempt (capped at 400 ms; "full
/// jitter"), or gives up if that would pass the deadline.
async fn backoff(attempt: u32, deadline: Instant, remaining: usize) -> Result<(), StoreError> {
    let cap_ms = (25u64 << attempt.min(4)).min(400);
    let wait = Duration::from_millis(fastrand::u64(1..=cap_ms));
    if Instant::now() + wait >= deadline {
        return Err(StoreError::Deadline { remaining });
    }
    sleep(wait).await;
    Ok(())
}
