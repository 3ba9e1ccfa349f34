//! A table in memory, for tests of the logic around storage (never as the
//! proof that storage works: that is the local DynamoDB's job).

use aws_sdk_dynamodb::types::AttributeValue;
use events_table::item::Item;
use events_table::store::{Lookup, StoreError, Table, MAX_GET_KEYS, MAX_WRITE_ITEMS};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// A test of one item.
pub type ItemTest = fn(&Item) -> bool;

/// A table in memory that holds DynamoDB's request limits (at most 25 puts
/// and no duplicate keys per BatchWriteItem, at most 100 keys per
/// BatchGetItem), which no local server holds all of, and can be told to
/// throttle, hang, refuse items, or leave items unprocessed.
#[derive(Default)]
pub struct MemoryTable {
    pub items: Mutex<HashMap<String, Item>>,
    pub calls: Mutex<Vec<&'static str>>,
    /// Leave this many puts of the next BatchWriteItem calls unprocessed.
    pub unprocessed_puts: Mutex<Vec<usize>>,
    /// Answer the next n calls with a throttling error.
    pub throttle_next: Mutex<usize>,
    /// Answer every call with this error.
    pub down: Mutex<bool>,
    /// Refuse (as DynamoDB's ValidationException does) every write that
    /// holds an event other than a quarantined body.
    pub refuse_events: Mutex<bool>,
    /// Refuse, as a ValidationException, every write holding an item this
    /// says is invalid (the way DynamoDB refuses a whole batch for one item).
    pub refuse_item: Mutex<Option<ItemTest>>,
    /// Never answer: every call hangs (a frozen server).
    pub stall: Mutex<bool>,
}

impl MemoryTable {
    /// Items stored so far.
    pub fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn fault(&self, call: &'static str) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(call);
        if *self.stall.lock().unwrap() {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        let mut throttle = self.throttle_next.lock().unwrap();
        if *throttle > 0 {
            *throttle -= 1;
            return Err(StoreError::Throttled(
                "ProvisionedThroughputExceededException".into(),
            ));
        }
        Ok(())
    }
}

fn id(item: &Item) -> String {
    match item.get("event_id") {
        Some(AttributeValue::S(id)) => id.clone(),
        other => panic!("item without event_id: {other:?}"),
    }
}

impl Table for MemoryTable {
    async fn lookup(&self, ids: Vec<String>) -> Result<Lookup, StoreError> {
        assert!(
            ids.len() <= MAX_GET_KEYS,
            "BatchGetItem with {} keys",
            ids.len()
        );
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "duplicate keys in BatchGetItem"
        );
        self.fault("BatchGetItem").await?;
        let items = self.items.lock().unwrap();
        Ok(Lookup {
            found: ids
                .into_iter()
                .filter(|id| items.contains_key(id))
                .collect(),
            unprocessed: Vec::new(),
        })
    }

    async fn put_batch(&self, batch: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        assert!(
            !batch.is_empty() && batch.len() <= MAX_WRITE_ITEMS,
            "BatchWriteItem with {} puts",
            batch.len()
        );
        let ids: HashSet<String> = batch.iter().map(id).collect();
        assert_eq!(
            ids.len(),
            batch.len(),
            "duplicate keys in one BatchWriteItem"
        );
        self.fault("BatchWriteItem").await?;
        let refuse_item = *self.refuse_item.lock().unwrap();
        if let Some(invalid) = refuse_item {
            if batch.iter().any(invalid) {
                return Err(StoreError::Refused(
                    "ValidationException: One or more parameter values were invalid".into(),
                ));
            }
        }
        let quarantined = |item: &Item| {
            item.get("event_type")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("invalid")
        };
        if *self.refuse_events.lock().unwrap() && !batch.iter().all(quarantined) {
            return Err(StoreError::Refused("ValidationException".into()));
        }
        let skip = {
            let mut plan = self.unprocessed_puts.lock().unwrap();
            if plan.is_empty() {
                0
            } else {
                plan.remove(0)
            }
        };
        let (left, written) = batch.split_at(skip.min(batch.len()));
        let mut items = self.items.lock().unwrap();
        for item in written {
            items.insert(id(item), item.clone());
        }
        Ok(left.to_vec())
    }
}
