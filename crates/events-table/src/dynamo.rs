//! The real table: the store's two calls made with the AWS SDK.

use crate::item::Item;
use crate::store::{Lookup, StoreError, Table};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct DynamoTable {
    client: Client,
    name: String,
    calls: AtomicUsize,
}

/// The SDK client for Lambda: short timeouts, so a stalled DynamoDB turns
/// into a 503 well inside the providers' patience (Flashy: 5 s).
pub async fn client() -> Client {
    client_at(None).await
}

/// The same client with an explicit endpoint (tests and tools); `None`
/// resolves it the usual way (`AWS_ENDPOINT_URL_DYNAMODB`, then AWS).
pub async fn client_at(endpoint: Option<&str>) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_millis(3000))
        .build();
    let mut loader = aws_config::from_env();
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .load()
        .await;
    Client::new(&config)
}

impl DynamoTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        DynamoTable {
            client,
            name: name.into(),
            calls: AtomicUsize::new(0),
        }
    }

    /// DynamoDB calls made so far (each BatchGetItem or BatchWriteItem).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Opens the connection (DNS, TLS) during init so the first request
    /// does not pay for it. A miss on a key that cannot exist; the outcome
    /// does not matter.
    pub async fn warm_up(&self) {
        let result = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("event_id", AttributeValue::S("warm-up".into()))
            .projection_expression("event_id")
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %DisplayErrorContext(&e), "DynamoDB warm-up call failed");
        }
    }
}

fn classify<E>(err: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_owned();
    let text = DisplayErrorContext(&err).to_string();
    match code.as_str() {
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => StoreError::Throttled(text),
        "ValidationException" => StoreError::Refused(text),
        _ => StoreError::Unavailable(text),
    }
}

impl Table for DynamoTable {
    async fn lookup(&self, ids: Vec<String>) -> Result<Lookup, StoreError> {
        let keys: Vec<HashMap<String, AttributeValue>> = ids
            .into_iter()
            .map(|id| HashMap::from([("event_id".to_owned(), AttributeValue::S(id))]))
            .collect();
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression("event_id")
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.name, request)
            .send()
            .await
            .map_err(classify)?;
        let id_of = |item: &HashMap<String, AttributeValue>| match item.get("event_id") {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        };
        let found = output
            .responses
            .and_then(|mut r| r.remove(&self.name))
            .unwrap_or_default()
            .iter()
            .filter_map(id_of)
            .collect();
        let unprocessed = output
            .unprocessed_keys
            .and_then(|mut u| u.remove(&self.name))
            .map(|k| k.keys.iter().filter_map(id_of).collect())
            .unwrap_or_default();
        Ok(Lookup { found, unprocessed })
    }

    async fn put_batch(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .batch_write_item()
            .request_items(&self.name, requests)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .unprocessed_items
            .and_then(|mut u| u.remove(&self.name))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|w| w.put_request.map(|p| p.item))
            .collect())
    }
}
