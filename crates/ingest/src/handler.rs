//! One request: method and size checks, authentication, normalization,
//! storage, answer. Every answer is JSON; every request logs one line.
//!
//! Each member of a body stands alone: an event is stored as an event, and
//! a member that is not one, is too large for an item, or is refused by
//! DynamoDB is kept as its own `invalid` item, while the others are stored.
//! Only a body that is not the provider's envelope at all (or carries too
//! many members) is refused, and then it is kept whole as one `invalid` item.

use crate::auth::{Presented, Verified};
use crate::config::Config;
use crate::error::Rejection;
use crate::metrics::RequestMetrics;
use crate::tokens::{Refusal, Tokens};
use events_table::item::{fit, into_item, kept_item, kept_summary, Item, MAX_ITEM_BYTES};
use events_table::store::{event_id, store_all, StoreError, Table};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use normalize::{EventType, Member, Provider, Timestamp};
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
    pub(crate) auth: Tokens,
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

/// One member on its way to the table: the id of the item that holds it,
/// its text in the body, and what kind of item that is.
struct Entry<'a> {
    id: String,
    raw: &'a [u8],
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An event; `unknown` when its type has no mapping yet.
    Event {
        unknown: bool,
    },
    Kept,
    KeptInPart,
}

impl<T: Table> App<T> {
    /// The app with the configuration's fixed tokens (`WEBHOOK_TOKENS`).
    pub fn new(provider: Provider, config: Config, table: T) -> Self {
        let auth = Tokens::fixed(&config);
        Self::with_tokens(provider, config, auth, table)
    }

    /// The app with tokens from elsewhere (Secrets Manager).
    pub fn with_tokens(provider: Provider, config: Config, auth: Tokens, table: T) -> Self {
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
                let body = match self.auth.success_body() {
                    Some(body) => body.to_string(),
                    None => format!(
                        r#"{{"received":{},"stored":{},"duplicates":{},"quarantined":{}}}"#,
                        counts.received, counts.stored, counts.duplicates, counts.quarantined
                    ),
                };
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
        let verified =
            self.auth
                .verify(&presented, body)
                .await
                .map_err(|refusal| match refusal {
                    Refusal::Unauthorized => Rejection::Unauthorized,
                    Refusal::Unavailable(reason) => Rejection::TokensUnavailable(reason),
                })?;

        let received_at = Timestamp::now();
        // From here on, whatever is not stored as an event is kept.
        let members =
            match normalize::members(self.provider, verified.body(), received_at, MAX_EVENTS) {
                Ok(members) => members,
                Err(error) => {
                    return self
                        .keep_body(verified, error.into(), received_at, started)
                        .await;
                }
            };
        let (mut entries, items) = self.prepare(members, received_at);
        let deadline = started + STORE_DEADLINE;
        let written = self
            .save(&mut entries, items, received_at, deadline, started)
            .await?;
        Ok(Outcome::Stored(count(&entries, &written)))
    }

