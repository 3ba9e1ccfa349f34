//! Reading the table as the operator's tools do: one item, many by id
//! (the store's BatchGetItem loop), an index query and a scan, paging on
//! every call, with every SDK error turned into a [`CallError`] that says
//! which kind of failure it was.

use crate::attr;
use crate::dynamo::{batch_get_answer, batch_get_request};
use crate::item::{Item, BY_CONTACT, BY_DAY};
use crate::store::{event_id, get_all, Retryable};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

/// How long one [`Reader::get_many`] may keep retrying unprocessed keys.
pub const READ_DEADLINE: Duration = Duration::from_secs(30);

/// The attributes to read: a projection expression of placeholders, and
/// the names they stand for (so no name clashes with a reserved word).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub expression: String,
    pub names: HashMap<String, String>,
}

impl Projection {
    pub fn of(attributes: &[&str]) -> Self {
        let mut projection = Projection::default();
        let placeholders: Vec<String> = attributes
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let placeholder = format!("#p{i}");
                projection
                    .names
                    .insert(placeholder.clone(), (*name).to_owned());
                placeholder
            })
            .collect();
        projection.expression = placeholders.join(", ");
        projection
    }
}

/// What went wrong in a call on the table, by what an operator can do
/// about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// DynamoDB answered with an error code (`ResourceNotFoundException`,
    /// `AccessDeniedException`, a throttling code, ...).
    Service { code: String, message: String },
    /// No credentials were found.
    NoCredentials,
    /// DynamoDB did not answer in time.
    Timeout,
    /// DynamoDB could not be reached; the innermost cause.
    Unreachable(String),
    /// Ids still unread when the read's deadline passed.
    Deadline { remaining: usize },
    /// Anything else; the innermost cause.
    Other(String),
}

#[derive(Debug, Clone, Error)]
#[error("{action}: {detail}")]
pub struct CallError {
    /// What was being done ("query failed", "reading items failed").
    pub action: &'static str,
    pub fault: Fault,
    /// The SDK's full text of the error.
    pub detail: String,
}

impl CallError {
    pub fn from_sdk<E>(action: &'static str, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&err).to_string();
        let fault = match &err {
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) => Fault::Service {
                    code: code.to_owned(),
                    message: service.err().message().unwrap_or_default().to_owned(),
                },
                None => Fault::Other(innermost(&err)),
            },
            _ if detail.contains("CredentialsNotLoaded") || detail.contains("no credentials") => {
                Fault::NoCredentials
            }
            SdkError::TimeoutError(_) => Fault::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => Fault::Timeout,
            SdkError::DispatchFailure(d) if d.is_io() => Fault::Unreachable(innermost(&err)),
            _ => Fault::Other(innermost(&err)),
        };
        CallError {
            action,
            fault,
            detail,
        }
    }
}

impl Retryable for CallError {
    fn is_throttled(&self) -> bool {
        matches!(&self.fault, Fault::Service { code, .. } if matches!(
            code.as_str(),
            "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
        ))
    }

    fn deadline(remaining: usize) -> Self {
        CallError {
            action: "reading items failed",
            fault: Fault::Deadline { remaining },
            detail: format!("{remaining} item(s) still unread when the read's deadline passed"),
        }
    }
}

/// The innermost cause of an error, which is usually the one that says
/// what happened ("Connection refused (os error 111)").
pub fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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
    /// Stop once this many items (after the filter) are in hand.
    pub want: Option<usize>,
}

impl Query {
    /// The events of one `day_key` partition (`<provider>#<YYYY-MM-DD>`).
    pub fn day(day_key: &str) -> Self {
        Query {
            index: BY_DAY,
            key_condition: "#dk = :dk".to_owned(),
            names: HashMap::from([("#dk".to_owned(), attr::DAY_KEY.to_owned())]),
            values: HashMap::from([(":dk".to_owned(), AttributeValue::S(day_key.to_owned()))]),
            ..Query::default()
        }
    }

    /// The events of one `contact_key`, oldest first.
    pub fn contact(contact_key: &str) -> Self {
        Query {
            index: BY_CONTACT,
            key_condition: "#ck = :ck".to_owned(),
            names: HashMap::from([("#ck".to_owned(), attr::CONTACT_KEY.to_owned())]),
            values: HashMap::from([(":ck".to_owned(), AttributeValue::S(contact_key.to_owned()))]),
            ..Query::default()
        }
    }

