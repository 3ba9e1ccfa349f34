//! The table, as the CLI reads and writes it: an SDK client for a human at
//! a terminal (patient timeouts, a few retries), paging on every call, and
//! every SDK error turned into one line that says what to do.

use crate::args::Global;
use crate::error::Fail;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use base64::Engine as _;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::time::Duration;

pub use events_table::item::Item;
use events_table::store::backoff;

/// How long one batch read may keep retrying unprocessed keys.
const READ_DEADLINE: Duration = Duration::from_secs(30);

use events_table::item::{BY_CONTACT, BY_DAY};

/// Everything a command needs to reach the table.
pub struct Ctx {
    pub client: Client,
    pub table: String,
    /// Where the table is, for messages: the endpoint URL or the AWS region.
    pub place: String,
}

impl Ctx {
    pub async fn connect(global: &Global) -> Result<Ctx, Fail> {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        let mut loader = aws_config::from_env()
            .timeout_config(timeouts)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4));
        if let Some(endpoint) = global.endpoint_url.as_deref().filter(|e| !e.is_empty()) {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &global.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &global.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let Some(region) = config.region() else {
            return Err(Fail::new(
                "no AWS region: set AWS_REGION (or a profile with a region), or pass --region",
            ));
        };
        let place = match global.endpoint_url.as_deref().filter(|e| !e.is_empty()) {
            Some(endpoint) => endpoint.to_owned(),
            None => format!("AWS region {region}"),
        };
        Ok(Ctx {
            client: Client::new(&config),
            table: global.table.clone(),
            place,
        })
    }

    /// One line for a failed call: the cause an operator can act on.
    pub fn fail<E>(&self, action: &str, err: SdkError<E>) -> Fail
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&err).to_string();
        let message = match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let message = e.message().unwrap_or("");
                match e.code() {
                    Some("ResourceNotFoundException") => format!(
                        "table {:?} (or its index) does not exist at {}: set --table or TABLE_NAME; `make dev` creates it locally",
                        self.table, self.place
                    ),
                    Some(
                        code @ ("UnrecognizedClientException"
                        | "InvalidSignatureException"
                        | "ExpiredTokenException"
                        | "AccessDeniedException"
                        | "MissingAuthenticationTokenException"),
                    ) => format!("{action}: AWS refused the credentials ({code}): {message}"),
                    Some(code) => format!("{action}: {code}: {message}"),
                    None => format!("{action}: {}", innermost(&err)),
                }
            }
            _ if detail.contains("CredentialsNotLoaded") || detail.contains("no credentials") => {
                "no AWS credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned()
            }
            SdkError::TimeoutError(_) => {
                format!("{action}: DynamoDB at {} did not answer in time", self.place)
            }
            SdkError::DispatchFailure(d) if d.is_timeout() => {
                format!("{action}: DynamoDB at {} did not answer in time", self.place)
            }
            SdkError::DispatchFailure(d) if d.is_io() => format!(
                "cannot reach DynamoDB at {} ({}){}",
                self.place,
                innermost(&err),
                if self.place.starts_with("http") {
                    "; is `make dev` running?"
                } else {
                    ""
                }
            ),
            _ => format!("{action}: {}", innermost(&err)),
        };
        Fail::new(message)
    }

    /// Every item of an index query, following LastEvaluatedKey; stops
    /// once `want` items (after the filter) are in hand.
    pub async fn query(&self, q: &Query) -> Result<Vec<Item>, Fail> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = q.want.map(|want| want.saturating_sub(items.len()));
            if remaining == Some(0) {
                break;
            }
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(q.index)
                .key_condition_expression(&q.key_condition)
                .set_expression_attribute_names(Some(q.names.clone()))
                .set_expression_attribute_values(Some(q.values.clone()))
                .set_filter_expression(q.filter.clone())
                .set_projection_expression(q.projection.clone())
                .scan_index_forward(!q.newest_first)
                .set_exclusive_start_key(start.take());
            // Without a filter, Limit is exactly what is wanted; with one,
            // DynamoDB applies Limit before filtering, so read whole pages.
            if let (Some(remaining), None) = (remaining, &q.filter) {
                request = request.limit(remaining.clamp(1, 1000) as i32);
            }
            let page = request
                .send()
                .await
                .map_err(|e| self.fail("query failed", e))?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        if let Some(want) = q.want {
            items.truncate(want);
        }
        Ok(items)
    }

    /// One page of a table scan.
    pub async fn scan_page(&self, s: &Scan, start: Option<Item>) -> Result<ScanPage, Fail> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .set_filter_expression(s.filter.clone())
            .set_projection_expression(s.projection.clone())
            .set_expression_attribute_names((!s.names.is_empty()).then(|| s.names.clone()))
            .set_expression_attribute_values((!s.values.is_empty()).then(|| s.values.clone()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| self.fail("scan failed", e))?;
        Ok(ScanPage {
            scanned: page.scanned_count.max(0) as u64,
            items: page.items.unwrap_or_default(),
            next: page.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// One item by event_id (eventually consistent).
    pub async fn get(&self, event_id: &str) -> Result<Option<Item>, Fail> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("event_id", AttributeValue::S(event_id.to_owned()))
            .send()
            .await
            .map_err(|e| self.fail("reading the item failed", e))?;
        Ok(output.item)
    }

    /// Items by event_id, 100 per BatchGetItem, retrying unprocessed keys
    /// with the table's retry policy for up to [`READ_DEADLINE`] per batch;
    /// `projection` limits the attributes read. Missing ids are absent.
    pub async fn get_many(
        &self,
        ids: &[String],
        projection: Option<&str>,
        names: &HashMap<String, String>,
    ) -> Result<HashMap<String, Item>, Fail> {
        let mut found = HashMap::new();
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([("event_id".to_owned(), AttributeValue::S((*id).clone()))])
                })
                .collect();
            let mut attempt = 0u32;
            let deadline = tokio::time::Instant::now() + READ_DEADLINE;
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .set_projection_expression(projection.map(str::to_owned))
                    .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                    .build()
                    .map_err(|e| Fail::new(format!("building a read: {e}")))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| self.fail("reading items failed", e))?;
                for item in output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    if let Some(id) = s(&item, "event_id") {
                        found.insert(id.to_owned(), item);
                    }
                }
                keys = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    backoff(attempt, deadline, keys.len())
                        .await
                        .map_err(|e| Fail::new(format!("reading items failed: {e}")))?;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }
}

