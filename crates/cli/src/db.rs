//! The table, as the CLI reads it: events-table's reader with a client for
//! a human at a terminal (patient timeouts, a few retries), every failed
//! call turned into one line that says what to do, and items as JSON.

use crate::args::Global;
use crate::error::Fail;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use base64::Engine as _;
use events_table::dynamo::{sdk_config, Patience, Settings};
use events_table::read::{CallError, Fault, Projection, Query, Reader, Scan, ScanPage};
use events_table::StoredEvent;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

pub use events_table::item::Item;

/// Everything a command needs to reach the table.
pub struct Ctx {
    pub reader: Reader,
    /// Where the table is, for messages: the endpoint URL or the AWS region.
    pub place: String,
}

impl Ctx {
    pub async fn connect(global: &Global) -> Result<Ctx, Fail> {
        let endpoint = global.endpoint_url.as_deref().filter(|e| !e.is_empty());
        let config = sdk_config(&Settings {
            endpoint,
            region: global.region.as_deref(),
            profile: global.profile.as_deref(),
            patience: Patience::Terminal,
        })
        .await;
        let Some(region) = config.region() else {
            return Err(Fail::new(
                "no AWS region: set AWS_REGION (or a profile with a region), or pass --region",
            ));
        };
        let place = match endpoint {
            Some(endpoint) => endpoint.to_owned(),
            None => format!("AWS region {region}"),
        };
        Ok(Ctx {
            reader: Reader::new(Client::new(&config), global.table.clone()),
            place,
        })
    }

    pub fn client(&self) -> &Client {
        self.reader.client()
    }

    pub fn table(&self) -> &str {
        self.reader.table()
    }

    /// One line for a failed call: the cause an operator can act on.
    pub fn fail(&self, err: CallError) -> Fail {
        let action = err.action;
        let message = match &err.fault {
            Fault::Service { code, .. } if code == "ResourceNotFoundException" => format!(
                "table {:?} (or its index) does not exist at {}: set --table or TABLE_NAME; `make dev` creates it locally",
                self.table(),
                self.place
            ),
            Fault::Service { code, message }
                if matches!(
                    code.as_str(),
                    "UnrecognizedClientException"
                        | "InvalidSignatureException"
                        | "ExpiredTokenException"
                        | "AccessDeniedException"
                        | "MissingAuthenticationTokenException"
                ) =>
            {
                format!("{action}: AWS refused the credentials ({code}): {message}")
            }
            Fault::Service { code, message } => format!("{action}: {code}: {message}"),
            Fault::NoCredentials => "no AWS credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
            Fault::Timeout => {
                format!("{action}: DynamoDB at {} did not answer in time", self.place)
            }
            Fault::Unreachable(cause) => format!(
                "cannot reach DynamoDB at {} ({cause}){}",
                self.place,
                if self.place.starts_with("http") {
                    "; is `make dev` running?"
                } else {
                    ""
                }
            ),
            Fault::Deadline { .. } => format!("{action}: {}", err.detail),
            Fault::Other(cause) => format!("{action}: {cause}"),
        };
        Fail::new(message)
    }

    /// Every event of an index query (see [`Reader::query`]).
    pub async fn query(&self, q: &Query) -> Result<Vec<StoredEvent>, Fail> {
        let items = self.reader.query(q).await.map_err(|e| self.fail(e))?;
        items.iter().map(typed).collect()
    }

    /// One page of a table scan.
    pub async fn scan_page(&self, s: &Scan, start: Option<Item>) -> Result<ScanPage, Fail> {
        self.reader
            .scan_page(s, start)
            .await
            .map_err(|e| self.fail(e))
    }

    /// One item by event_id (eventually consistent).
    pub async fn get(&self, event_id: &str) -> Result<Option<Item>, Fail> {
        self.reader.get(event_id).await.map_err(|e| self.fail(e))
    }

    /// Items by event_id; only the `projection`'s attributes when given.
    pub async fn get_many(
        &self,
        ids: &[String],
        projection: Option<&Projection>,
    ) -> Result<HashMap<String, Item>, Fail> {
        self.reader
            .get_many(ids, projection)
            .await
            .map_err(|e| self.fail(e))
    }
}

/// The typed view of an item read from the table, or a failure that names
/// the item and its malformed attribute.
pub fn typed(item: &Item) -> Result<StoredEvent, Fail> {
    StoredEvent::try_from(item).map_err(|e| {
        let id = match item.get(events_table::attr::EVENT_ID) {
            Some(AttributeValue::S(id)) => id.as_str(),
            _ => "(no event_id)",
        };
        Fail::new(format!("item {id}: {e}"))
    })
}

/// `1,234,567 bytes in full, sha256 9f86…`: what is known of the whole
/// of an item quarantined only in part.
pub fn describe_truncated(part: &events_table::stored::Truncated) -> String {
    let size = match part.original_bytes {
        Some(n) => format!("{} bytes", crate::render::thousands(n)),
        None => "size unknown".to_owned(),
    };
    match &part.sha256 {
        Some(sha) => format!("{size} in full, sha256 {sha}"),
        None => format!("{size} in full"),
    }
}

/// An item as JSON: S strings, N numbers, BOOL, NULL, L arrays, M objects
/// (keys sorted), sets as arrays, binary as base64. A number JSON would not
/// give back as DynamoDB holds it (past the 64-bit integers, more digits
/// than a double keeps) is that text, as a string, never a rounded number:
/// the rule of the analytics workflow on AWS (docs/analytics.md).
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
    let number = |n: &str| match n.parse::<Number>() {
        Ok(number) if number.to_string() == n => Value::Number(number),
        _ => Value::String(n.to_owned()),
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

/// An event as JSON (what `item_json` gives for its item).
pub fn event_json(event: &StoredEvent) -> Value {
    item_json(&Item::from(event.clone()))
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
            // a number JSON would round stays DynamoDB's text
            r#"{"b":"AP9o","big":"123456789012345678901234567890","bs":["YQ==","AQ=="],"ns":[3,1.5],"null":null,"ss":["b","a"]}"#
        );
    }
}
