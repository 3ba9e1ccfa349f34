//! Locally, the event source mapping's part: read the local DynamoDB's
//! stream of the events table (dynoxide serves DynamoDB Streams) and hand
//! each batch of records to [`crate::stream::handle_batch`], the function's
//! own code. Used by `webhooks consent follow`, which `make dev` runs.
//!
//! It speaks the Streams API's JSON to the local server only: dynoxide
//! checks that a request carries a signature, not what it is, so the
//! requests carry a placeholder one. On AWS the event source mapping reads
//! the stream; nothing here is used there.

use crate::changes::Changes;
use crate::metrics::Tally;
use crate::stream::handle_batch;
use crate::table::ConsentTable;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[error("local stream: {0}")]
pub struct FollowError(pub String);

/// One reader of the events table's stream, from its oldest record.
pub struct Follower {
    http: reqwest::Client,
    endpoint: String,
    events_table: String,
    /// Each shard's next iterator (dynoxide has one shard).
    iterators: BTreeMap<String, String>,
}

/// What one pass applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub records: usize,
    pub failed: usize,
}

impl Follower {
    pub fn new(endpoint: &str, events_table: &str) -> Follower {
        Follower {
            http: reqwest::Client::new(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            events_table: events_table.to_owned(),
            iterators: BTreeMap::new(),
        }
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, FollowError> {
        let date = "20260101T000000Z";
        let response = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
            .header("x-amz-date", date)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=local",
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| FollowError(format!("{operation}: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| FollowError(format!("{operation}: {e}")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| FollowError(format!("{operation}: answer is not JSON: {e}")))?;
        if !status.is_success() {
            return Err(FollowError(format!("{operation}: {status}: {value}")));
        }
        Ok(value)
    }

    /// Finds the stream and its shards, each read from its oldest record
    /// (applying a record again changes nothing).
    async fn open(&mut self) -> Result<(), FollowError> {
        let streams = self
            .call("ListStreams", json!({"TableName": self.events_table}))
            .await?;
        let Some(arn) = streams
            .pointer("/Streams/0/StreamArn")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(FollowError(format!(
                "table {} has no stream (infra/local/create_table.py turns it on)",
                self.events_table
            )));
        };
        let described = self
            .call("DescribeStream", json!({"StreamArn": arn}))
            .await?;
        let shards = described
            .pointer("/StreamDescription/Shards")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.get("ShardId").and_then(Value::as_str) else {
                continue;
            };
            if self.iterators.contains_key(id) {
                continue;
            }
            let it = self
                .call(
                    "GetShardIterator",
                    json!({"StreamArn": arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
                )
                .await?;
            if let Some(iterator) = it.get("ShardIterator").and_then(Value::as_str) {
                self.iterators.insert(id.to_owned(), iterator.to_owned());
            }
        }
        Ok(())
    }

    /// Reads what the stream holds now and applies it, batch by batch.
    pub async fn pass(&mut self, table: &ConsentTable) -> Result<Pass, FollowError> {
        self.pass_with(table, &Changes::off()).await
    }

    /// [`Follower::pass`], verdict changes going to `changes` as the
    /// function's go to the bus with fan-out on.
    pub async fn pass_with(
        &mut self,
        table: &ConsentTable,
        changes: &Changes,
    ) -> Result<Pass, FollowError> {
        if self.iterators.is_empty() {
            self.open().await?;
        }
        let mut pass = Pass::default();
        let shards: Vec<String> = self.iterators.keys().cloned().collect();
        for shard in shards {
            while let Some(iterator) = self.iterators.get(&shard).cloned() {
                let page = self
                    .call(
                        "GetRecords",
                        json!({"ShardIterator": iterator, "Limit": 100}),
                    )
                    .await?;
                let records = page
                    .get("Records")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                match page.get("NextShardIterator").and_then(Value::as_str) {
                    Some(next) => self.iterators.insert(shard.clone(), next.to_owned()),
                    None => self.iterators.remove(&shard),
                };
                if records.is_empty() {
                    break;
                }
                pass.records += records.len();
                let response = handle_batch(
                    table,
                    &json!({ "Records": records }),
                    &mut Tally::default(),
                    changes,
                )
                .await
                .map_err(|e| FollowError(e.to_string()))?;
                pass.failed += response.batch_item_failures.len();
            }
        }
        Ok(pass)
    }
}
