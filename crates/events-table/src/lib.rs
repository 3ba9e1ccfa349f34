//! The events table: one place for its contract. What an item holds and how
//! it is encoded ([`item`]: attribute names, `raw` encoded and decoded, the
//! size DynamoDB bills), and how items are stored exactly once within
//! DynamoDB's limits ([`store`], with the real table in [`dynamo`]).
//! Used by the Lambda functions (`ingest`), the operator's CLI and the bench.

pub mod dynamo;
pub mod item;
pub mod store;

pub use dynamo::DynamoTable;
pub use item::Item;
pub use store::{store_all, StoreError, Stored, Table};