/// An index query: key condition, optional filter and projection.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub index: &'static str,
    pub key_condition: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub newest_first: bool,
    pub want: Option<usize>,
}

impl Query {
    /// The events of one `day_key` partition (`<provider>#<YYYY-MM-DD>`).
    pub fn day(day_key: &str) -> Self {
        Query {
            index: BY_DAY,
            key_condition: "#dk = :dk".to_owned(),
            names: names(&[("#dk", "day_key")]),
            values: HashMap::from([(":dk".to_owned(), AttributeValue::S(day_key.to_owned()))]),
            ..Query::default()
        }
    }

    /// The events of one `contact_key`, oldest first.
    pub fn contact(contact_key: &str) -> Self {
        Query {
            index: BY_CONTACT,
            key_condition: "#ck = :ck".to_owned(),
            names: names(&[("#ck", "contact_key")]),
            values: HashMap::from([(":ck".to_owned(), AttributeValue::S(contact_key.to_owned()))]),
            ..Query::default()
        }
    }

    /// Only events of these types.
    pub fn types(mut self, types: &[&str]) -> Self {
        if types.is_empty() {
            return self;
        }
        self.names.insert("#et".to_owned(), "event_type".to_owned());
        let placeholders: Vec<String> = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let name = format!(":et{i}");
                self.values
                    .insert(name.clone(), AttributeValue::S((*t).to_owned()));
                name
            })
            .collect();
        self.filter = Some(format!("#et IN ({})", placeholders.join(", ")));
        self
    }

    /// Only events with occurred_at at or after `at` (a stored timestamp).
    pub fn occurred_since(mut self, at: &str) -> Self {
        self.names
            .insert("#oa".to_owned(), "occurred_at".to_owned());
        self.values
            .insert(":oa".to_owned(), AttributeValue::S(at.to_owned()));
        self.key_condition.push_str(" AND #oa >= :oa");
        self
    }
}

/// A table scan's filter and projection.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

pub struct ScanPage {
    pub scanned: u64,
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

pub fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A string attribute.
pub fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A string inside the `attributes` map.
pub fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get("attributes") {
        Some(AttributeValue::M(map)) => match map.get(name) {
            Some(AttributeValue::S(v)) => Some(v),
            _ => None,
        },
        _ => None,
    }
}

/// What a quarantine item kept only in part says about the body it stands
/// for: the body was too large even for a quarantine item, so `raw` holds
/// only its first part, marked `attributes.truncated` (BOOL true), with
/// `attributes.original_bytes` (N) and `attributes.sha256` (S, hex of the
/// whole body's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    pub original_bytes: Option<u64>,
    pub sha256: Option<String>,
}

