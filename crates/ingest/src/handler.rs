//! One request: method and size checks, authentication, normalization,
//! storage, answer. Every answer is JSON; every request logs one line.
//!
//! Each member of a body stands alone: an event is stored as an event, and
//! a member that is not one, is too large for an item, or is refused by
//! DynamoDB is kept as its own `invalid` item, while the others are stored.
//! Only a body that is not the provider's envelope at all (or carries too
//! many members) is refused, and then it is kept whole as one `invalid` item.

use crate::auth::{Authenticator, Presented};
use crate::config::Config;
use crate::error::Rejection;
use crate::metrics::RequestMetrics;
use events_table::intake::{BodyItems, Entry, Expiry, Intake, Kind};
use events_table::item::Item;
use events_table::store::{event_id, store_all, StoreError, Table};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use normalize::{Provider, Timestamp};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

use events_table::store::MAX_EVENTS;
/// When, after arrival, storing a request's items must be done.
pub const STORE_DEADLINE: Duration = Duration::from_millis(3500);
/// When, after arrival, keeping what DynamoDB refused must be done: with the
/// answer's own time this keeps every answer within 4.5 s (Flashy gives up
/// at 5 s).
pub const KEEP_DEADLINE: Duration = Duration::from_millis(4300);
/// How long keeping a refused body may take.
const KEEP_BUDGET: Duration = Duration::from_millis(1500);
/// Times a refused item is replaced by a smaller keeping item before the
/// store gives up on it (event → whole member → summary of the member).
const KEEP_ROUNDS: usize = 3;

/// One provider's function: its configuration, who may post, and the table.
pub struct App<T> {
    provider: Provider,
    config: Config,
    pub(crate) auth: Authenticator,
    /// Public so tests can look into an in-memory table.
    pub table: T,
}

/// What became of a request's members.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    /// Events new to the table.
    pub stored: usize,
    /// Events already stored (a redelivery), or repeated within the body.
    pub duplicates: usize,
    /// Members kept as `invalid` items.
    pub quarantined: usize,
    /// Of those, members kept only in part (too large even for that).
    pub truncated: usize,
    /// Events of a type the mapping does not know.
    pub unknown: usize,
}

enum Outcome {
    Reachable,
    Stored(Counts),
    /// Refused as a whole, and kept as one `invalid` item.
    Kept {
        rejection: Rejection,
        counts: Counts,
    },
}

