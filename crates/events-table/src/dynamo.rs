//! The real table: the store's two calls made with the AWS SDK.

use crate::attr;
use crate::item::Item;
use crate::read::Projection;
use crate::store::{event_id, Lookup, StoreError, Table};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
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
    let settings = Settings {
        endpoint,
        ..Settings::default()
    };
    Client::new(&sdk_config(&settings).await)
}

/// Who is calling, which decides how long a call may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Patience {
    /// A function answering a provider: 1.5 s per attempt, 3 s in all.
    #[default]
    Request,
    /// A human at a terminal: 30 s per attempt, one more retry.
    Terminal,
}

/// Where the table is and how to reach it; `None` resolves each the usual
/// way (environment, profile, AWS).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings<'a> {
    pub endpoint: Option<&'a str>,
    pub region: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub patience: Patience,
}

/// The SDK configuration every client of the table is built from (the
/// functions', the CLI's, the tests').
pub async fn sdk_config(settings: &Settings<'_>) -> aws_config::SdkConfig {
    let (timeouts, attempts) = match settings.patience {
        Patience::Request => (
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1000))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_millis(3000))
                .build(),
            3,
        ),
        Patience::Terminal => (
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
            4,
        ),
    };
    let mut loader = aws_config::from_env()
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(attempts));
    if let Some(endpoint) = settings.endpoint.filter(|e| !e.is_empty()) {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = settings.region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(profile) = settings.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
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
            .key(attr::EVENT_ID, AttributeValue::S("warm-up".into()))
            .projection_expression(attr::EVENT_ID)
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %DisplayErrorContext(&e), "DynamoDB warm-up call failed");
        }
    }
}

/// The keys of one BatchGetItem, strongly consistent or not, with the
/// attributes to read (all without a projection).
pub(crate) fn batch_get_request(
    ids: Vec<String>,
    projection: Option<&Projection>,
    consistent: bool,
) -> Result<KeysAndAttributes, aws_sdk_dynamodb::error::BuildError> {
    let keys: Vec<Item> = ids
        .into_iter()
        .map(|id| HashMap::from([(attr::EVENT_ID.to_owned(), AttributeValue::S(id))]))
        .collect();
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .set_projection_expression(projection.map(|p| p.expression.clone()))
        .set_expression_attribute_names(projection.map(|p| p.names.clone()))
        .consistent_read(consistent)
        .build()
}

/// The items one BatchGetItem on `table` found, and the ids it left
/// unprocessed.
pub(crate) fn batch_get_answer(output: BatchGetItemOutput, table: &str) -> Lookup<Item> {
    let found = output
        .responses
        .and_then(|mut r| r.remove(table))
        .unwrap_or_default();
    let unprocessed = output
        .unprocessed_keys
        .and_then(|mut u| u.remove(table))
        .map(|k| k.keys.iter().map(|key| event_id(key).to_owned()).collect())
        .unwrap_or_default();
    Lookup { found, unprocessed }
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
        let projection = Projection::of(&[attr::EVENT_ID]);
        let request = batch_get_request(ids, Some(&projection), true)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.name, request)
            .send()
            .await
            .map_err(classify)?;
        let items = batch_get_answer(output, &self.name);
        let found = items.found.iter().map(|i| event_id(i).to_owned()).collect();
        Ok(Lookup {
            found,
            unprocessed: items.unprocessed,
        })
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
