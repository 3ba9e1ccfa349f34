//! `consent.changed`: when fan-out is on (`EVENT_BUS_NAME` set), each
//! change of a person's verdicts goes on the EventBridge bus (source
//! `marketing-webhooks.consent`), so a rule can push the opt-out to each
//! platform's API.
//!
//! The function reads the subject's facts before writing the new one,
//! folds both ways, writes, then publishes: a bus that is down never keeps
//! an opt-out from the view. Until published, the changes are kept on the
//! fact's items (`unpublished`), so a record retried after a failed publish
//! publishes them again. Lambda retries a record 3 times, then sends it to
//! the dead-letter queue: the mark stays, and `webhooks consent publish`
//! ([`crate::pending`]) publishes what it holds, through
//! [`Changes::publish_marked`] as the function does. At least once, never
//! not at all: a consumer may see one change twice. Two
//! batches changing one person at the same instant may each see the other's
//! fact missing: a rare extra or missing event, never a wrong verdict in the
//! table.

use crate::lookup::answer;
use crate::table::{ConsentTable, TableError};
use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata};
use consent::{Consent, Fact, Settings};
use serde_json::{json, Value};
use std::sync::Mutex;

pub const SOURCE: &str = "marketing-webhooks.consent";
pub const DETAIL_TYPE: &str = "consent.changed";

/// The event's detail when `fact` changes the subject's verdicts:
/// `{"subject", "event_id", "channels", "previous", "transactional_blocked"}`
/// (channels as in the lookup's answer).
pub fn change(subject: &str, before: &Consent, after: &Consent, fact: &Fact) -> Option<Value> {
    if before.channels == after.channels
        && before.transactional_blocked == after.transactional_blocked
    {
        return None;
    }
    Some(json!({
        "subject": subject,
        "event_id": fact.event_id,
        "provider": fact.provider,
        "channels": answer(subject, after)["channels"],
        "previous": answer(subject, before)["channels"],
        "transactional_blocked": after.transactional_blocked,
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("consent.changed not published: {0}")]
    Bus(String),
    /// Published, but the mark could not be taken off: it will be
    /// published again.
    #[error(transparent)]
    Table(#[from] TableError),
}

enum Sink {
    Off,
    Bus {
        client: aws_sdk_eventbridge::Client,
        bus: String,
    },
    /// Tests: the details, kept; the first `failures` publishes fail.
    Recorded(Mutex<Recorded>),
}

#[derive(Default)]
struct Recorded {
    kept: Vec<Value>,
    failures: usize,
}

/// Where verdict changes go, and the fold's settings to find them.
pub struct Changes {
    sink: Sink,
    pub settings: Settings,
}

impl Changes {
    pub fn off() -> Changes {
        Changes {
            sink: Sink::Off,
            settings: Settings::default(),
        }
    }

    pub fn to_bus(client: aws_sdk_eventbridge::Client, bus: String, settings: Settings) -> Changes {
        Changes {
            sink: Sink::Bus { client, bus },
            settings,
        }
    }

    /// [`Changes::to_bus`] with a client made from `config` (the CLI's).
    pub fn to_bus_with(config: &aws_config::SdkConfig, bus: String, settings: Settings) -> Changes {
        Changes::to_bus(aws_sdk_eventbridge::Client::new(config), bus, settings)
    }

    pub fn recorded(settings: Settings) -> Changes {
        Changes {
            sink: Sink::Recorded(Mutex::new(Recorded::default())),
            settings,
        }
    }

    /// Tests: a [`Changes::recorded`] whose next `n` publishes fail, as
    /// with the bus down.
    pub fn failing(n: usize, settings: Settings) -> Changes {
        Changes {
            sink: Sink::Recorded(Mutex::new(Recorded {
                kept: Vec::new(),
                failures: n,
            })),
            settings,
        }
    }

    pub fn is_on(&self) -> bool {
        !matches!(self.sink, Sink::Off)
    }

    /// What [`Changes::recorded`] kept.
    pub fn published(&self) -> Vec<Value> {
        match &self.sink {
            Sink::Recorded(kept) => kept.lock().map(|k| k.kept.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Publishes the changes `fact` made, kept on its items as
    /// [`crate::table::UNPUBLISHED`], then takes that mark off
    /// ([`ConsentTable::mark_published`]). The function after writing a
    /// fact and `webhooks consent publish` both come here. On failure the
    /// mark stays, to be published again.
    pub async fn publish_marked(
        &self,
        table: &ConsentTable,
        fact: &Fact,
        details: Vec<Value>,
    ) -> Result<(), PublishError> {
        self.publish(details).await.map_err(PublishError::Bus)?;
        table.mark_published(fact).await?;
        Ok(())
    }

    pub async fn publish(&self, details: Vec<Value>) -> Result<(), String> {
        if details.is_empty() {
            return Ok(());
        }
        match &self.sink {
            Sink::Off => Ok(()),
            Sink::Recorded(recorded) => {
                let mut recorded = recorded.lock().map_err(|e| e.to_string())?;
                if recorded.failures > 0 {
                    recorded.failures -= 1;
                    return Err("the bus is down (test)".into());
                }
                recorded.kept.extend(details);
                Ok(())
            }
            Sink::Bus { client, bus } => {
                for chunk in details.chunks(10) {
                    let entries = chunk.iter().map(|detail| {
                        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                            .event_bus_name(bus)
                            .source(SOURCE)
                            .detail_type(DETAIL_TYPE)
                            .detail(detail.to_string())
                            .build()
                    });
                    let out = client
                        .put_events()
                        .set_entries(Some(entries.collect()))
                        .send()
                        .await
                        .map_err(put_events_error)?;
                    if out.failed_entry_count() > 0 {
                        return Err(format!(
                            "PutEvents refused {} of {} entries",
                            out.failed_entry_count(),
                            chunk.len()
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}

/// A failed PutEvents in one line: AWS's code and message when it answered.
fn put_events_error<E, R>(e: aws_sdk_eventbridge::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code) => format!("PutEvents: {code}: {}", e.message().unwrap_or_default()),
        None => format!("PutEvents: {}", DisplayErrorContext(&e)),
    }
}
