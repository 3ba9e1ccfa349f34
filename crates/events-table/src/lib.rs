//! The events table: one place for its contract. What an item holds
//! ([`attr`]: the attribute names; [`stored`]: the item as a type) and how
//! it is encoded ([`item`]: `raw` encoded and decoded, the size DynamoDB
//! bills), how items are stored exactly once within DynamoDB's limits
//! ([`store`], with the real table in [`dynamo`]), and how the operator's
//! tools read them ([`read`]). Used by the Lambda functions (`ingest`), the
//! operator's CLI and the bench.

pub mod attr;
pub mod dynamo;
pub mod intake;
pub mod item;
pub mod read;
pub mod save;
pub mod store;
pub mod stored;

pub use dynamo::DynamoTable;
pub use item::Item;
pub use read::Reader;
pub use store::{store_all, StoreError, Stored, Table};
pub use stored::StoredEvent;
