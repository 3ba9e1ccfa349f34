//! One request: method and size checks, authentication, normalization,
//! storage, answer. Every answer is JSON; every request logs one line and
//! (but a reachability check) writes one metrics line, all three from the
//! request's one [`Outcome`].
//!
//! Each member of a body stands alone: an event is stored as an event, and
//! a member that is not one, is too large for an item, or is refused by
//! DynamoDB is quarantined as its own `invalid` item, while the others are
//! stored (events-table's `intake` and `save`). Only a body that is not the
//! provider's envelope at all (or carries too many members) is refused, and
//! then it is quarantined whole as one `invalid` item.

use crate::auth::Presented;
use crate::config::Config;
use crate::error::Rejection;
use crate::metrics::RequestMetrics;
use crate::tokens::{Refusal, Tokens};
use events_table::intake::{BodyItems, Expiry, Intake};
use events_table::save::{save, warn_in_part, Counts, Deadlines};
use events_table::store::{Table, MAX_EVENTS};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use normalize::{Provider, Timestamp};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// When, after arrival, storing a request's items must be done.
pub const STORE_DEADLINE: Duration = Duration::from_millis(3500);
/// When, after arrival, quarantining what DynamoDB refused must be done:
/// with the answer's own time this keeps every answer within 4.5 s (Flashy
/// gives up at 5 s).
pub const QUARANTINE_DEADLINE: Duration = Duration::from_millis(4300);
/// How long quarantining a refused body may take.
const QUARANTINE_BUDGET: Duration = Duration::from_millis(1500);

/// One provider's function: its configuration, who may post, and the table.
pub struct App<T> {
    provider: Provider,
    config: Config,
    pub(crate) auth: Tokens,
    /// Public so tests can look into an in-memory table.
    pub table: T,
}

/// What became of a request.
enum Outcome {
    /// A GET or HEAD: the URL is reachable.
    Reachable,
    /// The members were stored or quarantined, each on its own.
    Stored(Counts),
    /// Refused (as a whole); `counts` says whether the body was quarantined.
    Refused {
        rejection: Rejection,
        counts: Counts,
    },
}

/// The answer's JSON.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer<'a> {
    Reachable {
        status: &'a str,
        provider: &'a str,
    },
    Stored {
        received: usize,
        stored: usize,
        duplicates: usize,
        quarantined: usize,
    },
    Refused {
        error: String,
    },
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
        let outcome = match self.process(&request, started).await {
            Ok(outcome) => outcome,
            Err(rejection) => Outcome::Refused {
                rejection,
                counts: Counts::default(),
            },
        };
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("-");
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let provider = self.provider.as_str();
        let (status, counts, body) = match &outcome {
            Outcome::Reachable => {
                tracing::info!(request_id, provider, method = %request.method(), status = 200, latency_ms, "reachability check");
                let answer = Answer::Reachable {
                    status: "ok",
                    provider,
                };
                return json(StatusCode::OK, to_text(&answer));
            }
            Outcome::Stored(counts) => {
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
                let body = match self.auth.success_body() {
                    Some(body) => body.to_string(),
                    None => to_text(&Answer::Stored {
                        received: counts.received,
                        stored: counts.stored,
                        duplicates: counts.duplicates,
                        quarantined: counts.quarantined,
                    }),
                };
                (StatusCode::OK, counts, body)
            }
            Outcome::Refused { rejection, counts } => {
                let status = rejection.status();
                tracing::warn!(
                    request_id,
                    provider,
                    status = status.as_u16(),
                    reason = %rejection.log_detail(),
                    quarantined = counts.quarantined,
                    latency_ms,
                    "webhook refused"
                );
                let answer = Answer::Refused {
                    error: rejection.to_string(),
                };
                (status, counts, to_text(&answer))
            }
        };
        RequestMetrics {
            counts: *counts,
            ..RequestMetrics::new(provider, request_id, status.as_u16(), latency_ms)
        }
        .emit();
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
            return Err(Rejection::PayloadTooLarge(format!(
                "body is {} bytes, over the limit of {} bytes",
                body.len(),
                self.config.max_body_bytes
            )));
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

        // From here on, whatever is not stored as an event is quarantined.
        let intake = Intake {
            provider: self.provider,
            received_at: Timestamp::now(),
            expiry: Expiry::days(self.config.retention_days),
        };
        let (rejection, members) = match intake.body(verified.body(), MAX_EVENTS) {
            BodyItems::Members(members) => (None, members),
            BodyItems::Refused {
                reason,
                entry,
                item,
            } => (Some(Rejection::from(reason)), vec![(entry, item)]),
        };
        let (entries, items): (Vec<_>, Vec<_>) = members.into_iter().unzip();
        for entry in &entries {
            warn_in_part(self.provider, entry);
        }
        let quarantine = started + QUARANTINE_DEADLINE;
        let deadlines = Deadlines {
            store: match rejection {
                None => started + STORE_DEADLINE,
                Some(_) => (Instant::now() + QUARANTINE_BUDGET).min(quarantine),
            },
            quarantine,
        };
        let counts = save(&self.table, &intake, entries, items, deadlines).await?;
        Ok(match rejection {
            None => Outcome::Stored(counts),
            Some(rejection) => Outcome::Refused { rejection, counts },
        })
    }
}

fn to_text(answer: &Answer<'_>) -> String {
    serde_json::to_string(answer).unwrap_or_default()
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