    /// Each member's item: the event's, or an `invalid` item for a member
    /// that is not an event or too large to store as one.
    fn prepare<'a>(
        &self,
        members: Vec<Member<'a>>,
        received_at: Timestamp,
    ) -> (Vec<Entry<'a>>, Vec<Item>) {
        let retention = self.config.retention_days;
        let mut entries = Vec::with_capacity(members.len());
        let mut items = Vec::with_capacity(members.len());
        for member in members {
            let (entry, item) = match member {
                Member::Event { event, raw } => {
                    let unknown = event.event_type == EventType::Unknown;
                    match fit(into_item(event, retention)) {
                        Ok(item) => {
                            let id = event_id(&item).to_owned();
                            let raw = raw.as_bytes();
                            let kind = Kind::Event { unknown };
                            (Entry { id, raw, kind }, item)
                        }
                        Err(size) => {
                            let reason = format!(
                                "event is {size} bytes even with raw compressed, over DynamoDB's item limit of {MAX_ITEM_BYTES} bytes"
                            );
                            self.keep(raw.as_bytes(), &reason, received_at)
                        }
                    }
                }
                Member::Invalid { raw, reason } => {
                    self.keep(raw.as_bytes(), &reason.to_string(), received_at)
                }
            };
            entries.push(entry);
            items.push(item);
        }
        (entries, items)
    }

    /// The `invalid` item that keeps `raw` with `reason`, and its entry.
    fn keep<'a>(&self, raw: &'a [u8], reason: &str, received_at: Timestamp) -> (Entry<'a>, Item) {
        let retention = self.config.retention_days;
        let kept = kept_item(self.provider, raw, reason, received_at, retention);
        (self.kept_entry(raw, &kept), kept.0)
    }

    fn kept_entry<'a>(&self, raw: &'a [u8], (item, in_part): &(Item, bool)) -> Entry<'a> {
        if *in_part {
            tracing::warn!(
                provider = self.provider.as_str(),
                event_id = event_id(item),
                bytes = raw.len(),
                "member kept only in part: too large for one item even compressed"
            );
        }
        Entry {
            id: event_id(item).to_owned(),
            raw,
            kind: if *in_part {
                Kind::KeptInPart
            } else {
                Kind::Kept
            },
        }
    }

    /// Stores the items; an item DynamoDB refuses is replaced by one that
    /// keeps its member (an event's member whole or in part, a kept member
    /// as a summary) and stored in a further round, within the keeping
    /// deadline. Returns the ids written.
    async fn save(
        &self,
        entries: &mut [Entry<'_>],
        items: Vec<Item>,
        received_at: Timestamp,
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
            pending = self.replace_refused(entries, stored.refused, received_at);
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
        entries: &mut [Entry<'_>],
        refused: Vec<(Item, String)>,
        received_at: Timestamp,
    ) -> Vec<Item> {
        if refused.is_empty() {
            return Vec::new();
        }
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            by_id.entry(entry.id.clone()).or_default().push(index);
        }
        let retention = self.config.retention_days;
        let mut replacements = Vec::new();
        for (item, reason) in refused {
            let Some(indexes) = by_id.get(event_id(&item)) else {
                continue;
            };
            let Some(first) = indexes.first().map(|&i| &entries[i]) else {
                continue;
            };
            let (raw, kind) = (first.raw, first.kind);
            tracing::warn!(
                provider = self.provider.as_str(),
                event_id = event_id(&item),
                reason,
                "item refused by DynamoDB; its member is kept instead"
            );
            let reason = format!("DynamoDB refused the item: {reason}");
            let kept = match kind {
                Kind::Event { .. } => {
                    kept_item(self.provider, raw, &reason, received_at, retention)
                }
                Kind::Kept => (
                    kept_summary(self.provider, raw, &reason, received_at, retention),
                    true,
                ),
                // Nothing smaller keeps it; sending it again would be refused
                // again.
                Kind::KeptInPart => {
                    not_kept(self.provider, &item);
                    continue;
                }
            };
            for &index in indexes {
                entries[index] = self.kept_entry(raw, &kept);
            }
            replacements.push(kept.0);
        }
        replacements
    }

    /// Keeps a refused body as one `invalid` item with the reason (a
    /// redelivery maps to the same item), to answer with the rejection; or
    /// 503 when the body could not be kept, so the provider retries.
    async fn keep_body(
        &self,
        verified: Verified<'_>,
        rejection: Rejection,
        received_at: Timestamp,
        started: Instant,
    ) -> Result<Outcome, Rejection> {
        let (entry, item) = self.keep(verified.body(), &rejection.to_string(), received_at);
        let mut entries = [entry];
        let deadline = (Instant::now() + KEEP_BUDGET).min(started + KEEP_DEADLINE);
        let written = self
            .save(&mut entries, vec![item], received_at, deadline, started)
            .await?;
        let counts = count(&entries, &written);
        Ok(Outcome::Kept { rejection, counts })
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
            Kind::Kept => counts.quarantined += 1,
            Kind::KeptInPart => {
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