impl<T: Table> App<T> {
    pub fn new(provider: Provider, config: Config, table: T) -> Self {
        let auth = Authenticator::new(&config.tokens, config.allow_unauthenticated);
        App {
            provider,
            config,
            auth,
            table,
        }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let outcome = self.process(&request, started).await;
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("-");
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let provider = self.provider.as_str();
        let metrics = |status: StatusCode, counts: Counts| RequestMetrics {
            received: counts.received,
            stored: counts.stored,
            duplicates: counts.duplicates,
            quarantined: counts.quarantined,
            unknown: counts.unknown,
            truncated: counts.truncated,
            ..RequestMetrics::new(provider, request_id, status.as_u16(), latency_ms)
        };
        let (rejection, kept) = match outcome {
            Ok(Outcome::Reachable) => {
                tracing::info!(request_id, provider, method = %request.method(), status = 200, latency_ms, "reachability check");
                return json(
                    StatusCode::OK,
                    format!(r#"{{"status":"ok","provider":"{provider}"}}"#),
                );
            }
            Ok(Outcome::Stored(counts)) => {
                tracing::info!(
                    request_id,
                    provider,
                    status = 200,
                    received = counts.received,
                    stored = counts.stored,
                    duplicates = counts.duplicates,
                    quarantined = counts.quarantined,
                    truncated = counts.truncated,
                    unknown = counts.unknown,
                    latency_ms,
                    "webhook stored"
                );
                metrics(StatusCode::OK, counts).emit();
                let body = self.config.success_body.clone().unwrap_or_else(|| {
                    format!(
                        r#"{{"received":{},"stored":{},"duplicates":{},"quarantined":{}}}"#,
                        counts.received, counts.stored, counts.duplicates, counts.quarantined
                    )
                });
                return json(StatusCode::OK, body);
            }
            Ok(Outcome::Kept { rejection, counts }) => (rejection, counts),
            Err(rejection) => (rejection, Counts::default()),
        };
        let status = rejection.status();
        tracing::warn!(
            request_id,
            provider,
            status = status.as_u16(),
            reason = %rejection.log_detail(),
            quarantined = kept.quarantined,
            latency_ms,
            "webhook refused"
        );
        metrics(status, kept).emit();
        let body = serde_json::json!({ "error": rejection.to_string() }).to_string();
        json(status, body)
    }

    async fn process(&self, request: &Request, started: Instant) -> Result<Outcome, Rejection> {
        match *request.method() {
            Method::POST => {}
            Method::GET | Method::HEAD => return Ok(Outcome::Reachable),
            ref other => return Err(Rejection::MethodNotAllowed(other.to_string())),
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(Rejection::BodyTooLarge {
                size: body.len(),
                limit: self.config.max_body_bytes,
            });
        }
        let query = request.query_string_parameters_ref();
        let presented = Presented {
            query_token: query.and_then(|q| q.first("token")),
            headers: Some(request.headers()),
        };
        let verified = self
            .auth
            .verify(&presented, body)
            .ok_or(Rejection::Unauthorized)?;

        let received_at = Timestamp::now();
        let intake = self.intake(received_at);
        // From here on, whatever is not stored as an event is quarantined.
        let (rejection, entries, items): (_, Vec<Entry>, Vec<Item>) =
            match intake.body(verified.body(), MAX_EVENTS) {
                BodyItems::Members(members) => {
                    let (entries, items) = members.into_iter().unzip();
                    (None, entries, items)
                }
                BodyItems::Refused {
                    reason,
                    entry,
                    item,
                } => (Some(Rejection::from(reason)), vec![entry], vec![item]),
            };
        let mut entries = entries;
        for entry in &entries {
            self.warn_in_part(entry);
        }
        let deadline = match rejection {
            None => started + STORE_DEADLINE,
            Some(_) => (Instant::now() + KEEP_BUDGET).min(started + KEEP_DEADLINE),
        };
        let written = self
            .save(&intake, &mut entries, items, deadline, started)
            .await?;
        let counts = count(&entries, &written);
        Ok(match rejection {
            None => Outcome::Stored(counts),
            Some(rejection) => Outcome::Kept { rejection, counts },
        })
    }

    fn intake(&self, received_at: Timestamp) -> Intake {
        Intake {
            provider: self.provider,
            received_at,
            expiry: Expiry::days(self.config.retention_days),
        }
    }

    /// Stores the items; an item DynamoDB refuses is replaced by one that
    /// keeps its member (an event's member whole or in part, a kept member
    /// as a summary) and stored in a further round, within the keeping
    /// deadline. Returns the ids written.
    async fn save(
        &self,
        intake: &Intake,
        entries: &mut [Entry<'_>],
        items: Vec<Item>,
        deadline: Instant,
        started: Instant,
    ) -> Result<HashSet<String>, StoreError> {
        let mut written = HashSet::new();
        let mut pending = items;
        let mut deadline = deadline;
        for _ in 0..KEEP_ROUNDS {
            if pending.is_empty() {
                break;
            }
            let stored = store_all(&self.table, pending, deadline).await?;
            written.extend(stored.written);
            pending = self.replace_refused(intake, entries, stored.refused);
            deadline = deadline.max(started + KEEP_DEADLINE);
        }
        for item in &pending {
            not_kept(self.provider, item);
        }
        Ok(written)
    }

    /// The items that keep the members of refused items, the entries
    /// updated to point at them.
    fn replace_refused(
        &self,
        intake: &Intake,
        entries: &mut [Entry<'_>],
        refused: Vec<(Item, String)>,
    ) -> Vec<Item> {
        if refused.is_empty() {
            return Vec::new();
        }
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            by_id.entry(entry.id.clone()).or_default().push(index);
        }
        let mut replacements = Vec::new();
        for (item, reason) in refused {
            let Some(indexes) = by_id.get(event_id(&item)) else {
                continue;
            };
            let Some(first) = indexes.first().map(|&i| &entries[i]) else {
                continue;
            };
            let (raw, kind, holds) = (first.raw, first.kind, first.holds.clone());
            tracing::warn!(
                provider = self.provider.as_str(),
                event_id = event_id(&item),
                reason,
                "item refused by DynamoDB; its member is kept instead"
            );
            let reason = format!("DynamoDB refused the item: {reason}");
            let (entry, kept) = match kind {
                Kind::Event { .. } => intake.quarantine(raw, &reason, holds),
                Kind::Quarantined => {
                    let summary = intake.summary(raw, &reason, &holds);
                    let entry = Entry {
                        id: event_id(&summary).to_owned(),
                        raw,
                        kind: Kind::QuarantinedInPart,
                        holds,
                    };
                    (entry, summary)
                }
                // Nothing smaller keeps it; sending it again would be refused
                // again.
                Kind::QuarantinedInPart => {
                    not_kept(self.provider, &item);
                    continue;
                }
            };
            self.warn_in_part(&entry);
            for &index in indexes {
                entries[index] = entry.clone();
            }
            replacements.push(kept);
        }
        replacements
    }

    fn warn_in_part(&self, entry: &Entry<'_>) {
        if entry.kind == Kind::QuarantinedInPart {
            tracing::warn!(
                provider = self.provider.as_str(),
                event_id = entry.id,
                bytes = entry.raw.len(),
                "member kept only in part: too large for one item even compressed"
            );
        }
    }
}

/// The one loss the table cannot show: DynamoDB refused even the smallest
/// item that would keep a member.
fn not_kept(provider: Provider, item: &Item) {
    tracing::error!(
        provider = provider.as_str(),
        event_id = event_id(item),
        "member not kept: DynamoDB refused even its summary"
    );
}

/// What became of each member, from the kind of item that holds it and
/// whether this request wrote it.
fn count(entries: &[Entry<'_>], written: &HashSet<String>) -> Counts {
    let mut counts = Counts {
        received: entries.len(),
        ..Counts::default()
    };
    let mut first = HashSet::with_capacity(entries.len());
    for entry in entries {
        match entry.kind {
            Kind::Event { unknown } => {
                counts.unknown += usize::from(unknown);
                if written.contains(&entry.id) && first.insert(entry.id.as_str()) {
                    counts.stored += 1;
                } else {
                    counts.duplicates += 1;
                }
            }
            Kind::Quarantined => counts.quarantined += 1,
            Kind::QuarantinedInPart => {
                counts.quarantined += 1;
                counts.truncated += 1;
            }
        }
    }
    counts
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