impl Truncated {
    /// `1,234,567 bytes, sha256 9f86…` (what is known of the whole).
    pub fn describe(&self) -> String {
        let size = match self.original_bytes {
            Some(n) => format!("{} bytes", crate::render::thousands(n)),
            None => "size unknown".to_owned(),
        };
        match &self.sha256 {
            Some(sha) => format!("{size} in full, sha256 {sha}"),
            None => format!("{size} in full"),
        }
    }
}

/// `Some` for an item kept only in part (see [`Truncated`]).
pub fn truncated(item: &Item) -> Option<Truncated> {
    let Some(AttributeValue::M(map)) = item.get("attributes") else {
        return None;
    };
    if map.get("truncated") != Some(&AttributeValue::Bool(true)) {
        return None;
    }
    let original_bytes = match map.get("original_bytes") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    let sha256 = match map.get("sha256") {
        Some(AttributeValue::S(sha)) => Some(sha.clone()),
        _ => None,
    };
    Some(Truncated {
        original_bytes,
        sha256,
    })
}

/// An item as JSON: S strings, N numbers, BOOL, NULL, L arrays, M objects
/// (keys sorted), sets as arrays, binary as base64.
///
/// Written out rather than `serde_dynamo::from_item::<_, Value>`: that gives
/// the same JSON for every type but binary, where it fails the whole item
/// (`serde_json::Value` takes no bytes), so `show --json` of an item with a
/// B or BS attribute would be an error instead of base64; and it panics on
/// an attribute type the SDK does not know, where this gives null. Not on
/// the ingest path: only the CLI's `--json` output uses it.
pub fn item_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect::<Map<String, Value>>(),
    )
}

fn value_json(value: &AttributeValue) -> Value {
    let number = |n: &str| {
        n.parse::<Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(n.to_owned()))
    };
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.iter().map(value_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(items) => Value::Array(items.iter().map(|n| number(n)).collect()),
        AttributeValue::B(b) => b64(b.as_ref()),
        AttributeValue::Bs(items) => Value::Array(items.iter().map(|b| b64(b.as_ref())).collect()),
        _ => Value::Null,
    }
}

/// The innermost cause of an error, which is usually the one that says
/// what happened ("Connection refused (os error 111)").
pub(crate) fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_become_plain_json() {
        let item: Item = HashMap::from([
            ("event_id".to_owned(), AttributeValue::S("abc".into())),
            ("schema_version".to_owned(), AttributeValue::N("1".into())),
            (
                "attributes".to_owned(),
                AttributeValue::M(HashMap::from([
                    ("value".to_owned(), AttributeValue::N("149.9".into())),
                    ("ok".to_owned(), AttributeValue::Bool(true)),
                    (
                        "ids".to_owned(),
                        AttributeValue::L(vec![AttributeValue::N("88".into())]),
                    ),
                ])),
            ),
        ]);
        assert_eq!(
            item_json(&item),
            serde_json::json!({
                "event_id": "abc",
                "schema_version": 1,
                "attributes": {"value": 149.9, "ok": true, "ids": [88]}
            })
        );
    }

    #[test]
    fn sets_binary_and_null_become_plain_json_too() {
        use aws_sdk_dynamodb::primitives::Blob;
        let item: Item = HashMap::from([
            (
                "ss".to_owned(),
                AttributeValue::Ss(vec!["b".into(), "a".into()]),
            ),
            (
                "ns".to_owned(),
                AttributeValue::Ns(vec!["3".into(), "1.5".into()]),
            ),
            (
                "b".to_owned(),
                AttributeValue::B(Blob::new(vec![0, 255, b'h'])),
            ),
            (
                "bs".to_owned(),
                AttributeValue::Bs(vec![Blob::new(b"a".to_vec()), Blob::new(vec![1])]),
            ),
            ("null".to_owned(), AttributeValue::Null(true)),
            (
                "big".to_owned(),
                AttributeValue::N("123456789012345678901234567890".into()),
            ),
        ]);
        assert_eq!(
            item_json(&item).to_string(),
            r#"{"b":"AP9o","big":1.2345678901234568e+29,"bs":["YQ==","AQ=="],"ns":[3,1.5],"null":null,"ss":["b","a"]}"#
        );
    }

    #[test]
    fn the_type_filter_lists_every_type() {
        let q = Query::day("flashy#2024-05-01").types(&["invalid", "unknown"]);
        assert_eq!(q.filter.as_deref(), Some("#et IN (:et0, :et1)"));
        assert_eq!(q.values[":et1"], AttributeValue::S("unknown".into()));
        assert_eq!(q.names["#dk"], "day_key");
    }

    #[test]
    fn the_innermost_cause_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = std::io::Error::other(io);
        assert_eq!(innermost(&outer), "Connection refused");
    }
}