    /// Only events of these types.
    pub fn types(mut self, types: &[&str]) -> Self {
        if types.is_empty() {
            return self;
        }
        self.names
            .insert("#et".to_owned(), attr::EVENT_TYPE.to_owned());
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
            .insert("#oa".to_owned(), attr::OCCURRED_AT.to_owned());
        self.values
            .insert(":oa".to_owned(), AttributeValue::S(at.to_owned()));
        self.key_condition.push_str(" AND #oa >= :oa");
        self
    }

    /// Only these attributes.
    pub fn project(mut self, attributes: &[&str]) -> Self {
        let projection = Projection::of(attributes);
        self.names.extend(projection.names);
        self.projection = Some(projection.expression);
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

impl Scan {
    /// Only these attributes.
    pub fn project(mut self, attributes: &[&str]) -> Self {
        let projection = Projection::of(attributes);
        self.names.extend(projection.names);
        self.projection = Some(projection.expression);
        self
    }

    /// Adds `condition` to the filter (AND).
    pub fn and(&mut self, condition: &str) {
        self.filter = Some(match self.filter.take() {
            Some(filter) => format!("{filter} AND {condition}"),
            None => condition.to_owned(),
        });
    }
}

pub struct ScanPage {
    pub scanned: u64,
    pub items: Vec<Item>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<Item>,
}

/// The table, for reading.
#[derive(Debug, Clone)]
pub struct Reader {
    client: Client,
    table: String,
}

impl Reader {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Reader {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by event_id (eventually consistent).
    pub async fn get(&self, event_id: &str) -> Result<Option<Item>, CallError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::EVENT_ID, AttributeValue::S(event_id.to_owned()))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("reading the item failed", e))?;
        Ok(output.item)
    }

    /// Items by event_id (eventually consistent), through the store's
    /// BatchGetItem loop, retrying for up to [`READ_DEADLINE`]; only the
    /// `projection`'s attributes when given (it must include `event_id`).
    /// Missing ids are absent.
    pub async fn get_many(
        &self,
        ids: &[String],
        projection: Option<&Projection>,
    ) -> Result<HashMap<String, Item>, CallError> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let deadline = tokio::time::Instant::now() + READ_DEADLINE;
        let items = get_all(unique, deadline, |chunk| async move {
            let request = batch_get_request(chunk, projection, false).map_err(|e| CallError {
                action: "reading items failed",
                fault: Fault::Other(e.to_string()),
                detail: e.to_string(),
            })?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| CallError::from_sdk("reading items failed", e))?;
            Ok(batch_get_answer(output, &self.table))
        })
        .await?;
        Ok(items
            .into_iter()
            .map(|item| (event_id(&item).to_owned(), item))
            .collect())
    }

    /// Every item of an index query, following LastEvaluatedKey; stops
    /// once `want` items (after the filter) are in hand.
    pub async fn query(&self, q: &Query) -> Result<Vec<Item>, CallError> {
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
                .map_err(|e| CallError::from_sdk("query failed", e))?;
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
    pub async fn scan_page(&self, s: &Scan, start: Option<Item>) -> Result<ScanPage, CallError> {
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
            .map_err(|e| CallError::from_sdk("scan failed", e))?;
        Ok(ScanPage {
            scanned: page.scanned_count.max(0) as u64,
            items: page.items.unwrap_or_default(),
            next: page.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_filter_lists_every_type() {
        let q = Query::day("flashy#2024-05-01").types(&["invalid", "unknown"]);
        assert_eq!(q.filter.as_deref(), Some("#et IN (:et0, :et1)"));
        assert_eq!(q.values[":et1"], AttributeValue::S("unknown".into()));
        assert_eq!(q.names["#dk"], "day_key");
    }

    #[test]
    fn a_projection_names_its_attributes_by_placeholder() {
        let p = Projection::of(&["event_id", "attributes"]);
        assert_eq!(p.expression, "#p0, #p1");
        assert_eq!(p.names["#p1"], "attributes");
    }

    #[test]
    fn the_innermost_cause_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = std::io::Error::other(io);
        assert_eq!(innermost(&outer), "Connection refused");
    }
}
