//! One batch of the events table's stream (Lambda's DynamoDB event) into
//! the consent table. Each record stands alone: one that is malformed, or
//! whose item the fold cannot read, or whose write (or, with fan-out, whose
//! publish, after the write) fails, is logged with its
//! event id and reported as a batch item failure (its sequence number); the
//! records after it are still applied. A change whose publish still fails
//! after Lambda's retries stays marked on the consent table until
//! `webhooks consent publish` ([`crate::pending`]) publishes it. Applying a
//! record twice changes nothing (at-least-once delivery).

use crate::changes::{Changes, PublishError};
use crate::image::fact_from_image;
use crate::metrics::Tally;
use crate::table::ConsentTable;
use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use consent::Fact;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("malformed stream record: {0}")]
    Malformed(String),
    #[error("item the consent fold cannot read: {0}")]
    Unreadable(#[from] consent::FactError),
    #[error(transparent)]
    Table(#[from] crate::table::TableError),
    #[error("consent.changed not published: {0}")]
    Publish(String),
}

impl From<PublishError> for RecordError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Bus(e) => RecordError::Publish(e),
            PublishError::Table(e) => RecordError::Table(e),
        }
    }
}

/// Applies every record of `payload` (`{"Records": [...]}`) and answers
/// which failed; newly stored events are counted in `tally` (the
/// deliverability metrics) and verdict changes go to `changes` (when
/// fan-out is on). A payload that is not a batch at all is an error for the
/// whole invocation.
pub async fn handle_batch(
    table: &ConsentTable,
    payload: &Value,
    tally: &mut Tally,
    changes: &Changes,
) -> Result<DynamoDbEventResponse, RecordError> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return Err(RecordError::Malformed("no Records array".into()));
    };
    let mut response = DynamoDbEventResponse::default();
    for record in records {
        let error = match apply_record(table, record, changes).await {
            Ok(Some(inserted)) => {
                tally.count(&inserted);
                continue;
            }
            Ok(None) => continue,
            Err(error) => error,
        };
        let sequence = record
            .pointer("/dynamodb/SequenceNumber")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let event_id = record
            .pointer("/dynamodb/NewImage/event_id/S")
            .or_else(|| record.pointer("/dynamodb/Keys/event_id/S"))
            .and_then(Value::as_str)
            .unwrap_or("");
        tracing::error!(
            event_id,
            sequence_number = sequence.as_deref().unwrap_or(""),
            error = %error,
            "consent: record not applied"
        );
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = sequence;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Applies one record; answers the fact of a newly stored event (INSERT).
async fn apply_record(
    table: &ConsentTable,
    record: &Value,
    changes: &Changes,
) -> Result<Option<Fact>, RecordError> {
    let record: EventRecord = serde_json::from_value(record.clone())
        .map_err(|e| RecordError::Malformed(e.to_string()))?;
    // Removals (retention, erasure) take nothing away from the view: what
    // keeps a person from being contacted again stays.
    if record.event_name == "REMOVE" {
        return Ok(None);
    }
    let fact = match fact_from_image(&record.change.new_image) {
        Ok(fact) => fact,
        // With later events erased, every new event reaches this function:
        // one that is not about consent and not readable is none of its
        // business.
        Err(_) if table.erase_later_in.is_some() && !is_consent_type(&record) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if let Some(events_table) = &table.erase_later_in {
        if crate::erasure::erase_on_arrival(table, events_table, &fact).await? {
            return Ok(None);
        }
    }
    if changes.is_on() && fact.is_relevant() {
        apply_and_publish(table, &fact, changes).await?;
    } else {
        table.apply(&fact).await?;
    }
    Ok((record.event_name == "INSERT").then_some(fact))
}

fn is_consent_type(record: &EventRecord) -> bool {
    matches!(
        record.change.new_image.get("event_type"),
        Some(serde_dynamo::AttributeValue::S(t)) if consent::CONSENT_TYPES.contains(&t.as_str())
    )
}

/// Writes `fact`, then publishes the verdict changes it makes (see
/// [`crate::changes`]): the view never waits for the bus. The changes are
/// found before the write and kept on the fact's items until published, so
/// a record retried after a failed publish publishes them again; once
/// Lambda gives up on the record (dead-letter queue), `webhooks consent
/// publish` does ([`crate::pending`]).
async fn apply_and_publish(
    table: &ConsentTable,
    fact: &Fact,
    changes: &Changes,
) -> Result<(), RecordError> {
    let mut details = Vec::new();
    let mut unpublished = None;
    for subject in consent::subjects(fact) {
        let person = table.person_items(&subject).await?;
        if let Some(kept) = person.unpublished.get(&fact.event_id) {
            unpublished = Some(kept.clone());
        }
        let facts = person.facts;
        let before = consent::fold(facts.clone(), &changes.settings);
        let after = consent::fold(facts.into_iter().chain([fact.clone()]), &changes.settings);
        details.extend(crate::changes::change(&subject, &before, &after, fact));
    }
    if details.is_empty() {
        // Already written: what an earlier attempt could not publish, if any.
        table.apply(fact).await?;
        let Some(kept) = unpublished else {
            return Ok(());
        };
        details = serde_json::from_str(&kept).map_err(|e| RecordError::Publish(e.to_string()))?;
    } else {
        table
            .apply_marked(fact, Some(&Value::Array(details.clone()).to_string()))
            .await?;
    }
    changes.publish_marked(table, fact, details).await?;
    Ok(())
}
